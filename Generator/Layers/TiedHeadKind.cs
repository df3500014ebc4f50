using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[TiedHead]</c>: logits over the vocabulary at every position, with the embedding's table as weights.</summary>
internal sealed class TiedHeadKind : LayerKind
{
    public override string AttributeName => "TiedHeadAttribute";

    public override Type SpecType => typeof(TiedHeadSpec);

    public override LayerSpec? Read(AttributeReader attribute) => new TiedHeadSpec(attribute.Location);

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        if (!HasSequenceShape(layer, input, diagnostics))
        {
            return null;
        }

        if (input.Before?.FirstOrDefault(l => l.Layer is EmbeddingSpec) is not { } embedding)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.TiedHeadMismatch, layer.Location, input.Position, "shares an embedding's table, but no [Embedding] comes before it: declare one, or use [Dense(vocabulary)] for a head of its own"));
            return null;
        }

        var width = embedding.Output.Features;
        if (input.Shape.Features != width)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.TiedHeadMismatch, layer.Location, input.Position,
                $"receives {input.Shape.Features} features per position, but the embedding's table has rows of {width}: the sequence must have the embedding's width here"));
            return null;
        }

        return Shape.Sequence(input.Shape.Positions, embedding.Input.Vocabulary);
    }

    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var embedding = context.Planned.OfType<EmbeddingPlan>().First();
        return new TiedHeadPlan(
            context.Position, context.Next("tied_head"), layer.Input.Positions, embedding.Dim, embedding.Vocabulary, embedding.Identifier, context.OutputOffset);
    }
}

/// <summary>A tied output head of a plan: logits = x·Eᵀ with E the embedding's table; no parameters of its own.</summary>
/// <param name="Index">1-based position among the tied heads.</param>
/// <param name="Positions">T, the positions of the sequence.</param>
/// <param name="Dim">D, the width it reads.</param>
/// <param name="Vocabulary">V, the logits per position.</param>
/// <param name="Embedding">The identifier of the embedding whose table it shares.</param>
internal sealed record TiedHeadPlan(int Position, int Index, int Positions, int Dim, int Vocabulary, string Embedding, int OutputOffset)
    : LayerPlan(Position, Positions * Dim, Positions * Vocabulary, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Gemm = "global::ModelGen.Kernels.Gemm";

    public override string Name => "tied_head_" + Index;

    public override string Identifier => "TiedHead" + Index;

    public override string[] RemarksRow(ModelPlan plan) =>
        [Name, "TiedHead", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), "0", $"GEMM with {Embedding}'s table, {Positions} positions"];

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        var label = $"batch·{Positions}";
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward: logits = x·Eᵀ at every position, E = {Embedding}Tokens, [{label}×{Dim}]·[{Dim}×{Vocabulary}].</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"var rows = batch * {Positions};");
            writer.WriteLine($"{Gemm}.MultiplyTransposed(x.Slice(0, rows * {Dim}), {Embedding}Tokens, y.Slice(0, rows * {Vocabulary}), rows, {Vocabulary}, {Dim});");
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} backward: ∂E = dyᵀ·x, written first ({Embedding}'s backward adds its part), and dx = dy·E.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} x, {ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"var rows = batch * {Positions};");
            writer.WriteLine($"// ∂E = dyᵀ·x: [{Vocabulary}×{label}]·[{label}×{Dim}]");
            writer.WriteLine($"{Gemm}.MultiplyTransposedA(dy.Slice(0, rows * {Vocabulary}), x.Slice(0, rows * {Dim}), {Embedding}TokenGradients, {Vocabulary}, {Dim}, rows);");
            using (writer.OpenBlock("if (!dx.IsEmpty)"))
            {
                writer.WriteLine($"// dx = dy·E: [{label}×{Vocabulary}]·[{Vocabulary}×{Dim}]");
                writer.WriteLine($"{Gemm}.Multiply(dy.Slice(0, rows * {Vocabulary}), {Embedding}Tokens, dx.Slice(0, rows * {Dim}), rows, {Dim}, {Vocabulary});");
            }
        }
    }

    public override bool Steps => true;

    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        writer.WriteLine($"{Gemm}.MultiplyTransposed({Row(context, context.InputOf(this), InputSize)}, {Embedding}Tokens, {Row(context, Output, Units)}, 1, {Vocabulary}, {Dim});");
    }

    /// <summary>Always called: ∂E is its to write first, even when no layer before needs dx.</summary>
    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        reads.Add(input);
        return $"{Identifier}Backward({input}, {dy}, {dx ?? "global::System.Span<float>.Empty"}, batch);";
    }

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>TiedHead</c>, which holds no tensor: the embedding's is its weight.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.AddClass(SequenceTorch.TiedHead);
        torch.Add("TiedHead()");
        torch.Flow = TorchFlow.Vector(Units);
    }

    public override string OnnxLayer(string tensors) => SequenceTorch.NoOnnx;
}

/// <summary>The spec of a tied head as declared.</summary>
internal sealed record TiedHeadSpec(LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "TiedHead";
}
