using System.Collections.Generic;
using ModelGen.Generator.Helpers;

namespace ModelGen.Generator.Model;

/// <summary>
/// The checked network with every decision made: shapes, parameter and workspace offsets, and how each layer is
/// computed. The emitter only turns this into text.
/// </summary>
internal sealed record ModelPlan(
    TypeSpec Type,
    Loss Loss,
    float HuberDelta,
    int InputSize,
    int OutputSize,
    int ParameterCount,
    int ParameterBufferLength,
    EquatableArray<LayerPlan> Layers,
    int GradientAOffset,
    int GradientBOffset,
    int WorkspacePerSample)
{
    /// <summary>The layers that hold parameters, in order: dense, convolution and normalization layers.</summary>
    public System.Collections.Generic.IEnumerable<LayerPlan> ParameterLayers =>
        System.Linq.Enumerable.Where(Layers, l => l is IWeightedPlan or LayerNormPlan or BatchNormPlan);

    /// <summary>Whether any layer behaves differently while training: dropout, or batch normalization's batch statistics.</summary>
    public bool HasTrainingBehavior => System.Linq.Enumerable.Any(Layers, l => l is DropoutPlan or BatchNormPlan);

    /// <summary>Whether a layer normalizes batches, so that the model counts its training batches (PyTorch's num_batches_tracked).</summary>
    public bool CountsBatches => System.Linq.Enumerable.Any(Layers, l => l is BatchNormPlan);

    /// <summary>Floats of state (batch normalization's running statistics) the model keeps beside its parameters.</summary>
    public int StateLength { get; init; }

    /// <summary>Floats of the buffer convolutions build their windows in: the largest chunk of windows of any of them (0 without).</summary>
    public int WindowsLength { get; init; }

    /// <summary>One input sample's dimensions as declared: [n], or [channels, height, width] for an image.</summary>
    public EquatableArray<int> InputShape { get; init; }

    /// <summary>The declared weights file to bake in (<c>[Model(Weights = …)]</c>), if any.</summary>
    public string? Weights { get; init; }

    /// <summary>The declared build-time quantization of the baked weights (<c>[Model(Quantize = …)]</c>), set by the pipeline after planning.</summary>
    public QuantizationMode Quantize { get; init; }

    /// <summary>
    /// The equivalent PyTorch module, decided once by the planner: its modules, and every tensor of the model as a
    /// weights file names and shapes it, with where it lives (the one list that the generated <c>ParameterLayout</c>, the
    /// ONNX layers and the weights baker all follow).
    /// </summary>
    public TorchPlan Torch { get; init; } = TorchPlan.None;

    /// <summary>Every tensor of the model as a weights file names and shapes it: <see cref="Torch"/>'s.</summary>
    public EquatableArray<PlannedTensor> Tensors => Torch.Tensors;

    /// <summary>
    /// The backward pass, in order: each layer's backward call with the gradient buffers it reads and writes, and the
    /// copies and sums between buffers that a tensor read by two layers needs (<see cref="BackwardPlanner"/> decides them).
    /// </summary>
    public EquatableArray<BackwardStep> Backward { get; init; }

    /// <summary>
    /// The backward pass to the inputs, behind <c>InputGradients</c>: as <see cref="Backward"/>, but every layer hands its
    /// gradient back, as the model predicts (dropout passes gradients on unchanged, batch normalization is affine).
    /// </summary>
    public EquatableArray<BackwardStep> InputBackward { get; init; }

    /// <summary>How many gradient buffers (<c>GradientA</c>, <c>GradientB</c> …) the backward passes use: two for a chain of layers.</summary>
    public int GradientBuffers { get; init; } = 2;

    /// <summary>Floats per sample of each gradient buffer: the widest layer's outputs, or the inputs where the pass to them keeps theirs in one.</summary>
    public int GradientWidth { get; init; }

    /// <summary>The layer at a 1-based position.</summary>
    public LayerPlan At(int position) => Layers[position - 1];
}

/// <summary>One step of the backward pass.</summary>
internal abstract record BackwardStep
{
    /// <summary>The buffer that stands for the caller's <c>inputGradients</c> span, in the pass to the inputs.</summary>
    public const int Inputs = -2;
}

