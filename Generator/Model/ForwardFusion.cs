using ModelGen.Generator.Layers;

namespace ModelGen.Generator.Model;

/// <summary>
/// A dense layer and the dropout layer right after it, computed by one product while training
/// (<c>Gemm.MultiplyDropout</c>): each thread draws the mask for its own part of the dense layer's output and writes the
/// dropout layer's output as it finishes that part, so the dropout layer's forward pass is not written at all (one
/// pass over the activations fewer, and none on one thread alone). Inference keeps the two layers apart.
/// </summary>
internal static class ForwardFusion
{
    /// <summary>
    /// The dropout layer that <paramref name="layer"/>'s forward product draws while training, or null: only a blocked
    /// (GEMM) layer whose activation the product applies itself (none or ReLU) takes one over.
    /// </summary>
    public static DropoutPlan? DropoutAfter(ModelPlan plan, LayerPlan layer) =>
        layer is DensePlan { Strategy: DenseStrategy.Gemm, KeepsPreActivation: false, Activation: Activation.Linear or Activation.Relu }
        && layer.Position < plan.Layers.Count && plan.Layers[layer.Position] is DropoutPlan dropout
        && BackwardFusion.OnlyReader(plan, layer.Position - 1, layer.Position)
            ? dropout
            : null;

    /// <summary>Whether <paramref name="layer"/> is a dropout layer whose forward pass the dense layer before it draws.</summary>
    public static bool Absorbs(ModelPlan plan, LayerPlan layer) =>
        layer is DropoutPlan && layer.Position >= 2 && DropoutAfter(plan, plan.Layers[layer.Position - 2]) is not null;
}
