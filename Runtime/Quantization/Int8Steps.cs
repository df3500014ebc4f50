using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using ModelGen.Kernels;

namespace ModelGen.Quantization;

/// <summary>
/// One computation of an <see cref="Int8Predictor"/>: reads the values it takes (by number in the
/// <see cref="Int8Workspace"/>; 0 is the model's input) and writes its own, for a whole batch.
/// </summary>
internal abstract class Int8Step(int input, int output)
{
    /// <summary>The value read.</summary>
    public int Input { get; } = input;

    /// <summary>The value written.</summary>
    public int Output { get; } = output;

    /// <summary>Computes the step for <paramref name="batch"/> samples; <paramref name="modelInput"/> is value 0.</summary>
    public abstract void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch);
}

/// <summary>
/// A dense or convolution layer: y = act(x·W + b) over rows of <see cref="Depth"/> inputs, W [depth × units] quantized
/// per unit. Made from float weights, it holds them until <see cref="Finish"/> (folded with any batch normalization that
/// follows) and computes in float, observing its inputs if it is being calibrated; made from weights quantized ahead of
/// time, it has its int8 weights from the start.
/// </summary>
internal abstract class QuantizedStep : Int8Step
{
    private readonly float[] _staticScale = new float[1];
    private readonly int[] _staticZeroPoint = new int[1];
    private float[]? _floatWeights;

    protected QuantizedStep(int input, int output, LayerSource weights, float[] bias, int depth, int units, Activation activation, float alpha)
        : base(input, output)
    {
        _floatWeights = weights.Floats;
        Weights = weights.Quantized?.Weights;
        UnmatchedFolds = weights.Quantized is { } quantized ? [.. quantized.FoldedBatchNorms] : null;
        Bias = bias;
        Depth = depth;
        Units = units;
        Activation = activation;
        Alpha = alpha;
    }

    /// <summary>Inputs per row of the product: a dense layer's inputs, a convolution's window (kh·kw·c).</summary>
    public int Depth { get; }

    /// <summary>Outputs per row: units or filters.</summary>
    public int Units { get; }

    /// <summary>The activation applied to the outputs (ReLU in the product's epilogue, the others after it).</summary>
    public Activation Activation { get; set; }

    /// <summary>α of the activation.</summary>
    public float Alpha { get; set; }

    /// <summary>One bias per unit, or empty.</summary>
    public float[] Bias { get; private set; }

    /// <summary>Collects the inputs while calibrating; null otherwise.</summary>
    public ActivationCalibrator? Calibrator { get; set; }

    /// <summary>The int8 weights: once <see cref="Finish"/> has run, or from the start when they were quantized ahead of time.</summary>
    public QuantizedWeights? Weights { get; private set; }

    /// <summary>The inputs' fixed parameters (static quantization), or null for per-sample parameters at run time.</summary>
    public QuantizationParameters? InputQuantization { get; private set; }

    /// <summary>What the product's epilogue applies: ReLU there, everything else after it.</summary>
    protected GemmActivation Epilogue => Activation == Activation.Relu ? GemmActivation.Relu : GemmActivation.None;

    /// <summary>The static parameters as the epilogue reads them: one scale and zero point for every row.</summary>
    protected ReadOnlySpan<float> StaticScale => _staticScale;

    /// <summary>The static zero point, one for every row.</summary>
    protected ReadOnlySpan<int> StaticZeroPoint => _staticZeroPoint;

    /// <summary>
    /// Folds an inference batch normalization that follows the layer (before any activation) into its weights and bias:
    /// y = s ⊙ (x·W + b) + t = x·(W·diag(s)) + (s ⊙ b + t), with s = γ / √(σ² + ε) and t = β − μ ⊙ s per unit.
    /// </summary>
    public void FoldBatchNorm(ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, float epsilon)
    {
        var weights = _floatWeights ?? throw new InvalidOperationException("The layer is already quantized.");
        var bias = Bias.Length == 0 ? new float[Units] : Bias;
        for (var j = 0; j < Units; j++)
        {
            var scale = gamma[j] / MathF.Sqrt(variance[j] + epsilon);
            bias[j] = (bias[j] * scale) + (beta[j] - (mean[j] * scale));
            for (var p = 0; p < Depth; p++)
            {
                weights[(p * Units) + j] *= scale;
            }
        }

        Bias = bias;
    }

    /// <summary>
    /// For weights quantized ahead of time, the batch normalizations (by γ's name) folded into them that the plan has not
    /// yet found right after this layer; null for float weights.
    /// </summary>
    public List<string>? UnmatchedFolds { get; }

    /// <summary>Whether the weights are still float, so that a batch normalization can be folded into them.</summary>
    public bool HasFloatWeights => _floatWeights is not null;

