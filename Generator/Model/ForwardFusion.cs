using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;

namespace ModelGen.Generator.Model;

/// <summary>
/// A dense layer and the dropout layer right after it, computed by one product while training
/// (<c>Gemm.MultiplyDropout</c>): each thread draws the mask for its own part of the dense layer's output and writes the
/// dropout layer's output as it finishes that part, so the dropout layer's forward pass is not written at all (one
/// pass over the activations fewer, and none on one thread alone). Inference keeps the two layers apart. The planner
/// finds them once (<see cref="ModelPlan.ForwardFusions"/>); the emitter and the layers' writers read them.
/// </summary>
/// <param name="Layer">The dense layer whose forward product draws the mask.</param>
/// <param name="Dropout">The dropout layer right after it.</param>
internal sealed record ForwardFusion(DensePlan Layer, DropoutPlan Dropout)
{
    /// <summary>
    /// The fusions of a plan, in layer order: only a blocked (GEMM) dense layer whose activation the product applies
    /// itself (none or ReLU), and which the dropout layer alone reads, takes one over.
    /// </summary>
    public static EquatableArray<ForwardFusion> Find(ModelPlan plan)
    {
        var fusions = new List<ForwardFusion>();
        for (var i = 0; i + 1 < plan.Layers.Count; i++)
        {
            if (plan.Layers[i] is DensePlan { Strategy: DenseStrategy.Gemm, Positions: 1, KeepsPreActivation: false, Activation: Activation.Linear or Activation.Relu } dense
                && plan.Layers[i + 1] is DropoutPlan dropout && BackwardFusion.OnlyReader(plan, i, i + 1))
            {
                fusions.Add(new ForwardFusion(dense, dropout));
            }
        }

        return fusions.ToEquatableArray();
    }

    /// <summary>The dropout layer that <paramref name="layer"/>'s forward product draws while training, or null.</summary>
    public static DropoutPlan? DropoutAfter(ModelPlan plan, LayerPlan layer) =>
        plan.ForwardFusions.FirstOrDefault(f => f.Layer.Position == layer.Position)?.Dropout;

    /// <summary>Whether <paramref name="layer"/> is a dropout layer whose forward pass the dense layer before it draws.</summary>
    public static bool Absorbs(ModelPlan plan, LayerPlan layer) =>
        plan.ForwardFusions.Any(f => f.Dropout.Position == layer.Position);
}
