using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the forward and backward methods of one layer-normalization layer.</summary>
internal static class LayerNormEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Normalization = "global::ModelGen.Kernels.Normalization";

    /// <summary><c>LayerForward(x, y, batch)</c>: y = γ ⊙ (x − μ) / √(σ² + ε) + β per sample, keeping x̂ and 1/σ.</summary>
    public static void WriteForward(SourceWriter writer, LayerNormPlan layer)
    {
        var size = layer.Size;
        var epsilon = layer.Epsilon.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        writer.WriteLine($"/// <summary>{layer.Name} forward: y = γ ⊙ (x − μ) / √(σ² + {epsilon}) + β over each sample's {size} values.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Normalization}.LayerNormForward(");
            writer.WriteLine($"    x.Slice(0, batch * {size}), y, Workspace({layer.Identifier}Normalized, {size}, batch), Workspace({layer.Identifier}InverseDeviation, 1, batch),");
            writer.WriteLine($"    {layer.Identifier}Gamma, {layer.Identifier}Beta, epsilon: {epsilon}f);");
        }
    }

    /// <summary><c>LayerBackward(dy, dx, batch)</c>: ∂L/∂γ, ∂L/∂β, and dx unless it is empty (nothing before needs it).</summary>
    public static void WriteBackward(SourceWriter writer, LayerNormPlan layer)
    {
        var size = layer.Size;
        writer.WriteLine($"/// <summary>{layer.Name} backward: ∂L/∂γ = Σ dy ⊙ x̂, ∂L/∂β = Σ dy, dx = (g − mean g − x̂·mean(g ⊙ x̂)) / σ with g = dy ⊙ γ.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Normalization}.LayerNormBackward(");
            writer.WriteLine($"    dy, Workspace({layer.Identifier}Normalized, {size}, batch), Workspace({layer.Identifier}InverseDeviation, 1, batch), {layer.Identifier}Gamma,");
            writer.WriteLine($"    {layer.Identifier}GammaGradients, {layer.Identifier}BetaGradients, dx);");
        }
    }
}
