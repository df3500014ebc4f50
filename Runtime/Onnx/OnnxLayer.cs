using System;

namespace ModelGen.Onnx;

/// <summary>The kinds of ModelGen layer <see cref="OnnxExport"/> writes.</summary>
public enum OnnxLayerKind
{
    /// <summary><c>[Dense]</c>: Gemm (transB = 1) and the activation.</summary>
    Dense,

    /// <summary><c>[Conv2D]</c>: Conv with explicit pads and the activation.</summary>
    Conv2D,

    /// <summary><c>[MaxPool2D]</c>: MaxPool without padding.</summary>
    MaxPool2D,

    /// <summary><c>[AvgPool2D]</c>: AveragePool without padding.</summary>
    AvgPool2D,

    /// <summary><c>[GlobalAvgPool2D]</c>: GlobalAveragePool (N, C, 1, 1).</summary>
    GlobalAvgPool2D,

    /// <summary><c>[Flatten]</c>: Flatten (axis 1) of an image; nothing for a vector.</summary>
    Flatten,

    /// <summary><c>[Dropout]</c>: the identity at inference, no node.</summary>
    Dropout,

    /// <summary><c>[LayerNorm]</c>: LayerNormalization over every value of a sample.</summary>
    LayerNorm,

    /// <summary><c>[BatchNorm]</c>: BatchNormalization in inference form, with the running statistics.</summary>
    BatchNorm,

    /// <summary><c>[Activation]</c>: the activation's nodes alone.</summary>
    Activation,

    /// <summary>The sum that closes a <c>[Residual]</c> connection: Add of two earlier values, then the activation.</summary>
    Add,
}

/// <summary>
/// One ModelGen layer as <see cref="OnnxExport"/> needs it: its kind, the names of its tensors in
/// <see cref="ITrainableModel.ParameterTensors"/> and the attributes that are not in any tensor. A model describes
/// its layers in order, one per attribute after <c>[Input]</c> (dropout included), with the factory methods.
/// </summary>
public sealed record OnnxLayer
{
    private OnnxLayer(OnnxLayerKind kind) => Kind = kind;

    /// <summary>What the layer is.</summary>
    public OnnxLayerKind Kind { get; }

    /// <summary>The weight tensor (dense, convolution) or γ (normalization); null for layers without parameters.</summary>
    public string? Weight { get; private init; }

    /// <summary>The bias tensor (dense, convolution) or β (normalization).</summary>
    public string? Bias { get; private init; }

    /// <summary>Batch normalization's running mean tensor.</summary>
    public string? RunningMean { get; private init; }

    /// <summary>Batch normalization's running variance tensor.</summary>
    public string? RunningVariance { get; private init; }

    /// <summary>The activation a dense or convolution layer applies.</summary>
    public Activation Activation { get; private init; }

    /// <summary>α of <see cref="Activation.LeakyRelu"/> or <see cref="Activation.Elu"/>, the default resolved; 0 otherwise.</summary>
    public float Alpha { get; private init; }

    /// <summary>The window's side (convolution, pooling).</summary>
    public int Kernel { get; private init; }

    /// <summary>The step between windows (convolution, pooling).</summary>
    public int Stride { get; private init; }

    /// <summary>Zero rows added above the input (convolution).</summary>
    public int PadTop { get; private init; }

    /// <summary>Zero columns added left of the input (convolution).</summary>
    public int PadLeft { get; private init; }

    /// <summary>Zero rows added below the input (convolution).</summary>
    public int PadBottom { get; private init; }

    /// <summary>Zero columns added right of the input (convolution).</summary>
    public int PadRight { get; private init; }

    /// <summary>ε of a normalization layer.</summary>
    public float Epsilon { get; private init; }

    /// <summary>
    /// The layers whose outputs this one reads, by 1-based position in the model's list (0: the model's input); null
    /// for the layer just before. Two for <see cref="Add"/>.
    /// </summary>
    public int[]? Inputs { get; private init; }

    /// <summary>The same layer, reading the outputs of the layers at <paramref name="positions"/> (1-based; 0 is the model's input).</summary>
    public OnnxLayer From(params int[] positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        foreach (var position in positions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(position, nameof(positions));
        }

        return this with { Inputs = (int[])positions.Clone() };
    }

    /// <summary>A fully connected layer: y = f(x·Wᵀ + b) with W [units, inputs] as the weights file holds it.</summary>
    /// <param name="weight">The weight tensor's name, e.g. <c>layers.0.weight</c>.</param>
    /// <param name="bias">The bias tensor's name, or null for a layer without a bias (<c>UseBias = false</c>).</param>
    /// <param name="activation">The layer's activation.</param>
    /// <param name="alpha">α of <see cref="Activation.LeakyRelu"/> or <see cref="Activation.Elu"/>; 0 means the default (0.01, 1).</param>
    public static OnnxLayer Dense(string weight, string? bias, Activation activation = Activation.Linear, float alpha = 0f) =>
        new(OnnxLayerKind.Dense)
        {
            Weight = TensorName(weight, nameof(weight)),
            Bias = bias is null ? null : TensorName(bias, nameof(bias)),
            Activation = activation,
            Alpha = ResolveAlpha(activation, alpha),
        };