/// <summary>A layer's backward call: ∂L/∂(its output) in gradient buffer <paramref name="Gradient"/>, ∂L/∂(its input) written to <paramref name="InputGradient"/> (−1: not needed; <see cref="BackwardStep.Inputs"/>: the caller's span).</summary>
internal sealed record LayerBackward(int Position, int Gradient, int InputGradient) : BackwardStep;

/// <summary>Gradient buffer <paramref name="Into"/> += buffer <paramref name="From"/>, over <paramref name="Size"/> values per sample: a tensor that two layers read gets both their gradients.</summary>
internal sealed record GradientSum(int From, int Into, int Size, string Tensor) : BackwardStep;

/// <summary>Gradient buffer <paramref name="From"/> copied to <paramref name="To"/>: before a layer writes over a gradient that another tensor still shares.</summary>
internal sealed record GradientCopy(int From, int To, int Size, string Tensor) : BackwardStep;

/// <summary>
/// One line of the equivalent PyTorch module's code: a module's constructor call, indented, with its path in the
/// state_dict (<c>layers.3</c>, <c>layers.4.branch.0</c>), or a line that closes a residual connection (no path).
/// </summary>
internal sealed record TorchModule(string Path, string Code);

/// <summary>
/// The equivalent PyTorch module (<see cref="TorchEquivalent"/> decides it): its modules, the tensors of its
/// <c>state_dict</c> in order, and for each layer of the plan the name prefix of the module holding its tensors
/// (<c>layers.3.</c>; the last module added for a layer without tensors).
/// </summary>
internal sealed record TorchPlan(EquatableArray<TorchModule> Modules, EquatableArray<PlannedTensor> Tensors, EquatableArray<string> LayerPrefixes)
{
    /// <summary>Before the planner has decided it.</summary>
    public static readonly TorchPlan None = new(default, default, default);
}

/// <summary>One tensor of a plan.</summary>
/// <param name="Name">Its name in a weights file, e.g. <c>layers.0.weight</c>.</param>
/// <param name="OffsetConstant">The generated constant holding its offset, e.g. <c>Dense1WeightsOffset</c>.</param>
/// <param name="Offset">Its first element in the parameters (or, <see cref="InState"/>, in the state).</param>
/// <param name="Shape">Its dimensions in a file, PyTorch's: a dense weight [units, inputs], a convolution's [filters, channels, kh, kw].</param>
internal sealed record PlannedTensor(string Name, string OffsetConstant, int Offset, EquatableArray<int> Shape)
{
    /// <summary>Whether it lives in the state (running statistics) rather than the parameters.</summary>
    public bool InState { get; init; }

    /// <summary>
    /// How the buffer orders the file's values, when not as the file does: the file tensor seen with dimensions
    /// <see cref="View"/> (the same values; e.g. [units, c, h, w] for a dense weight after a flattened image) is kept
    /// with its axes in the order <see cref="StoredAxes"/>, outermost first. Empty: kept in file order.
    /// </summary>
    public EquatableArray<int> View { get; init; }

    /// <inheritdoc cref="View"/>
    public EquatableArray<int> StoredAxes { get; init; }

    /// <summary>PyTorch's <c>num_batches_tracked</c> of a batch-norm layer: an int64 scalar, not a float tensor in a buffer.</summary>
    public bool IsBatchCounter { get; init; }

    /// <summary>Its elements.</summary>
    public int Length
    {
        get
        {
            var length = 1;
            foreach (var dimension in Shape)
            {
                length *= dimension;
            }

            return length;
        }
    }

    /// <summary>Its shape as a file writes it: <c>[256, 784]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>For each value in file order, its index from <see cref="Offset"/> in the buffer.</summary>
    public int[] StoredIndices() =>
        StoredAxes.Count == 0 ? ModelGen.Serialization.TensorPermutation.Identity(Length) : ModelGen.Serialization.TensorPermutation.StoredIndices([.. (View.Count > 0 ? View : Shape)], [.. StoredAxes]);
}

/// <summary>One layer of a plan, whatever its kind.</summary>
/// <param name="Position">1-based position among all layers: names its activations (<c>a1</c>, <c>a2</c> …).</param>
/// <param name="InputSize">Inputs per sample.</param>
/// <param name="Units">Outputs per sample.</param>
/// <param name="OutputOffset">Offset of this layer's outputs in the workspace, per sample of the batch.</param>
internal abstract record LayerPlan(int Position, int InputSize, int Units, int OutputOffset)
{
    /// <summary>The layers whose outputs this one reads, by <see cref="Position"/>; 0 is the model's input. Two for a residual sum.</summary>
    public EquatableArray<int> Inputs { get; init; }

