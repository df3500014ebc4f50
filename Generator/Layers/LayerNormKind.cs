using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Layers;

/// <summary><c>[LayerNorm(Epsilon = …)]</c>: each sample normalized over all of its values, or on a sequence each position over its features.</summary>
internal sealed class LayerNormKind : LayerKind
{
    public override string AttributeName => "LayerNormAttribute";

    public override Type SpecType => typeof(LayerNormSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (epsilon, epsilonLocation) = attribute.Named("Epsilon", 1e-5f);
        return new LayerNormSpec(epsilon, epsilonLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var norm = (LayerNormSpec)layer;
        if (!IsValidEpsilon(norm.Epsilon, norm.EpsilonLocation, input.Position, norm.Kind, diagnostics))
        {
            return null;
        }

        if (input.Shape.Features < 2)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerNormNeedsTwoValues, norm.Location, input.Position, input.Shape.Features));
            return null;
        }

        return input.Shape;
    }

    public override long Parameters(LayerSpec layer, Shape input) => 2L * input.Features;

    /// <summary>γ and β in the parameters; x̂ and each row's 1/σ in the workspace (a row: the sample, or one position of it).</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var (size, positions) = (layer.Input.Features, layer.Input.Positions);
        var (gamma, beta) = (context.Parameters.Take(size), context.Parameters.Take(size));
        var (normalized, inverse) = (context.Workspace.Take(positions * size), context.Workspace.Take(positions));
        return new LayerNormPlan(
            context.Position, context.Next("layer_norm"), size, ((LayerNormSpec)layer.Layer).Epsilon, gamma, beta, context.OutputOffset, normalized, inverse, positions);
    }
}