    /// <summary>Quantizes the float weights (if the layer has not had int8 weights from the start), fixes the inputs' parameters (null: dynamic) and drops the float weights.</summary>
    /// <exception cref="ArgumentException">A weight is NaN or infinite.</exception>
    public void Finish(QuantizationParameters? inputQuantization)
    {
        if (_floatWeights is not null)
        {
            Weights = QuantizedWeights.Quantize(_floatWeights, Depth, Units);
            _floatWeights = null;
        }

        Calibrator = null;
        InputQuantization = inputQuantization;
        if (inputQuantization is { } parameters)
        {
            _staticScale[0] = parameters.Scale;
            _staticZeroPoint[0] = parameters.ZeroPoint;
        }
    }

    /// <summary>y = act(x·W + b) in float, for <paramref name="rows"/> rows: the path calibration runs before quantizing.</summary>
    protected void FloatProduct(ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        Gemm.Multiply(x, _floatWeights!, y, rows, Units, Depth, Bias, Epilogue);
        ApplyActivation(y);
    }

    /// <summary>y = act(levels·W dequantized + b) for <paramref name="rows"/> rows of quantized inputs with the given parameters.</summary>
    protected void Int8Product(ReadOnlySpan<byte> levels, Span<float> y, int rows, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
    {
        Int8Gemm.MultiplyDequantize(levels, Weights!.Packed, y, rows, Units, Depth, new Int8Dequantization
        {
            RowScales = scales,
            RowZeroPoints = zeroPoints,
            ColumnScales = Weights.Scales,
            ColumnSums = Weights.ColumnSums,
            Bias = Bias,
            Activation = Epilogue,
        });
        ApplyActivation(y);
    }

    /// <summary>The activations the epilogue does not apply, in place.</summary>
    private void ApplyActivation(Span<float> y)
    {
        if (Activation is not (Activation.Linear or Activation.Relu))
        {
            Activations.Apply(y, y, Activation, Alpha);
        }
    }
}

/// <summary>A dense layer in int8; dynamic quantization takes each sample's (row's) own range.</summary>
internal sealed class QuantizedDenseStep(int input, int output, LayerSource weights, float[] bias, int depth, int units, Activation activation, float alpha)
    : QuantizedStep(input, output, weights, bias, depth, units, activation, alpha)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch)
    {
        var x = workspace.Read(Input, modelInput, batch);
        var y = workspace.Write(Output, batch);
        if (Weights is null)
        {
            Calibrator?.Observe(x);
            FloatProduct(x, y, batch);
            return;
        }

        var levels = Int8Workspace.Grow(ref workspace.Levels, x.Length);
        if (InputQuantization is { } parameters)
        {
            ActivationQuantizer.Quantize(x, parameters, levels);
            Int8Product(levels, y, batch, StaticScale, StaticZeroPoint);
        }
        else
        {
            var scales = Int8Workspace.Grow(ref workspace.RowScales, batch);
            var zeroPoints = Int8Workspace.Grow(ref workspace.RowZeroPoints, batch);
            ActivationQuantizer.QuantizeRows(x, Depth, levels, scales, zeroPoints);
            Int8Product(levels, y, batch, scales, zeroPoints);
        }
    }
}

/// <summary>
/// A 2-D convolution in int8: the windows of a few samples at a time become im2col rows (zero padding included), which
/// are quantized and multiplied by the kernels [kh·kw·c × filters]. Dynamic quantization takes each sample's parameters
/// from the range of its input image, so every window of a sample has the same levels.
/// </summary>
internal sealed class QuantizedConvStep : QuantizedStep
{
    /// <summary>The most floats of windows built at once: 512 KiB, so that they and their levels stay in L2.</summary>
    private const int ColumnsBudget = 1 << 17;

    private readonly Window2D _window;
    private readonly int _chunk;

