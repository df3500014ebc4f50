using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Model;

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

    /// <summary>
    /// Whether it can compute one position of one sequence from its inputs' rows at that position (what
    /// <c>Generate</c> runs, one token at a time, with attention's keys and values cached): position-wise layers and
    /// causal attention can; a model is generative only if all its layers can.
    /// </summary>
    public virtual bool Steps => false;

    /// <summary>
    /// Writes, inside <c>Step(token, position)</c>, the lines that compute its row at <c>position</c> of sequence 0 in
    /// the workspace: declares its output variable as <c>Forward</c> does, reads its inputs' rows there.
    /// </summary>
    public virtual void WriteStep(SourceWriter writer, LayerWriting context) =>
        throw new System.InvalidOperationException(Name + " has no step.");

    /// <summary>Row <c>position</c> of a variable holding <paramref name="perSample"/> floats of sequence 0, T = the model's positions.</summary>
    protected static string Row(LayerWriting context, string variable, int perSample)
    {
        var width = perSample / context.Plan.InputSize;
        return $"{variable}.Slice(position * {width}, {width})";
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