    /// <summary>The residual connections the layer lies in, outermost first (<see cref="CheckedLayer.Scope"/>).</summary>
    public EquatableArray<string> Scope { get; init; }

    /// <summary>Whether backward must hand ∂L/∂(its input) back: only if some layer its input comes from has parameters.</summary>
    public bool NeedsInputGradient { get; init; }

    /// <summary>Whether its backward pass writes over ∂L/∂(its output) (an activation's derivative applied in place).</summary>
    public virtual bool ChangesOutputGradient => false;

    /// <summary>
    /// Whether ∂L/∂(its input) is ∂L/∂(its output) itself, once the backward pass (if any) has worked on it in place: an
    /// activation layer's, a residual sum's (for both terms). The gradient then stays in its buffer.
    /// </summary>
    public virtual bool HandsGradientOnInPlace => false;

    /// <summary>Its trainable parameters: a layer with any hands gradients back to the layers before it.</summary>
    public virtual int ParameterCount => 0;

    /// <summary>Floats of the model's one window buffer the layer builds its windows in (a convolution's im2col chunk), or 0.</summary>
    public virtual int WindowsLength => 0;

    /// <summary>The layer's name in weights files and comments, e.g. <c>dense_2</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The C# identifier stem for members of this layer, e.g. <c>Dense2</c>.</summary>
    public abstract string Identifier { get; }

    /// <summary>The local variable that holds this layer's outputs for a batch.</summary>
    public string Output => "a" + Position;
}

/// <summary>One layer-normalization layer of a plan: γ and β in the parameters, x̂ and 1/σ kept in the workspace.</summary>
/// <param name="Index">1-based position among the layer-normalization layers (layer_norm_1 …).</param>
/// <param name="Size">Values per sample, normalized together.</param>
/// <param name="Epsilon">ε added to the variance.</param>
/// <param name="GammaOffset">Offset of γ [Size] in the parameter buffer; β [Size] follows at <paramref name="BetaOffset"/>.</param>
/// <param name="NormalizedOffset">Offset of x̂ in the workspace, per sample.</param>
/// <param name="InverseDeviationOffset">Offset of 1 / √(σ² + ε) in the workspace, one per sample.</param>
internal sealed record LayerNormPlan(
    int Position, int Index, int Size, float Epsilon, int GammaOffset, int BetaOffset, int OutputOffset, int NormalizedOffset, int InverseDeviationOffset)
    : LayerPlan(Position, Size, Size, OutputOffset), IScaleShiftPlan
{
    public override string Name => "layer_norm_" + Index;

    public override string Identifier => "LayerNorm" + Index;

    /// <summary>One γ and one β per value.</summary>
    public int Features => Size;

    public override int ParameterCount => 2 * Size;
}

/// <summary>A normalization layer's learned scale γ and shift β: one of each per feature, both in the parameters.</summary>
internal interface IScaleShiftPlan
{
    string Name { get; }

    string Identifier { get; }

    /// <summary>How many γ (and β): each value for layer normalization; each feature, or channel of an image, for batch normalization.</summary>
    int Features { get; }

    int GammaOffset { get; }

    int BetaOffset { get; }
}

/// <summary>One batch-normalization layer of a plan: γ and β in the parameters; running statistics and 1/σ in the state.</summary>
/// <param name="Index">1-based position among the batch-normalization layers.</param>
/// <param name="Size">Values per sample.</param>
/// <param name="Features">
/// Features normalized over the batch: <paramref name="Size"/> for a vector; the channels of an image, whose values lie
/// channels-last, so that each feature's statistics run over every position of every sample.
/// </param>
/// <param name="Momentum">m of the running averages.</param>
/// <param name="Epsilon">ε added to the variance.</param>
/// <param name="GammaOffset">Offset of γ [Features] in the parameters; β follows at <paramref name="BetaOffset"/>.</param>
/// <param name="NormalizedOffset">Offset of x̂ in the workspace, per sample.</param>
/// <param name="MeanOffset">Offset of the running mean [Features] in the state; the running variance follows at <paramref name="VarianceOffset"/>.</param>
/// <param name="InverseDeviationOffset">Offset in the state of the last training batch's 1 / √(σ²_B + ε) [Features].</param>
internal sealed record BatchNormPlan(
    int Position, int Index, int Size, int Features, float Momentum, float Epsilon, int GammaOffset, int BetaOffset, int OutputOffset, int NormalizedOffset,
    int MeanOffset, int VarianceOffset, int InverseDeviationOffset)
    : LayerPlan(Position, Size, Size, OutputOffset), IScaleShiftPlan
{
    public override string Name => "batch_norm_" + Index;

    public override string Identifier => "BatchNorm" + Index;

    public override int ParameterCount => 2 * Features;
}

