using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Layers;

/// <summary>
/// The learned scale γ and shift β of a normalization layer (<see cref="IScaleShiftPlan"/>), one of each per feature,
/// as the generated class lays them out, exposes them and, in a quantized model, keeps them in float; each such kind's
/// plan writes them through these, around what is its own (batch normalization's running statistics).
/// </summary>
internal static class ScaleShiftLayout
{
    private const string Span = "global::System.Span<float>";

    /// <summary>The offsets of γ and β in the parameter buffer.</summary>
    public static void WriteParameterLayout(SourceWriter writer, IScaleShiftPlan norm)
    {
        writer.WriteLine($"private const int {norm.Identifier}GammaOffset = {norm.GammaOffset}; // γ [{norm.Features}]");
        writer.WriteLine($"private const int {norm.Identifier}BetaOffset = {norm.BetaOffset}; // β [{norm.Features}]");
    }

    /// <summary>γ and β, public.</summary>
    public static void WriteAccessors(SourceWriter writer, IScaleShiftPlan norm)
    {
        writer.WriteLine($"/// <summary>{norm.Name} scale γ [{norm.Features}].</summary>");
        writer.WriteLine($"public {Span} {norm.Identifier}Gamma => _parameters.Span.Slice({norm.Identifier}GammaOffset, {norm.Features});");
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{norm.Name} shift β [{norm.Features}].</summary>");
        writer.WriteLine($"public {Span} {norm.Identifier}Beta => _parameters.Span.Slice({norm.Identifier}BetaOffset, {norm.Features});");
        writer.WriteLine();
    }

    /// <summary>The gradients of γ and β, private.</summary>
    public static void WriteGradientAccessors(SourceWriter writer, IScaleShiftPlan norm)
    {
        writer.WriteLine($"private {Span} {norm.Identifier}GammaGradients => _gradients.Span.Slice({norm.Identifier}GammaOffset, {norm.Features});");
        writer.WriteLine();
        writer.WriteLine($"private {Span} {norm.Identifier}BetaGradients => _gradients.Span.Slice({norm.Identifier}BetaOffset, {norm.Features});");
        writer.WriteLine();
    }

    /// <summary>γ and β kept in float by a quantized model, named after the layer's tensors (<c>weight</c>, <c>bias</c>).</summary>
    public static void KeepFloat<TNorm>(QuantizedModelBuilder int8, TNorm norm)
        where TNorm : LayerPlan, IScaleShiftPlan
    {
        int8.KeepFloat(norm, "weight", "γ", "Gamma", norm.GammaOffset, norm.Features);
        int8.KeepFloat(norm, "bias", "β", "Beta", norm.BetaOffset, norm.Features);
    }
}
