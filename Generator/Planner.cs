using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Stage 3: lays out the parameter buffer, the state and the workspace, each layer's kind taking its regions and
/// picking how it is computed (<see cref="LayerKind.Plan"/>), then which layers hand gradients back and the backward
/// pass. All sizes are known here, so every offset becomes a constant in the generated code.
/// </summary>
internal static class Planner
{
    /// <summary>Floats per 64-byte cache line: every tensor starts on one, so vector loads of a row start aligned.</summary>
    public const int Alignment = 16;

    public static ModelPlan Plan(CheckedModel model)
    {
        var layers = new List<LayerPlan>();
        // Three runs of 64-byte-aligned regions: the parameters, the state beside them, one sample's workspace.
        var parameters = new Regions();
        var state = new Regions();
        var workspace = new Regions();
        var parameterCount = 0;
        var widest = 0;
        var windowsLength = 0;
        var numbers = new Dictionary<string, int>();
        int Next(string kind) => numbers[kind] = numbers.TryGetValue(kind, out var last) ? last + 1 : 1; // dense_1, dense_2 …
        foreach (var layer in model.Layers)
        {
            var kind = LayerKinds.For(layer.Layer);
            var producer = layer.Inputs[0];
            widest = System.Math.Max(widest, layer.Output.Size);
            // The model's input is (c, h, w); a convolution or pooling layer writes (h, w, c), which later layers keep.
            var channelsLast = producer > 0 && model.Layers[producer - 1].ChannelsLast;
            // A view of the producing layer's outputs takes no workspace of its own; a view of the model's input copies it.
            var outputOffset = kind.ViewsItsInput && producer > 0 ? layers[producer - 1].OutputOffset : workspace.Take(layer.Output.Size);
            var plan = kind.Plan(layer, new PlanContext(layers.Count + 1, outputOffset, channelsLast, parameterCount, Next, parameters, state, workspace, layers));
            layers.Add(plan);
            parameterCount += plan.ParameterCount;
            windowsLength = System.Math.Max(windowsLength, plan.WindowsLength);
        }

        // Which layers hand a gradient back: those fed, directly or not, by a layer with parameters.
        var trainable = new bool[layers.Count + 1];
        for (var i = 0; i < layers.Count; i++)
        {
            var checkedLayer = model.Layers[i];
            var needsInputGradient = checkedLayer.Inputs.Any(input => trainable[input]);
            trainable[i + 1] = needsInputGradient || layers[i].ParameterCount > 0;
            layers[i] = layers[i] with { Inputs = checkedLayer.Inputs, Scope = checkedLayer.Scope, NeedsInputGradient = needsInputGradient };
        }

        // Backward passes the gradients through buffers each as wide as the widest layer: two used in turn for a chain of
        // layers, more where a residual connection keeps a gradient for its shortcut while its block's flows back.
        var planned = new ModelPlan(
            model.Type,
            model.Loss,
            model.HuberDelta,
            model.Input.Size,
            layers[layers.Count - 1].Units,
            parameterCount,
            parameters.End,
            layers.ToEquatableArray(),
            workspace.End,
            Align(workspace.End + widest),
            0)
        {
            StateLength = state.End, Weights = model.Weights, WindowsLength = windowsLength, InputShape = model.Input.Dimensions,
            Vocabulary = model.Input.Vocabulary,
            OutputPositions = model.Layers[model.Layers.Count - 1].Output.IsSequence ? model.Layers[model.Layers.Count - 1].Output.Positions : 1,
            Sequences = model.Input.Vocabulary > 0 || model.Layers.Any(l => l.Output.IsSequence || l.Input.IsSequence),
        };
        planned = planned with { BackwardFusions = BackwardFusion.Find(planned), ForwardFusions = ForwardFusion.Find(planned), PoolGates = PoolGate.Find(planned) };
        var (steps, buffers, _) = BackwardPlanner.Plan(planned);
        var (inputSteps, inputBuffers, holdsInputs) = BackwardPlanner.Plan(planned, toInputs: true);
        buffers = System.Math.Max(buffers, inputBuffers);
        if (holdsInputs && model.Input.Size > widest)
        {
            // The pass to the inputs keeps a gradient of the inputs in a buffer (a residual connection reads them twice).
            widest = model.Input.Size;
            planned = planned with { GradientBOffset = Align(workspace.End + widest) };
        }

        var workspacePerSample = workspace.End + (buffers * Align(widest));
        planned = planned with
        {
            Backward = steps, InputBackward = inputSteps, GradientBuffers = buffers, GradientWidth = widest, WorkspacePerSample = workspacePerSample,
        };
        return planned with { Torch = TorchEquivalent.Of(planned) };
    }

    internal static int Align(int offset) => (offset + Alignment - 1) / Alignment * Alignment;
}

/// <summary>A run of regions handed out in order, each starting on a 64-byte boundary: the parameters, the state, or one sample's workspace.</summary>
internal sealed class Regions
{
    /// <summary>Where the next region starts: the run's length so far.</summary>
    public int End { get; private set; }

    /// <summary>Takes <paramref name="length"/> floats and returns where they start.</summary>
    public int Take(int length)
    {
        var offset = End;
        End = Planner.Align(offset + length);
        return offset;
    }
}

/// <summary>What a <see cref="LayerKind"/> plans its layer with: where it is, its outputs, and the regions it may take more from.</summary>
/// <param name="Position">The layer's 1-based position among all layers.</param>
/// <param name="OutputOffset">Where its outputs lie in the workspace, per sample (already taken).</param>
/// <param name="ChannelsLast">Whether its input image lies (h, w, c).</param>
/// <param name="ParametersBefore">Trainable parameters of the layers before it (0: no layer before it learns anything).</param>
/// <param name="Next">The next number of a kind of layer, for its name: <c>Next("dense")</c> gives 1, then 2 ….</param>
/// <param name="Parameters">The parameter buffer's regions.</param>
/// <param name="State">The state's regions (running statistics).</param>
/// <param name="Workspace">One sample's workspace regions.</param>
/// <param name="Planned">The layers planned before it, in order (a tied head finds its embedding there).</param>
internal sealed record PlanContext(
    int Position, int OutputOffset, bool ChannelsLast, int ParametersBefore, System.Func<string, int> Next, Regions Parameters, Regions State, Regions Workspace,
    IReadOnlyList<LayerPlan> Planned)
{
    /// <summary>
    /// Where the layer keeps its pre-activations z in the workspace, <paramref name="size"/> floats per sample: only
    /// GELU's and SiLU's derivatives need z rather than y. −1 (nothing taken) for the other activations.
    /// </summary>
    public int TakePreActivations(Activation activation, int size) =>
        activation is Activation.Gelu or Activation.Silu ? Workspace.Take(size) : -1;

    /// <summary>The window of a convolution or pooling layer, from its checked input and output shapes (c, h, w).</summary>
    public WindowPlan Window(CheckedLayer layer, int kernel, int stride, Padding padding)
    {
        var (input, output) = (layer.Input.Dimensions, layer.Output.Dimensions);
        return new WindowPlan(
            input[0], input[1], input[2], kernel, stride,
            Windows.PaddingBefore(input[1], kernel, stride, padding), Windows.PaddingBefore(input[2], kernel, stride, padding),
            output[1], output[2], ChannelsLast);
    }
}