/// <summary>One layer-normalization layer of a plan: γ and β in the parameters, x̂ and 1/σ kept in the workspace.</summary>
/// <param name="Index">1-based position among the layer-normalization layers (layer_norm_1 …).</param>
/// <param name="Size">Values per sample, normalized together.</param>
/// <param name="Epsilon">ε added to the variance.</param>
/// <param name="GammaOffset">Offset of γ [Size] in the parameter buffer; β [Size] follows at <paramref name="BetaOffset"/>.</param>
/// <param name="NormalizedOffset">Offset of x̂ in the workspace, per sample.</param>
/// <param name="InverseDeviationOffset">Offset of 1 / √(σ² + ε) in the workspace, one per row.</param>
/// <param name="Positions">Rows per sample: the positions of a sequence, each normalized on its own; 1 for a vector or an image.</param>
internal sealed record LayerNormPlan(
    int Position, int Index, int Size, float Epsilon, int GammaOffset, int BetaOffset, int OutputOffset, int NormalizedOffset, int InverseDeviationOffset,
    int Positions = 1)
    : LayerPlan(Position, Positions * Size, Positions * Size, OutputOffset), IScaleShiftPlan
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Normalization = "global::ModelGen.Kernels.Normalization";

    public override string Name => "layer_norm_" + Index;

    public override string Identifier => "LayerNorm" + Index;

    /// <summary>One γ and one β per value.</summary>
    public int Features => Size;

    public override int ParameterCount => 2 * Size;

    public override bool AccessorsAfterState => true;

    public override string[] RemarksRow(ModelPlan plan) =>
        [Name, "LayerNorm", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), Emitter.Count(ParameterCount),
            $"ε = {Epsilon.ToString("R", CultureInfo.InvariantCulture)}{(Positions > 1 ? $", each of {Positions} positions" : string.Empty)}"];

    public override void WriteParameterLayout(SourceWriter writer) => ScaleShiftLayout.WriteParameterLayout(writer, this);

    /// <summary>Its outputs, then x̂ and 1/σ, kept for backward.</summary>
    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        writer.WriteLine($"private const int {Identifier}Normalized = {NormalizedOffset}; // {Name} x̂, kept for backward");
        writer.WriteLine($"private const int {Identifier}InverseDeviation = {InverseDeviationOffset}; // {Name} 1 / √(σ² + ε), one per {(Positions > 1 ? "position" : "sample")}");
    }

    public override void WriteInitialization(SourceWriter writer)
    {
        writer.WriteLine($"// {Name}: γ = 1, β = 0");
        writer.WriteLine($"{Identifier}Gamma.Fill(1f);");
    }

    public override void WriteAccessors(SourceWriter writer)
    {
        ScaleShiftLayout.WriteAccessors(writer, this);
        ScaleShiftLayout.WriteGradientAccessors(writer, this);
    }

    /// <summary>γ and β stay in float: it normalizes each sample by its own statistics, which nothing before can absorb.</summary>
    public override void Quantize(QuantizedModelBuilder int8) => ScaleShiftLayout.KeepFloat(int8, this);

    public override bool Steps => Positions > 1;

    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        writer.WriteLine($"{Normalization}.LayerNormForward(");
        writer.WriteLine($"    {Row(context, context.InputOf(this), Units)}, {Row(context, Output, Units)}, {Row(context, $"Workspace({Identifier}Normalized, {Units}, 1)", Units)},");
        writer.WriteLine($"    Workspace({Identifier}InverseDeviation, {Positions}, 1).Slice(position, 1), {Identifier}Gamma, {Identifier}Beta, epsilon: {Emitter.Float(Epsilon)});");
    }

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        WriteForward(writer);
        writer.WriteLine();
        WriteBackward(writer);
    }

    /// <summary>Always called, for ∂L/∂γ and ∂L/∂β; an empty dx where no layer before needs it.</summary>
    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) =>
        $"{Identifier}Backward({dy}, {dx ?? "global::System.Span<float>.Empty"}, batch);";

    public override string SampleNormsCall(string input, string dy) =>
        $"{Emitter.Norms}.AddLayerNorm({dy}, Workspace({Identifier}Normalized, {Size}, batch), {Size}, sampleNorms);";

    /// <summary><c>nn.LayerNorm</c> over the sample's shape as PyTorch sees it; γ and β of an image are kept channels-last.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        var flow = torch.Flow;
        torch.Add($"nn.LayerNorm({(flow.Image ? $"[{flow.Channels}, {flow.Height}, {flow.Width}]" : TorchEquivalent.Int(Size))}, eps={TorchEquivalent.Float(Epsilon)})");
        var dimensions = flow.Image ? TorchEquivalent.Dims(flow.Channels, flow.Height, flow.Width) : TorchEquivalent.Dims(Size);
        var view = flow.Permuted ? TorchEquivalent.Dims(flow.Channels, flow.Height, flow.Width) : default;
        var axes = flow.Permuted ? TorchEquivalent.Dims(1, 2, 0) : default;
        torch.AddTensor(new PlannedTensor(torch.Prefix + "weight", Identifier + "GammaOffset", GammaOffset, dimensions) { View = view, StoredAxes = axes });
        torch.AddTensor(new PlannedTensor(torch.Prefix + "bias", Identifier + "BetaOffset", BetaOffset, dimensions) { View = view, StoredAxes = axes });
    }

    public override string OnnxLayer(string tensors) => $"{OnnxEmitter.Layer}.LayerNorm(\"{tensors}weight\", \"{tensors}bias\", {Emitter.Float(Epsilon)})";

    /// <summary><c>LayerForward(x, y, batch)</c>: y = γ ⊙ (x − μ) / √(σ² + ε) + β per sample, keeping x̂ and 1/σ.</summary>
    private void WriteForward(SourceWriter writer)
    {
        var size = Size;
        var epsilon = Epsilon.ToString("R", CultureInfo.InvariantCulture);
        var rows = Positions > 1 ? $"position's {size} values, at each of {Positions} positions" : $"sample's {size} values";
        writer.WriteLine($"/// <summary>{Name} forward: y = γ ⊙ (x − μ) / √(σ² + {epsilon}) + β over each {rows}.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Normalization}.LayerNormForward(");
            writer.WriteLine($"    x.Slice(0, batch * {Units}), y, Workspace({Identifier}Normalized, {Units}, batch), Workspace({Identifier}InverseDeviation, {Positions}, batch),");
            writer.WriteLine($"    {Identifier}Gamma, {Identifier}Beta, epsilon: {epsilon}f);");
        }
    }

    /// <summary><c>LayerBackward(dy, dx, batch)</c>: ∂L/∂γ, ∂L/∂β, and dx unless it is empty (nothing before needs it).</summary>
    private void WriteBackward(SourceWriter writer)
    {
        writer.WriteLine($"/// <summary>{Name} backward: ∂L/∂γ = Σ dy ⊙ x̂, ∂L/∂β = Σ dy, dx = (g − mean g − x̂·mean(g ⊙ x̂)) / σ with g = dy ⊙ γ.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Normalization}.LayerNormBackward(");
            writer.WriteLine($"    dy, Workspace({Identifier}Normalized, {Units}, batch), Workspace({Identifier}InverseDeviation, {Positions}, batch), {Identifier}Gamma,");
            writer.WriteLine($"    {Identifier}GammaGradients, {Identifier}BetaGradients, dx);");
        }
    }
}
