using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Weights;

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

/// <summary>One layer of a plan, whatever its kind.</summary>
/// <param name="Position">1-based position among all layers: names its activations (<c>a1</c>, <c>a2</c> …).</param>
/// <param name="InputSize">Inputs per sample.</param>
/// <param name="Units">Outputs per sample.</param>
/// <param name="OutputOffset">Offset of this layer's outputs in the workspace, per sample of the batch.</param>
internal abstract record LayerPlan(int Position, int InputSize, int Units, int OutputOffset) : ILayerWriter
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

    /// <summary>The window the layer slides over its input (convolution, pooling), whose runtime value the model keeps; or null.</summary>
    public virtual WindowPlan? SlidingWindow => null;

    /// <summary>Values of the zero bias that a layer declared without a bias reads in its products (its columns), or 0.</summary>
    public virtual int ZeroBiasLength => 0;

    /// <summary>
    /// Whether its accessors come after the model's <c>State</c> span rather than before it, as the generated class
    /// orders them: the normalization layers' (batch normalization's running statistics are slices of that state).
    /// </summary>
    public virtual bool AccessorsAfterState => false;

    /// <summary>Whether it behaves differently while training (dropout, batch statistics): <c>Forward</c> then takes <c>training</c>.</summary>
    public virtual bool TrainsDifferently => false;

    /// <summary>Whether it counts the training batches it has seen (PyTorch's <c>num_batches_tracked</c>).</summary>
    public virtual bool TracksBatches => false;

    /// <summary>Whether its output for a sample depends on the other samples of the batch (batch statistics), which rules out per-sample gradients.</summary>
    public virtual bool MixesSamples => false;

    /// <summary>Rows of the weight matrix its int8 product would sum over (a dense layer's or convolution's), or 0 for a layer not computed in int8.</summary>
    public virtual int QuantizedDepth => 0;

    /// <summary>
    /// Whether ∂L/∂(its input) is ∂L/∂(its output) as it is, with no backward call, in the pass being planned
    /// (<paramref name="toInputs"/>: the pass to the inputs, as the model predicts) given the plan's <paramref name="fusions"/>.
    /// </summary>
    public virtual bool PassesGradientOn(bool toInputs, EquatableArray<BackwardFusion> fusions) => false;

    /// <summary>Whether, outside training, its output is its input span itself (a dropout layer, where that span may be handed on).</summary>
    public virtual bool PassesInputThrough(ModelPlan plan) => false;

    /// <summary>The layer's name in weights files and comments, e.g. <c>dense_2</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The C# identifier stem for members of this layer, e.g. <c>Dense2</c>.</summary>
    public abstract string Identifier { get; }

    /// <summary>The local variable that holds this layer's outputs for a batch.</summary>
    public string Output => "a" + Position;

    /// <inheritdoc/>
    public abstract string[] RemarksRow(ModelPlan plan);

    /// <inheritdoc/>
    public virtual void WriteParameterLayout(SourceWriter writer)
    {
    }

    /// <inheritdoc/>
    public virtual void WriteStateLayout(SourceWriter writer)
    {
    }

    /// <inheritdoc/>
    /// <remarks>By default only its outputs.</remarks>
    public virtual void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan) =>
        writer.WriteLine($"private const int {Identifier}Output = {OutputOffset}; // {Name} outputs, {Units} per sample");

    /// <inheritdoc/>
    public virtual void WriteWindowsLayout(SourceWriter writer)
    {
    }

    /// <inheritdoc/>
    public virtual void WriteInitialization(SourceWriter writer)
    {
    }

    /// <inheritdoc/>
    public virtual void WriteAccessors(SourceWriter writer)
    {
    }

    /// <inheritdoc/>
    /// <remarks>By default its workspace region and one call of its forward method: <c>LayerForward(x, y, batch)</c>.</remarks>
    public virtual void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, batch);");
        writer.WriteLine($"{Identifier}Forward({context.InputOf(this)}, {Output}, batch);");
    }

    /// <inheritdoc/>
    public virtual void Quantize(QuantizedModelBuilder int8)
    {
    }

    /// <inheritdoc/>
    public abstract void WriteMethods(SourceWriter writer, LayerWriting context);

    /// <inheritdoc/>
    public abstract string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads);

    /// <inheritdoc/>
    public abstract string? SampleNormsCall(string input, string dy);

    /// <inheritdoc/>
    public abstract void AddTorch(TorchBuilder torch);

    /// <inheritdoc/>
    public abstract string OnnxLayer(string tensors);
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

/// <summary>A layer with a weight matrix W [<see cref="WeightRows"/> × <see cref="WeightColumns"/>] and one bias per column: dense and convolution layers.</summary>
internal interface IWeightedPlan
{
    int Position { get; }

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

    /// <summary>W's shape as kept, for comments: inputs×units, or for a convolution kernel×kernel×channels×filters.</summary>
    string WeightShape { get; }

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

    /// <summary>Its input as channels×height×width, for the remarks table.</summary>
    public string InputDimensions => $"{Channels}×{Height}×{Width}";

    /// <summary>Its output of <paramref name="channels"/> channels as channels×height×width, for the remarks table.</summary>
    public string OutputDimensions(int channels) => $"{channels}×{OutputHeight}×{OutputWidth}";

    /// <summary>The runtime value, as C#: <c>new(channels: 1, height: 28, …)</c>.</summary>
    public string Constructor =>
        $"new(Channels: {Channels}, Height: {Height}, Width: {Width}, Kernel: {Kernel}, Stride: {Stride}, PadTop: {PadTop}, PadLeft: {PadLeft}, " +
        $"OutputHeight: {OutputHeight}, OutputWidth: {OutputWidth}, ChannelsLast: {(ChannelsLast ? "true" : "false")})";
}