/// <summary>One dropout layer of a plan: output and mask in the workspace, no parameters.</summary>
/// <param name="Index">1-based position among the dropout layers (dropout_1 …).</param>
/// <param name="Rate">The probability of zeroing each value while training.</param>
/// <param name="MaskOffset">Offset of the mask (0 or 1 / (1 − rate) per value) in the workspace, per sample.</param>
internal sealed record DropoutPlan(int Position, int Index, int Size, float Rate, int OutputOffset, int MaskOffset)
    : LayerPlan(Position, Size, Size, OutputOffset)
{
    public override string Name => "dropout_" + Index;

    public override string Identifier => "Dropout" + Index;
}

/// <summary>How a dense layer is computed.</summary>
internal enum DenseStrategy
{
    /// <summary>Every multiply-add written out: for tiny layers, where loop overhead would dominate.</summary>
    Unrolled,

    /// <summary>
    /// Constant-length loops over rows, each row a vectorized dot product or multiply-add: for layers whose inputs are
    /// too few to fill a vector, where a matrix kernel would fall back to scalar code.
    /// </summary>
    VectorLoops,

    /// <summary>The whole batch as three register-blocked matrix products (forward, ∂W, ∂x) in the runtime.</summary>
    Gemm,
}

/// <summary>One dense layer of a plan.</summary>
/// <param name="Position">1-based position among all layers.</param>
/// <param name="Index">1-based position among the dense layers (dense_1, dense_2 …).</param>
/// <param name="InputSize">Inputs per sample.</param>
/// <param name="Units">Outputs per sample.</param>
/// <param name="Activation">The activation.</param>
/// <param name="WeightsOffset">Offset of W [InputSize × Units], row-major, in the parameter buffer.</param>
/// <param name="BiasOffset">Offset of b [Units] in the parameter buffer.</param>
/// <param name="OutputOffset">Offset of this layer's activations in the workspace, per sample of the batch.</param>
/// <param name="Strategy">How the layer is computed.</param>
/// <param name="Initializer">How the weights are drawn, with <see cref="Initializer.Auto"/> already resolved.</param>
/// <param name="Alpha">α of leaky ReLU or ELU, defaults resolved; 0 for other activations.</param>
/// <param name="PreActivationOffset">Where the pre-activations z are kept for GELU's and SiLU's derivatives, or −1.</param>
internal sealed record DensePlan(
    int Position,
    int Index,
    int InputSize,
    int Units,
    Activation Activation,
    int WeightsOffset,
    int BiasOffset,
    int OutputOffset,
    DenseStrategy Strategy,
    Initializer Initializer,
    float Alpha = 0f,
    int PreActivationOffset = -1,
    bool HasBias = true) : LayerPlan(Position, InputSize, Units, OutputOffset), IWeightedPlan
{
    public override string Name => "dense_" + Index;

    public override string Identifier => "Dense" + Index;

    public int WeightRows => InputSize;

    public int WeightColumns => Units;

    public int FanOut => Units;

    /// <summary>Whether backward needs z rather than y: the derivatives of GELU and SiLU cannot be written from y.</summary>
    public bool KeepsPreActivation => PreActivationOffset >= 0;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;

    public int WeightCount => Units * InputSize;

    public override int ParameterCount => WeightCount + (HasBias ? Units : 0);
}

/// <summary>A layer with a weight matrix W [<see cref="WeightRows"/> × <see cref="WeightColumns"/>] and one bias per column: dense and convolution layers.</summary>
internal interface IWeightedPlan
{
    string Name { get; }

    string Identifier { get; }

    /// <summary>Offset of W, row-major, in the parameter buffer.</summary>
    int WeightsOffset { get; }