    /// <summary>A 2-D convolution with weights [out, in, kernel, kernel] (PyTorch's layout) and explicit zero padding.</summary>
    /// <param name="weight">The weight tensor's name.</param>
    /// <param name="bias">The bias tensor's name ([out]), or null for a layer without a bias.</param>
    /// <param name="kernel">The kernel's side.</param>
    /// <param name="stride">The step between windows.</param>
    /// <param name="padTop">Zero rows above.</param>
    /// <param name="padLeft">Zero columns on the left.</param>
    /// <param name="padBottom">Zero rows below.</param>
    /// <param name="padRight">Zero columns on the right.</param>
    /// <param name="activation">The layer's activation.</param>
    /// <param name="alpha">α of <see cref="Activation.LeakyRelu"/> or <see cref="Activation.Elu"/>; 0 means the default (0.01, 1).</param>
    public static OnnxLayer Conv2D(
        string weight, string? bias, int kernel, int stride, int padTop, int padLeft, int padBottom, int padRight,
        Activation activation = Activation.Linear, float alpha = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padTop);
        ArgumentOutOfRangeException.ThrowIfNegative(padLeft);
        ArgumentOutOfRangeException.ThrowIfNegative(padBottom);
        ArgumentOutOfRangeException.ThrowIfNegative(padRight);
        return new(OnnxLayerKind.Conv2D)
        {
            Weight = TensorName(weight, nameof(weight)),
            Bias = bias is null ? null : TensorName(bias, nameof(bias)),
            Kernel = Positive(kernel, nameof(kernel)),
            Stride = Positive(stride, nameof(stride)),
            PadTop = padTop,
            PadLeft = padLeft,
            PadBottom = padBottom,
            PadRight = padRight,
            Activation = activation,
            Alpha = ResolveAlpha(activation, alpha),
        };
    }

    /// <summary>Max pooling over <paramref name="kernel"/> × <paramref name="kernel"/> windows, no padding.</summary>
    public static OnnxLayer MaxPool2D(int kernel, int stride) =>
        new(OnnxLayerKind.MaxPool2D) { Kernel = Positive(kernel, nameof(kernel)), Stride = Positive(stride, nameof(stride)) };

    /// <summary>Average pooling over <paramref name="kernel"/> × <paramref name="kernel"/> windows, no padding.</summary>
    public static OnnxLayer AvgPool2D(int kernel, int stride) =>
        new(OnnxLayerKind.AvgPool2D) { Kernel = Positive(kernel, nameof(kernel)), Stride = Positive(stride, nameof(stride)) };

    /// <summary>Each channel's mean over its positions.</summary>
    public static OnnxLayer GlobalAvgPool2D() => new(OnnxLayerKind.GlobalAvgPool2D);

    /// <summary>An image viewed as one vector, in (channel, height, width) order.</summary>
    public static OnnxLayer Flatten() => new(OnnxLayerKind.Flatten);

    /// <summary>An activation applied to each value.</summary>
    public static OnnxLayer Activate(Activation activation, float alpha = 0f) =>
        new(OnnxLayerKind.Activation) { Activation = activation, Alpha = ResolveAlpha(activation, alpha) };

    /// <summary>The sum of two earlier layers' outputs (give them with <see cref="From"/>), then an activation.</summary>
    public static OnnxLayer Add(Activation activation = ModelGen.Activation.Linear, float alpha = 0f) =>
        new(OnnxLayerKind.Add) { Activation = activation, Alpha = ResolveAlpha(activation, alpha) };

    /// <summary>Dropout: the identity at inference, so it adds no node.</summary>
    public static OnnxLayer Dropout() => new(OnnxLayerKind.Dropout);

    /// <summary>Layer normalization over every value of a sample, with γ and β of one value each.</summary>
    public static OnnxLayer LayerNorm(string weight, string bias, float epsilon) =>
        new(OnnxLayerKind.LayerNorm)
        {
            Weight = TensorName(weight, nameof(weight)),
            Bias = TensorName(bias, nameof(bias)),
            Epsilon = PositiveEpsilon(epsilon),
        };

    /// <summary>Batch normalization at inference: per feature of a vector or per channel of an image, with the running statistics.</summary>
    public static OnnxLayer BatchNorm(string weight, string bias, string runningMean, string runningVariance, float epsilon) =>
        new(OnnxLayerKind.BatchNorm)
        {
            Weight = TensorName(weight, nameof(weight)),
            Bias = TensorName(bias, nameof(bias)),
            RunningMean = TensorName(runningMean, nameof(runningMean)),
            RunningVariance = TensorName(runningVariance, nameof(runningVariance)),
            Epsilon = PositiveEpsilon(epsilon),
        };

    private static string TensorName(string name, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, parameter);
        return name;
    }

    private static int Positive(int value, string parameter)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, parameter);
        return value;
    }

    private static float PositiveEpsilon(float epsilon)
    {
        if (!(epsilon > 0f && float.IsFinite(epsilon)))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "ε must be positive and finite.");
        }

        return epsilon;
    }

    /// <summary>The α the layer computes with: the given one, or the attribute's default where 0 is given.</summary>
    private static float ResolveAlpha(Activation activation, float alpha)
    {
        switch (activation)
        {
            case Activation.Linear or Activation.Relu or Activation.Sigmoid or Activation.Tanh or Activation.Gelu or Activation.Silu:
                if (alpha != 0f)
                {
                    throw new ArgumentException($"α applies only to LeakyRelu and Elu, not {activation} (got {alpha}).", nameof(alpha));
                }

                return 0f;
            case Activation.LeakyRelu or Activation.Elu:
                if (alpha == 0f)
                {
                    return activation == Activation.LeakyRelu ? 0.01f : 1f;
                }

                if (!(alpha > 0f && float.IsFinite(alpha)))
                {
                    throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "α must be positive and finite (0 for the default).");
                }

                return alpha;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "Not a ModelGen activation.");
        }
    }
}
