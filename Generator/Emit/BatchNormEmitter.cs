using System.Globalization;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the training and inference forward methods, the backward method and the inference input gradient of one batch-normalization layer.</summary>
internal static class BatchNormEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Normalization = "global::ModelGen.Kernels.Normalization";

    public static void WriteForward(SourceWriter writer, BatchNormPlan layer)
    {
        var size = layer.Size;
        var (momentum, epsilon) = (Number(layer.Momentum), Number(layer.Epsilon));
        writer.WriteLine($"/// <summary>{layer.Name} forward while training: y = γ ⊙ (x − μ_B) / √(σ²_B + {epsilon}) + β with the batch's statistics{Over(layer)}, which also move the running averages (momentum {momentum}).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}ForwardTraining({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormTraining(");
            writer.WriteLine($"    x.Slice(0, batch * {size}), y, Workspace({layer.Identifier}Normalized, {size}, batch), _state.Span.Slice({layer.Identifier}InverseDeviation, {layer.Features}),");
            writer.WriteLine($"    {layer.Identifier}Gamma, {layer.Identifier}Beta, {layer.Identifier}RunningMean, {layer.Identifier}RunningVariance, momentum: {momentum}f, epsilon: {epsilon}f);");
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{layer.Name} forward in inference: y = γ ⊙ (x − running mean) / √(running variance + {epsilon}) + β.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}ForwardInference({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormInference(");
            writer.WriteLine($"    x.Slice(0, batch * {size}), y, {layer.Identifier}Gamma, {layer.Identifier}Beta, {layer.Identifier}RunningMean, {layer.Identifier}RunningVariance, epsilon: {epsilon}f);");
        }
    }

    public static void WriteBackward(SourceWriter writer, BatchNormPlan layer)
    {
        var size = layer.Size;
        writer.WriteLine($"/// <summary>{layer.Name} backward: ∂L/∂γ = Σ dy ⊙ x̂, ∂L/∂β = Σ dy, dx = (g − mean_B g − x̂·mean_B(g ⊙ x̂)) / σ_B with g = dy ⊙ γ.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormBackward(");
            writer.WriteLine($"    dy, Workspace({layer.Identifier}Normalized, {size}, batch), _state.Span.Slice({layer.Identifier}InverseDeviation, {layer.Features}), {layer.Identifier}Gamma,");
            writer.WriteLine($"    {layer.Identifier}GammaGradients, {layer.Identifier}BetaGradients, dx);");
        }
    }

    /// <summary>The input gradient as the model predicts, where the layer is affine: the pass to the inputs calls it.</summary>
    public static void WriteInputGradient(SourceWriter writer, BatchNormPlan layer)
    {
        var size = layer.Size;
        writer.WriteLine($"/// <summary>{layer.Name} input gradient outside training, where it is affine: dx = dy ⊙ γ / √(running variance + {Number(layer.Epsilon)}).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}InputGradient({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormInferenceBackward(dy.Slice(0, batch * {size}), dx.Slice(0, batch * {size}), {layer.Identifier}Gamma, {layer.Identifier}RunningVariance, epsilon: {Number(layer.Epsilon)}f);");
        }
    }

    /// <summary>What the statistics run over, for an image: each channel's values at every position of every sample.</summary>
    private static string Over(BatchNormPlan layer) =>
        layer.Features == layer.Size ? string.Empty : $" of each channel, over its {layer.Size / layer.Features} positions in every sample";

    private static string Number(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