    /// <summary>Offset of b [<see cref="WeightColumns"/>] in the parameter buffer, or −1 without a bias.</summary>
    int BiasOffset { get; }

    /// <summary>Whether the layer has a bias (<c>UseBias</c>); without one, its products add a row of zeros outside the parameters and its bias gradient is discarded.</summary>
    bool HasBias { get; }

    /// <summary>Rows of W, the values each output sums over: a dense layer's inputs, a convolution's kernel² × input channels (its fan-in).</summary>
    int WeightRows { get; }

    /// <summary>Columns of W and biases: a dense layer's units, a convolution's filters.</summary>
    int WeightColumns { get; }

    /// <summary>The fan-out initializers use: units, or kernel² × filters for a convolution (as Keras counts).</summary>
    int FanOut { get; }

    Initializer Initializer { get; }

    Activation Activation { get; }

    /// <summary>α of leaky ReLU or ELU, defaults resolved; 0 for other activations.</summary>
    float Alpha { get; }

    /// <summary>Where the pre-activations z are kept for GELU's and SiLU's derivatives, per sample, or −1.</summary>
    int PreActivationOffset { get; }

    /// <summary>Whether backward needs z rather than y: the derivatives of GELU and SiLU cannot be written from y.</summary>
    bool KeepsPreActivation { get; }
}

/// <summary>A square window sliding over a sample: the generator's copy of the runtime's <c>Window2D</c>.</summary>
/// <param name="ChannelsLast">Whether the input is stored (h, w, c): the output of a convolution or pooling layer; the model's input is (c, h, w).</param>
internal sealed record WindowPlan(
    int Channels, int Height, int Width, int Kernel, int Stride, int PadTop, int PadLeft, int OutputHeight, int OutputWidth, bool ChannelsLast)
{
    public int Positions => OutputHeight * OutputWidth;

    public int PatchSize => Kernel * Kernel * Channels;

    /// <summary>The runtime value, as C#: <c>new(channels: 1, height: 28, …)</c>.</summary>
    public string Constructor =>
        $"new(Channels: {Channels}, Height: {Height}, Width: {Width}, Kernel: {Kernel}, Stride: {Stride}, PadTop: {PadTop}, PadLeft: {PadLeft}, " +
        $"OutputHeight: {OutputHeight}, OutputWidth: {OutputWidth}, ChannelsLast: {(ChannelsLast ? "true" : "false")})";
}

/// <summary>One 2-D convolution layer of a plan: each window of the input a row of an im2col matrix, times W [kernel²·channels × filters].</summary>
/// <param name="Index">1-based position among the convolution layers (conv2d_1 …).</param>
/// <param name="Chunk">
/// Samples whose windows (the im2col matrix, [positions × kernel²·channels] each) are built at once, in the model's
/// one window buffer: few enough that they stay in L2 between being written and being read by the product.
/// </param>
/// <param name="Direct">
/// Whether the layer reads its windows where they lie instead (the runtime's <c>Convolution.DirectForward</c> and
/// <c>DirectWeightGradient</c>): a first layer, on the model's channels-first input, with short windows. Its
/// <paramref name="Chunk"/> is then 0: it builds no windows.
/// </param>
/// <param name="PreActivationOffset">Where z is kept for GELU's and SiLU's derivatives, or −1.</param>
internal sealed record ConvPlan(
    int Position, int Index, int InputSize, int Units, int OutputOffset, WindowPlan Window, int Filters, Activation Activation, float Alpha,
    Initializer Initializer, int WeightsOffset, int BiasOffset, int Chunk, bool Direct, int PreActivationOffset = -1, bool HasBias = true)
    : LayerPlan(Position, InputSize, Units, OutputOffset), IWeightedPlan
{
    public override string Name => "conv2d_" + Index;

    public override string Identifier => "Conv" + Index;

    public override int ParameterCount => (Window.PatchSize * Filters) + (HasBias ? Filters : 0);

    /// <summary>Its chunk's windows, [positions × kernel²·channels] per sample; none when it reads them in place.</summary>
    public override int WindowsLength => Chunk * Window.Positions * Window.PatchSize;

    public int WeightRows => Window.PatchSize;

    public int WeightColumns => Filters;

    public int FanOut => Window.Kernel * Window.Kernel * Filters;

    public bool KeepsPreActivation => PreActivationOffset >= 0;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;
}

