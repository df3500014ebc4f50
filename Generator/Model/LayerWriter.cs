using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Model;

// What a layer's plan writes for its kind, and what it writes from: the emitter, the backward passes, the PyTorch
// equivalent, the ONNX export and the build-time quantizer ask each layer rather than switching over kinds, so that a
// new kind is its own file under Layers/ and a line in LayerKinds.

/// <summary>
/// What every layer's plan writes for its kind (each <see cref="LayerPlan"/> is one; see <see cref="Layers.ActivationKind"/>):
/// the emitter, the backward passes, the PyTorch equivalent and the ONNX export ask it rather than switching over kinds.
/// </summary>
internal interface ILayerWriter
{
    /// <summary>Its row of the remarks table: name, kind, activation, input, output, parameters, how it is computed.</summary>
    string[] RemarksRow(ModelPlan plan);

    /// <summary>The offset constants of its tensors in the parameter buffer's layout; none without parameters.</summary>
    void WriteParameterLayout(SourceWriter writer);

    /// <summary>The offset constants of its tensors in the state's layout (running statistics); none for most kinds.</summary>
    void WriteStateLayout(SourceWriter writer);

    /// <summary>Its constants in the workspace's layout: where its outputs lie, then what it keeps there for backward.</summary>
    void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan);

    /// <summary>Its constant in the window buffer's layout: how many samples' windows it builds at once (for a layer with <see cref="LayerPlan.WindowsLength"/>).</summary>
    void WriteWindowsLayout(SourceWriter writer);

    /// <summary>The seeded constructor's lines that give its parameters (and state) their first values.</summary>
    void WriteInitialization(SourceWriter writer);

    /// <summary>The properties over its tensors: public spans of its parameters and state, private ones of their gradients.</summary>
    void WriteAccessors(SourceWriter writer);

    /// <summary>Its lines in <c>Forward</c>: the variable of its outputs (<see cref="LayerPlan.Output"/>) and the calls that compute them.</summary>
    void WriteForwardCall(SourceWriter writer, LayerWriting context);

    /// <summary>
    /// Its forward method, and the backward methods that a backward pass calls (see <see cref="LayerWriting.HasBackwardCall"/>),
    /// each after a blank line; nothing at all where its work is done elsewhere (a flatten, a fused dropout).
    /// </summary>
    void WriteMethods(SourceWriter writer, LayerWriting context);

    /// <summary>
    /// A backward pass's call, given the variables of its input, ∂L/∂(its output) and ∂L/∂(its input) (null: not
    /// needed), or null for none; adds the layer outputs it reads to <paramref name="reads"/>.
    /// </summary>
    string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads);

    /// <summary>
    /// For <c>TrainStepClipped</c>, the call that adds each sample's squared gradient norm of the layer's parameters to
    /// <c>sampleNorms</c>, from its input and ∂L/∂(its output); null for a layer without parameters.
    /// </summary>
    string? SampleNormsCall(string input, string dy);

    /// <summary>Adds its modules and tensors to the equivalent PyTorch module.</summary>
    void AddTorch(TorchBuilder torch);

    /// <summary>Its ONNX layer, as C#: a call of one of <c>OnnxLayer</c>'s factories, naming its tensors after <paramref name="tensors"/> (e.g. <c>layers.3.</c>).</summary>
    string OnnxLayer(string tensors);

    /// <summary>
    /// Tells the build-time int8 quantizer what the layer is: a product to quantize, a normalization folded into one or
    /// kept in float, a pass that hands its input's product on; by default none of these, so nothing folds across it.
    /// </summary>
    void Quantize(QuantizedModelBuilder int8);
}

/// <summary>
/// What a <see cref="ILayerWriter"/> writes from besides its own plan: the whole model's plan, with the decisions
/// made in it, and which backward pass is being written.
/// </summary>
/// <param name="plan">The model's plan.</param>
/// <param name="toInputs">Whether the pass being written hands ∂L/∂(inputs) to the caller and keeps no parameter gradient.</param>
internal sealed class LayerWriting(ModelPlan plan, bool toInputs = false, bool readsOutputGradients = false)
{
    /// <summary>The model's plan.</summary>
    public ModelPlan Plan { get; } = plan;

    /// <summary>The plan's backward fusions (<see cref="ModelPlan.BackwardFusions"/>).</summary>
    public EquatableArray<BackwardFusion> Fusions => Plan.BackwardFusions;

    /// <summary>Whether the pass being written hands ∂L/∂(inputs) to the caller and keeps no parameter gradient.</summary>
    public bool ToInputs { get; } = toInputs;

    /// <summary>
    /// Whether the pass reads each layer's output gradient after its backward call (the per-sample norms of private
    /// training): a fusion that never writes one for the batch is then left out.
    /// </summary>
    public bool ReadsOutputGradients { get; } = readsOutputGradients;

    /// <summary>Whether a backward pass (TrainStep's or the one to the inputs) calls the layer's own backward method.</summary>
    public bool HasBackwardCall(LayerPlan layer) =>
        Plan.Backward.Concat(Plan.InputBackward).OfType<LayerBackward>().Any(step => step.Position == layer.Position);

    /// <summary>The fusion whose gate this dense layer's input-gradient product applies (a dropout mask, a ReLU derivative below it), or null.</summary>
    public BackwardFusion? FusionOf(DensePlan layer) => BackwardFusion.AppliedBy(Fusions, layer);

    /// <summary>The fusion whose ReLU gate is this dense layer's derivative, applied by the layer above; or null.</summary>
    public BackwardFusion? GatingOf(DensePlan layer) => BackwardFusion.GatingOf(Fusions, layer);

    /// <summary>The variable holding a layer's <paramref name="which"/>-th input in <c>Forward</c>: the model's inputs or its producer's outputs.</summary>
    public string InputOf(LayerPlan layer, int which = 0) => Emitter.InputOf(Plan, layer, which);

    /// <summary>
    /// A forward step that differs while training: <paramref name="training"/> inside <c>if (training)</c>, then the
    /// <paramref name="inference"/> lines inside <c>else</c> (no <c>else</c> without any), and a blank line unless
    /// <paramref name="last"/> is the model's last layer.
    /// </summary>
    public void WriteTrainingSplit(SourceWriter writer, LayerPlan last, string training, params string[] inference)
    {
        using (writer.OpenBlock("if (training)"))
        {
            writer.WriteLine(training);
        }

        if (inference.Length > 0)
        {
            using (writer.OpenBlock("else"))
            {
                foreach (var line in inference)
                {
                    writer.WriteLine(line);
                }
            }
        }

        if (last.Position < Plan.Layers.Count)
        {
            writer.WriteLine();
        }
    }
}
