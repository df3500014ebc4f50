using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;

namespace ModelGen.Generator.Model;

/// <summary>
/// What the input-gradient product of a dense layer takes over from the layers below it in the backward pass: the
/// mask of a dropout layer right below, and the ReLU derivative [y &gt; 0] of the dense layer below that (or right
/// below). The product applies both to its result as each thread finishes its part
/// (<c>Gemm.MultiplyTransposedGated</c>), so the dropout layer's backward pass and the ReLU layer's in-place derivative
/// are not written at all: two passes over the gradient fewer, and none of them on one thread alone.
/// </summary>
/// <param name="Layer">The dense layer whose input gradient applies the gate.</param>
/// <param name="Dropout">The dropout layer right below it, whose mask the gate multiplies by, or null.</param>
/// <param name="Relu">The ReLU dense layer below (right below, or below the dropout), whose outputs gate, or null.</param>
internal sealed record BackwardFusion(DensePlan Layer, DropoutPlan? Dropout, DensePlan? Relu)
{
    /// <summary>
    /// The fusions of a plan, in the order of the dense layers that apply them. Only blocked (GEMM) layers fuse: the gate
    /// is applied by the matrix product, and a ReLU layer's derivative is left out only where it would be a separate pass.
    /// The planner finds them once (<see cref="ModelPlan.BackwardFusions"/>); the backward planner and the emitter read them.
    /// </summary>
    public static EquatableArray<BackwardFusion> Find(ModelPlan plan)
    {
        var fusions = new List<BackwardFusion>();
        var layers = plan.Layers;
        for (var i = 1; i < layers.Count; i++)
        {
            if (layers[i] is not DensePlan { Strategy: DenseStrategy.Gemm, NeedsInputGradient: true } dense || !OnlyReader(plan, i - 1, i))
            {
                continue;
            }

            var below = layers[i - 1];
            var dropout = below as DropoutPlan;
            var candidate = dropout is null ? below : i >= 2 && OnlyReader(plan, i - 2, i - 1) ? layers[i - 2] : null;
            var relu = candidate is DensePlan { Activation: Activation.Relu, Strategy: DenseStrategy.Gemm, KeepsPreActivation: false } r ? r : null;
            if (dropout is not null || relu is not null)
            {
                fusions.Add(new BackwardFusion(dense, dropout, relu));
            }
        }

        return fusions.ToEquatableArray();
    }

    /// <summary>
    /// Whether the layer at index <paramref name="reader"/> reads the one at <paramref name="index"/> (0-based), and no
    /// other layer does: a gradient that also flows elsewhere (into a residual connection) cannot be gated in one product.
    /// </summary>
    internal static bool OnlyReader(ModelPlan plan, int index, int reader)
    {
        var position = index + 1;
        return plan.Layers[reader].Inputs.Count == 1 && plan.Layers[reader].Inputs[0] == position &&
            plan.Layers.Count(l => l.Inputs.Contains(position)) == 1;
    }

    /// <summary>Whether <paramref name="layer"/>'s own backward work is done by some fusion: a dropout's pass, or a ReLU layer's derivative.</summary>
    public static bool Absorbs(EquatableArray<BackwardFusion> fusions, LayerPlan layer) =>
        fusions.Any(f => f.Dropout?.Position == layer.Position || f.Relu?.Position == layer.Position);

    /// <summary>The fusion whose gate <paramref name="layer"/>'s input-gradient product applies, or null.</summary>
    public static BackwardFusion? AppliedBy(EquatableArray<BackwardFusion> fusions, DensePlan layer) =>
        fusions.FirstOrDefault(f => f.Layer.Position == layer.Position);

    /// <summary>The fusion above that applies <paramref name="layer"/>'s ReLU derivative, or null.</summary>
    public static BackwardFusion? GatingOf(EquatableArray<BackwardFusion> fusions, DensePlan layer) =>
        fusions.FirstOrDefault(f => f.Relu?.Position == layer.Position);
}