    public QuantizedConvStep(int input, int output, LayerSource weights, float[] bias, in Window2D window, int filters, Activation activation, float alpha)
        : base(input, output, weights, bias, window.PatchSize, filters, activation, alpha)
    {
        _window = window;
        _chunk = Math.Max(1, ColumnsBudget / (window.Positions * window.PatchSize));
    }

    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch)
    {
        var x = workspace.Read(Input, modelInput, batch);
        var y = workspace.Write(Output, batch);
        if (Weights is null)
        {
            Calibrator?.Observe(x);
        }

        var (inputSize, positions, patch) = (_window.InputSize, _window.Positions, _window.PatchSize);
        for (var start = 0; start < batch; start += _chunk)
        {
            var samples = Math.Min(_chunk, batch - start);
            var images = x.Slice(start * inputSize, samples * inputSize);
            var outputs = y.Slice(start * positions * Units, samples * positions * Units);
            if (Weights is null)
            {
                var columns = Int8Workspace.Grow(ref workspace.Columns, samples * positions * patch);
                Convolution.ImageToColumns(images, columns, _window, samples);
                FloatProduct(columns, outputs, samples * positions);
                continue;
            }

            // The images are quantized, then their windows built from the levels, with the zero point's level as the
            // padding (zero's own level): the same bytes as quantizing the windows, for a ninth of the work.
            var imageLevels = Int8Workspace.Grow(ref workspace.ImageLevels, images.Length);
            var levels = Int8Workspace.Grow(ref workspace.Levels, samples * positions * patch);
            if (InputQuantization is { } parameters)
            {
                ActivationQuantizer.Quantize(images, parameters, imageLevels);
                Convolution.LevelsToColumns(imageLevels, levels, _window, samples, (byte)parameters.ZeroPoint);
                Int8Product(levels, outputs, samples * positions, StaticScale, StaticZeroPoint);
                continue;
            }

            // Dynamic: each sample's parameters come from the range of its input image, so all its windows share them.
            var scales = Int8Workspace.Grow(ref workspace.RowScales, samples * positions);
            var zeroPoints = Int8Workspace.Grow(ref workspace.RowZeroPoints, samples * positions);
            var windowLength = positions * patch;
            for (var n = 0; n < samples; n++)
            {
                var image = imageLevels.Slice(n * inputSize, inputSize);
                var sample = ActivationQuantizer.QuantizeDynamic(images.Slice(n * inputSize, inputSize), image);
                Convolution.LevelsToColumns(image, levels.Slice(n * windowLength, windowLength), _window, 1, (byte)sample.ZeroPoint);
                scales.Slice(n * positions, positions).Fill(sample.Scale);
                zeroPoints.Slice(n * positions, positions).Fill(sample.ZeroPoint);
            }

            Int8Product(levels, outputs, samples * positions, scales, zeroPoints);
        }
    }
}

/// <summary>Max or average pooling, in float.</summary>
internal sealed class PoolStep(int input, int output, Window2D window, bool average) : Int8Step(input, output)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch)
    {
        var x = workspace.Read(Input, modelInput, batch);
        var y = workspace.Write(Output, batch);
        if (average)
        {
            Pooling.AverageForward(x, y, window, batch);
        }
        else
        {
            Pooling.MaxForward(x, y, Int8Workspace.Grow(ref workspace.Indices, y.Length), window, batch);
        }
    }
}

/// <summary>Each channel's mean over its positions, in float.</summary>
internal sealed class GlobalPoolStep(int input, int output, int channels, int positions, bool channelsLast) : Int8Step(input, output)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch) =>
        Pooling.GlobalAverageForward(workspace.Read(Input, modelInput, batch), workspace.Write(Output, batch), channels, positions, channelsLast, batch);
}

/// <summary>Layer normalization over every value of a sample, in float.</summary>
internal sealed class LayerNormStep(int input, int output, float[] gamma, float[] beta, float epsilon) : Int8Step(input, output)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch)
    {
        var x = workspace.Read(Input, modelInput, batch);
        Normalization.LayerNormForward(
            x, workspace.Write(Output, batch), Int8Workspace.Grow(ref workspace.Normalized, x.Length), Int8Workspace.Grow(ref workspace.Deviations, batch),
            gamma, beta, epsilon);
    }
}

/// <summary>Batch normalization with the running statistics (one not folded into a layer before it), in float.</summary>
internal sealed class BatchNormStep(int input, int output, float[] gamma, float[] beta, float[] mean, float[] variance, float epsilon) : Int8Step(input, output)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch) =>
        Normalization.BatchNormInference(workspace.Read(Input, modelInput, batch), workspace.Write(Output, batch), gamma, beta, mean, variance, epsilon);
}

/// <summary>An activation layer, in float.</summary>
internal sealed class ActivationStep(int input, int output, Activation activation, float alpha) : Int8Step(input, output)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch) =>
        Activations.Apply(workspace.Read(Input, modelInput, batch), workspace.Write(Output, batch), activation, alpha);
}

/// <summary>A residual sum of two earlier values, then its activation, in float.</summary>
internal sealed class AddStep(int input, int other, int output, Activation activation, float alpha) : Int8Step(input, output)
{
    public override void Run(ReadOnlySpan<float> modelInput, Int8Workspace workspace, int batch)
    {
        var y = workspace.Write(Output, batch);
        TensorPrimitives.Add(workspace.Read(Input, modelInput, batch), workspace.Read(other, modelInput, batch), y);
        Activations.Apply(y, y, activation, alpha);
    }
}
