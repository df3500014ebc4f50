using System;
using System.Collections.Generic;

namespace ModelGen.Quantization;

/// <summary>
/// A model's weights already quantized, with no float model behind them: what a model declared with
/// <c>[Model(Weights = "…", Quantize = QuantizationMode.Dynamic)]</c> bakes into its assembly, and its generated
/// <c>CreateInt8Predictor()</c> hands to <see cref="Int8Predictor.Create(Int8ModelWeights, ReadOnlySpan{int}, IReadOnlyList{Onnx.OnnxLayer})"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each dense or convolution layer is given by its weight's name in the model's layer list, in int8 as
/// <see cref="QuantizedWeights.Quantize"/> makes it (symmetric, one scale per output channel), with the float bias it
/// adds, and the names of the batch normalizations folded into both before they were quantized. The predictor folds a
/// batch normalization wherever <see cref="Int8Predictor.Create(ITrainableModel, ReadOnlySpan{int}, IReadOnlyList{Onnx.OnnxLayer}, ReadOnlySpan{float}, QuantizationOptions?)"/>
/// would; the names say that the quantizer did the same, and a difference is an error rather than a silent change.
/// </para>
/// <para>
/// The tensors of layers that stay in float (layer normalization, a batch normalization that is not folded) are
/// added by name as float values, in the order the model keeps them.
/// </para>
/// </remarks>
public sealed class Int8ModelWeights
{
    private readonly Dictionary<string, Int8LayerWeights> _layers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int[] Shape, float[] Values)> _tensors = new(StringComparer.Ordinal);

    /// <summary>Starts an empty set for a model of the given sizes and loss.</summary>
    /// <param name="inputSize">Floats in one input sample.</param>
    /// <param name="outputSize">Floats in one output sample.</param>
    /// <param name="loss">The model's loss: its softmax or sigmoid is applied to the predictions, as the model's <c>Predict</c> applies it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the loss is unknown.</exception>
    public Int8ModelWeights(int inputSize, int outputSize, Loss loss)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputSize);
        if (!Enum.IsDefined(loss))
        {
            throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        }

        InputSize = inputSize;
        OutputSize = outputSize;
        Loss = loss;
    }

    /// <summary>Floats in one input sample.</summary>
    public int InputSize { get; }

    /// <summary>Floats in one output sample.</summary>
    public int OutputSize { get; }

    /// <summary>The model's loss.</summary>
    public Loss Loss { get; }

    /// <summary>
    /// Adds a dense or convolution layer in int8.
    /// </summary>
    /// <param name="weight">The name of the layer's weight, as its <see cref="Onnx.OnnxLayer.Weight"/> gives it.</param>
    /// <param name="shape">The weight's shape in a weights file (PyTorch's): [units, inputs] or [filters, channels, kh, kw].</param>
    /// <param name="values">The int8 weights [depth × units], row-major: one row per input (a window's kh·kw·c for a convolution), one column per output channel.</param>
    /// <param name="scales">Each output channel's scale: its weights are the int8 values times this.</param>
    /// <param name="bias">The float bias per output channel (with any folded batch normalization's shift), or empty for none.</param>
    /// <param name="foldedBatchNorms">The γ tensor names of the batch normalizations folded into the weights and the bias before they were quantized.</param>
    /// <returns>This set, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is added twice, a length does not fit the shape, a scale is negative or not finite, or a bias is not finite.</exception>
    public Int8ModelWeights AddLayer(string weight, int[] shape, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, ReadOnlySpan<float> bias, params string[] foldedBatchNorms)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(foldedBatchNorms);
        if (shape.Length is not (2 or 4) || Array.Exists(shape, d => d <= 0))
        {
            throw new ArgumentException($"A dense weight is [units, inputs] and a kernel [filters, channels, kh, kw]; '{weight}' is [{string.Join(", ", shape)}].", nameof(shape));
        }

        if (_layers.ContainsKey(weight) || _tensors.ContainsKey(weight))
        {
            throw new ArgumentException($"The tensor '{weight}' is added twice.", nameof(weight));
        }

        var units = shape[0];
        var depth = shape.Length == 2 ? shape[1] : shape[1] * shape[2] * shape[3];
        if (bias.Length != 0 && bias.Length != units)
        {
            throw new ArgumentException($"Expected one bias per output channel ({units}) or none for '{weight}'; got {bias.Length}.", nameof(bias));
        }

        foreach (var value in bias)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException($"A bias of '{weight}' is {value}: only finite values can be used.", nameof(bias));
            }
        }

        // FromInt8 checks that the values are depth × units and the scales finite and one per unit.
        var quantized = QuantizedWeights.FromInt8(values, scales, depth, units);
        _layers.Add(weight, new Int8LayerWeights(shape.AsSpan().ToArray(), quantized, bias.ToArray(), foldedBatchNorms.AsSpan().ToArray()));
        return this;
    }

    /// <summary>Adds a float tensor of a layer that stays in float (γ and β of a normalization, running statistics).</summary>
    /// <param name="name">Its name, as the layer list gives it.</param>
    /// <param name="shape">Its shape in a weights file.</param>
    /// <param name="values">Its values as the model keeps them.</param>
    /// <returns>This set, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is added twice, or the values do not fill the shape.</exception>
    public Int8ModelWeights AddTensor(string name, int[] shape, ReadOnlySpan<float> values)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        var length = 1L;
        foreach (var dimension in shape)
        {
            length *= dimension;
        }

        if (length != values.Length)
        {
            throw new ArgumentException($"The tensor '{name}' of shape [{string.Join(", ", shape)}] needs {length} values; got {values.Length}.", nameof(values));
        }

        if (_layers.ContainsKey(name) || _tensors.ContainsKey(name))
        {
            throw new ArgumentException($"The tensor '{name}' is added twice.", nameof(name));
        }

        _tensors.Add(name, (shape.AsSpan().ToArray(), values.ToArray()));
        return this;
    }

    /// <summary>The layer whose weight is <paramref name="weight"/>, if added.</summary>
    internal bool TryGetLayer(string weight, out Int8LayerWeights layer) => _layers.TryGetValue(weight, out layer!);

    /// <summary>The float tensor <paramref name="name"/>, if added.</summary>
    internal bool TryGetTensor(string name, out int[] shape, out float[] values)
    {
        var found = _tensors.TryGetValue(name, out var tensor);
        (shape, values) = (tensor.Shape, tensor.Values);
        return found;
    }
}

/// <summary>One int8 layer of an <see cref="Int8ModelWeights"/>: its weight's file shape, the packed weights, the bias, and the batch normalizations folded in.</summary>
internal sealed record Int8LayerWeights(int[] Shape, QuantizedWeights Weights, float[] Bias, string[] FoldedBatchNorms);
