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
    EquatableArray<DensePlan> Layers,
    int GradientAOffset,
    int GradientBOffset,
    int WorkspacePerSample);

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
/// <param name="Index">1-based position among the layers (dense_1, dense_2 …).</param>
/// <param name="InputSize">Inputs per sample.</param>
/// <param name="Units">Outputs per sample.</param>
/// <param name="Activation">The activation.</param>
/// <param name="WeightsOffset">Offset of W [Units × InputSize], row-major, in the parameter buffer.</param>
/// <param name="BiasOffset">Offset of b [Units] in the parameter buffer.</param>
/// <param name="OutputOffset">Offset of this layer's activations in the workspace, per sample of the batch.</param>
/// <param name="Strategy">How the layer is computed.</param>
internal sealed record DensePlan(
    int Index,
    int InputSize,
    int Units,
    Activation Activation,
    int WeightsOffset,
    int BiasOffset,
    int OutputOffset,
    DenseStrategy Strategy)
{
    public string Name => "dense_" + Index;

    /// <summary>The C# identifier stem for members of this layer, e.g. <c>Dense1</c>.</summary>
    public string Identifier => "Dense" + Index;

    public int WeightCount => Units * InputSize;

    public int ParameterCount => WeightCount + Units;
}
