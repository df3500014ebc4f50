using System;
using ModelGen.Kernels;

namespace ModelGen.Quantization;

/// <summary>
/// A dense layer's forward pass in int8: y = act(x·W + b) with W quantized per unit (<see cref="QuantizedWeights"/>)
/// and x quantized to 7-bit levels on the way in, either per sample from its own range (dynamic, the default) or with
/// fixed parameters calibrated beforehand (static, <see cref="ActivationCalibrator"/>); the product runs on
/// <see cref="Int8Gemm.MultiplyDequantize"/> and the outputs are floats.
/// </summary>
/// <remarks>
/// The quantized inputs and their parameters go to buffers the layer keeps, grown to the largest batch seen, so a
/// forward pass allocates nothing once warm. For the same reason one instance must not run on two threads at once.
/// </remarks>
public sealed class QuantizedDense
{
    private readonly float[] _bias;
    private readonly float[] _staticScale = new float[1];
    private readonly int[] _staticZeroPoint = new int[1];
    private byte[] _levels = [];
    private float[] _scales = [];
    private int[] _zeroPoints = [];

    /// <summary>A layer over quantized <paramref name="weights"/>, with a bias per unit (or none) and an activation.</summary>
    /// <param name="weights">The layer's weights.</param>
    /// <param name="bias">One float per unit, or empty for none.</param>
    /// <param name="activation">Applied to the outputs as they are stored.</param>
    /// <param name="inputQuantization">Fixed parameters for the inputs (static quantization), or null to quantize each sample from its own range.</param>
    /// <exception cref="ArgumentException">The bias is neither empty nor one per unit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The activation is unknown.</exception>
    public QuantizedDense(QuantizedWeights weights, ReadOnlySpan<float> bias = default, GemmActivation activation = GemmActivation.None, QuantizationParameters? inputQuantization = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (bias.Length != 0 && bias.Length != weights.Units)
        {
            throw new ArgumentException($"Expected one bias per unit ({weights.Units}) or none; got {bias.Length}.", nameof(bias));
        }

        if (activation is not (GemmActivation.None or GemmActivation.Relu))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }

        Weights = weights;
        _bias = bias.ToArray();
        Activation = activation;
        InputQuantization = inputQuantization;
        if (inputQuantization is { } fixedParameters)
        {
            _staticScale[0] = fixedParameters.Scale;
            _staticZeroPoint[0] = fixedParameters.ZeroPoint;
        }
    }

    /// <summary>The layer's int8 weights.</summary>
    public QuantizedWeights Weights { get; }

    /// <summary>The activation applied to the outputs.</summary>
    public GemmActivation Activation { get; }

    /// <summary>The inputs' fixed parameters (static quantization), or null when each sample is quantized from its own range.</summary>
    public QuantizationParameters? InputQuantization { get; }

    /// <summary>Floats per input sample.</summary>
    public int Inputs => Weights.Inputs;

    /// <summary>Floats per output sample.</summary>
    public int Units => Weights.Units;

    /// <summary>
    /// Quantizes float weights W [<paramref name="inputs"/> × <paramref name="units"/>] (row-major, ModelGen's dense
    /// layout) and makes a layer of them; see <see cref="QuantizedDense(QuantizedWeights, ReadOnlySpan{float}, GemmActivation, QuantizationParameters?)"/>.
    /// </summary>
    public static QuantizedDense Quantize(
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int inputs, int units, GemmActivation activation = GemmActivation.None, QuantizationParameters? inputQuantization = null) =>
        new(QuantizedWeights.Quantize(weights, inputs, units), bias, activation, inputQuantization);

    /// <summary>
    /// outputs = act(inputs·W + b) for a batch of samples, <see cref="Inputs"/> floats each in
    /// <paramref name="inputs"/> and <see cref="Units"/> each in <paramref name="outputs"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The inputs are not whole samples, the outputs do not match them, or an input is NaN or infinite.</exception>
    public void Forward(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        var batch = Guard.SampleCount(inputs, Inputs, nameof(inputs));
        Guard.Length(outputs, batch * Units, nameof(outputs));
        var levels = Buffer(ref _levels, inputs.Length);
        ReadOnlySpan<float> scales;
        ReadOnlySpan<int> zeroPoints;
        if (InputQuantization is { } parameters)
        {
            ActivationQuantizer.Quantize(inputs, parameters, levels);
            scales = _staticScale;
            zeroPoints = _staticZeroPoint;
        }
        else
        {
            var rowScales = Buffer(ref _scales, batch);
            var rowZeroPoints = Buffer(ref _zeroPoints, batch);
            ActivationQuantizer.QuantizeRows(inputs, Inputs, levels, rowScales, rowZeroPoints);
            scales = rowScales;
            zeroPoints = rowZeroPoints;
        }

        Int8Gemm.MultiplyDequantize(levels, Weights.Packed, outputs, batch, Units, Inputs, new Int8Dequantization
        {
            RowScales = scales,
            RowZeroPoints = zeroPoints,
            ColumnScales = Weights.Scales,
            ColumnSums = Weights.ColumnSums,
            Bias = _bias,
            Activation = Activation,
        });
    }

    /// <summary>The first <paramref name="length"/> elements of <paramref name="buffer"/>, replaced by a larger array first if it is shorter.</summary>
    private static Span<T> Buffer<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer.AsSpan(0, length);
    }
}
