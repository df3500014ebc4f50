using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;

namespace ModelGen.Generator.Model;

/// <summary>
/// A ReLU convolution read by a max pooling layer alone, whose derivative the pooling layer's backward pass applies:
/// each pooled value is the ReLU output it came from, so [y &gt; 0] taken at the pooled outputs gates the gradient
/// before it is routed back (<c>Pooling.MaxBackward</c> with a gate), and the convolution's bias gradient is summed
/// over the pooled gradients (<c>Reductions.GatedColumnSums</c>), a quarter as many for 2 × 2 windows. The convolution's
/// own pass over its derivative and its bias sum over every position are not written. Where the convolution is a
/// direct one (a first layer) and the windows are 2 × 2 at stride 2, the forward passes are one as well
/// (<see cref="FusesForward"/>). The planner finds them once (<see cref="ModelPlan.PoolGates"/>); the backward planner,
/// the forward pass and the layers' writers read them.
/// </summary>
/// <param name="Conv">The convolution whose ReLU derivative and bias gradient the pooling layer's backward takes over.</param>
/// <param name="Pool">The max pooling layer right after it.</param>
internal sealed record PoolGate(ConvPlan Conv, PoolPlan Pool)
{
    /// <summary>
    /// Whether one pass computes both layers' forward (<c>Convolution.DirectForwardMaxPool</c>): the convolution's
    /// outputs, four times the pooled values, are then never stored.
    /// </summary>
    public bool FusesForward => Conv.Direct && Pool.Window.Kernel == 2 && Pool.Window.Stride == 2;

    /// <summary>
    /// Whether, in training, the pooling layer's backward also takes the convolution's weight gradient
    /// (<c>Convolution.DirectWeightGradientMaxPool</c>), each sample's output gradient made where it is summed: a
    /// direct convolution, which no layer before with parameters needs an input gradient from.
    /// </summary>
    public bool FusesBackward => Conv.Direct && !Conv.NeedsInputGradient;

    /// <summary>Whether the pass being written takes the fused backward: training's, unless it reads each output gradient.</summary>
    public bool FusesBackwardIn(LayerWriting context) => FusesBackward && !context.ToInputs && !context.ReadsOutputGradients;

    /// <summary>The gates of a plan, in layer order.</summary>
    public static EquatableArray<PoolGate> Find(ModelPlan plan)
    {
        var gates = new List<PoolGate>();
        for (var i = 0; i + 1 < plan.Layers.Count; i++)
        {
            if (plan.Layers[i] is ConvPlan { Activation: Activation.Relu, KeepsPreActivation: false } conv
                && plan.Layers[i + 1] is PoolPlan { Average: false } pool && BackwardFusion.OnlyReader(plan, i, i + 1))
            {
                gates.Add(new PoolGate(conv, pool));
            }
        }

        return gates.ToEquatableArray();
    }

    /// <summary>The gate whose ReLU derivative <paramref name="pool"/>'s backward applies, or null.</summary>
    public static PoolGate? AppliedBy(ModelPlan plan, LayerPlan pool) =>
        plan.PoolGates.FirstOrDefault(g => g.Pool.Position == pool.Position);

    /// <summary>Whether <paramref name="layer"/> is a pooling layer whose forward pass the convolution below computes.</summary>
    public static bool AbsorbsForward(ModelPlan plan, LayerPlan layer) =>
        plan.PoolGates.Any(g => g.FusesForward && g.Pool.Position == layer.Position);

    /// <summary>The gate whose pooling layer's forward pass <paramref name="conv"/> computes with its own, or null.</summary>
    public static PoolGate? FusedForwardOf(ModelPlan plan, LayerPlan conv) =>
        plan.PoolGates.FirstOrDefault(g => g.FusesForward && g.Conv.Position == conv.Position);

    /// <summary>The gate that applies <paramref name="conv"/>'s ReLU derivative in the pooling layer above, or null.</summary>
    public static PoolGate? GatingOf(ModelPlan plan, LayerPlan conv) =>
        plan.PoolGates.FirstOrDefault(g => g.Conv.Position == conv.Position);
}
