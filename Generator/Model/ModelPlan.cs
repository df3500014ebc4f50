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
        System.Linq.Enumerable.Where(Layers, l => l.ParameterCount > 0);

    /// <summary>Whether any layer behaves differently while training: dropout, or batch normalization's batch statistics.</summary>
    public bool HasTrainingBehavior => System.Linq.Enumerable.Any(Layers, l => l.TrainsDifferently);

    /// <summary>Whether a layer normalizes batches, so that the model counts its training batches (PyTorch's num_batches_tracked).</summary>
    public bool CountsBatches => System.Linq.Enumerable.Any(Layers, l => l.TracksBatches);

    /// <summary>Whether some layer reads the outputs of two (a residual sum), so that the layers are not a chain.</summary>
    public bool Joins => System.Linq.Enumerable.Any(Layers, l => l.Inputs.Count > 1);

    /// <summary>Whether a layer mixes the samples of a batch (batch normalization), so that no sample has a gradient of its own.</summary>
    public bool MixesSamples => System.Linq.Enumerable.Any(Layers, l => l.MixesSamples);

    /// <summary>Floats of state (batch normalization's running statistics) the model keeps beside its parameters.</summary>
    public int StateLength { get; init; }

    /// <summary>The distinct token ids of a token input, or 0 for an input of values.</summary>
    public int Vocabulary { get; init; }

    /// <summary>Positions of the last layer's output sequence, or 1: a sequence's softmax cross-entropy has one target per position.</summary>
    public int OutputPositions { get; init; } = 1;

    /// <summary>Whether any layer works on sequences (or reads token ids): such models have no ONNX export, int8 predictor, per-sample clipping or input gradients yet.</summary>
    public bool Sequences { get; init; }

    /// <summary>Whether the loss is softmax cross-entropy at every position of a sequence, with one class index per position as the targets.</summary>
    public bool SequenceLoss => Loss == Loss.SoftmaxCrossEntropy && OutputPositions > 1;

    /// <summary>Values the loss's softmax runs over: a position's classes, or the whole output.</summary>
    public int OutputClasses => OutputSize / OutputPositions;

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

    /// <summary>
    /// Where a dense layer's input-gradient product also applies the dropout mask and the ReLU derivative of the layers
    /// below it (<see cref="BackwardFusion"/>), decided once by the planner: those layers then have no pass of their own.
    /// </summary>
    public EquatableArray<BackwardFusion> BackwardFusions { get; init; }

    /// <summary>
    /// Where a dense layer's forward product also draws the dropout layer after it while training
    /// (<see cref="ForwardFusion"/>), decided once by the planner: that dropout layer then has no forward pass of its own.
    /// </summary>
    public EquatableArray<ForwardFusion> ForwardFusions { get; init; }

    /// <summary>
    /// Where a max pooling layer's backward pass applies the ReLU derivative of the convolution below it and sums that
    /// convolution's bias gradient (<see cref="PoolGate"/>), decided once by the planner.
    /// </summary>
    public EquatableArray<PoolGate> PoolGates { get; init; }

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
    /// <summary>The lines of the Python classes its modules use that <c>torch.nn</c> lacks (a residual connection's), written before it.</summary>
    public EquatableArray<string> Classes { get; init; }

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

/// <summary>A square window sliding over a sample: the generator's copy of the runtime's <c>Window2D</c>.</summary>
/// <param name="ChannelsLast">Whether the input is stored (h, w, c): the output of a convolution or pooling layer; the model's input is (c, h, w).</param>
internal sealed record WindowPlan(
    int Channels, int Height, int Width, int Kernel, int Stride, int PadTop, int PadLeft, int OutputHeight, int OutputWidth, bool ChannelsLast)
{
    public int Positions => OutputHeight * OutputWidth;

    public int PatchSize => Kernel * Kernel * Channels;

    /// <summary>Its input as channels×height×width, for the remarks table.</summary>
    public string InputDimensions => $"{Channels}×{Height}×{Width}";

    /// <summary>Its output of <paramref name="channels"/> channels as channels×height×width, for the remarks table.</summary>
    public string OutputDimensions(int channels) => $"{channels}×{OutputHeight}×{OutputWidth}";

    /// <summary>The runtime value, as C#: <c>new(channels: 1, height: 28, …)</c>.</summary>
    public string Constructor =>
        $"new(Channels: {Channels}, Height: {Height}, Width: {Width}, Kernel: {Kernel}, Stride: {Stride}, PadTop: {PadTop}, PadLeft: {PadLeft}, " +
        $"OutputHeight: {OutputHeight}, OutputWidth: {OutputWidth}, ChannelsLast: {(ChannelsLast ? "true" : "false")})";
}