/// <summary>One max- or average-pooling layer of a plan: for max pooling, the index of each output's input kept for backward.</summary>
/// <param name="Index">1-based position among the pooling layers of either kind.</param>
/// <param name="Average">Whether each output is its window's mean rather than its largest value.</param>
/// <param name="ArgmaxOffset">
/// Offset in the workspace, per sample, of each output's input index (ints stored in the float workspace); −1 for
/// average pooling, which keeps nothing.
/// </param>
internal sealed record PoolPlan(int Position, int Index, int InputSize, int Units, int OutputOffset, WindowPlan Window, bool Average, int ArgmaxOffset)
    : LayerPlan(Position, InputSize, Units, OutputOffset)
{
    public override string Name => (Average ? "average_pooling2d_" : "max_pooling2d_") + Index;

    public override string Identifier => "Pool" + Index;

    public string Kind => Average ? "AvgPool2D" : "MaxPool2D";
}

/// <summary>One global-average-pooling layer of a plan: each channel's mean over its positions, a vector of the channels.</summary>
/// <param name="Index">1-based position among the global pooling layers.</param>
/// <param name="Channels">Channels of the image: the outputs per sample.</param>
/// <param name="Height">Rows of the image.</param>
/// <param name="Width">Columns of the image.</param>
/// <param name="ChannelsLast">Whether the image is stored (h, w, c) (after a convolution or pooling layer) rather than (c, h, w).</param>
internal sealed record GlobalPoolPlan(int Position, int Index, int Channels, int Height, int Width, bool ChannelsLast, int OutputOffset)
    : LayerPlan(Position, Channels * Height * Width, Channels, OutputOffset)
{
    public override string Name => "global_average_pooling2d_" + Index;

    public override string Identifier => "GlobalPool" + Index;

    /// <summary>Positions per channel: height × width.</summary>
    public int Positions => Height * Width;
}

/// <summary>One flatten layer of a plan: its output is its input's workspace, viewed as one vector (a copy only as the first layer).</summary>
internal sealed record FlattenPlan(int Position, int Index, int Size, int OutputOffset) : LayerPlan(Position, Size, Size, OutputOffset)
{
    public override string Name => "flatten_" + Index;

    public override string Identifier => "Flatten" + Index;
}

/// <summary>
/// The sum that closes a residual connection: y = f(f_x) + s(x), then its activation. Backward hands ∂L/∂y (after the
/// activation's derivative) to both inputs as it is: the sum's derivative is one for each.
/// </summary>
/// <param name="Index">1-based position among the residual connections (residual_1 …).</param>
/// <param name="PreActivationOffset">Where the sum z is kept for GELU's and SiLU's derivatives, or −1.</param>
internal sealed record AddPlan(int Position, int Index, int Size, Activation Activation, float Alpha, int OutputOffset, int PreActivationOffset, string Block, string? Shortcut)
    : LayerPlan(Position, Size, Size, OutputOffset)
{
    public override string Name => "residual_" + Index;

    public override string Identifier => "Residual" + Index;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;

    public override bool HandsGradientOnInPlace => true;
}

/// <summary>
/// The plan of a layer kind that writes its own code (see <see cref="Layers.ActivationKind"/>): the emitter, the
/// backward pass, the PyTorch equivalent and the ONNX export ask it rather than switching over kinds.
/// </summary>
internal interface ILayerWriter
{
    /// <summary>Its row of the remarks table: name, kind, activation, input, output, parameters, how it is computed.</summary>
    string[] RemarksRow();

    /// <summary>Its forward method, and its backward method when <paramref name="backward"/> (the backward pass calls it).</summary>
    void WriteMethods(SourceWriter writer, ModelPlan plan, bool backward);

    /// <summary>The backward pass's call, given the variables of its input, ∂L/∂(its output) and ∂L/∂(its input) (null: not needed); adds the outputs it reads to <paramref name="reads"/>.</summary>
    string BackwardCall(string input, string dy, string? dx, ISet<string> reads);

    /// <summary>Its module in the equivalent PyTorch <c>nn.Sequential</c>, or null for none.</summary>
    string? TorchModule { get; }

    /// <summary>Its ONNX layer, as C#: a call of one of <c>OnnxLayer</c>'s factories.</summary>
    string OnnxLayer { get; }
}
