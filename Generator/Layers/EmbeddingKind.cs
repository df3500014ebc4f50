using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary>
/// <c>[Embedding(dim, Positions = …)]</c>: the model's token ids [T] become a sequence [T × dim], each id's row of a
/// learned table, plus a learned row per position.
/// </summary>
internal sealed class EmbeddingKind : LayerKind
{
    public override string AttributeName => "EmbeddingAttribute";

    public override Type SpecType => typeof(EmbeddingSpec);

    public override bool ReadsTokens => true;

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (positions, positionsLocation) = attribute.Named("Positions", (int)PositionEncoding.Learned);
        var (initializer, initializerLocation) = attribute.Named("Initializer", (int)Initializer.Auto);
        return new EmbeddingSpec(
            attribute.Constructor(0, 0), attribute.ArgumentLocation(0, "dim"), (PositionEncoding)positions, positionsLocation,
            (Initializer)initializer, initializerLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var embedding = (EmbeddingSpec)layer;
        var valid = IsPositive(embedding.Dim, embedding.DimLocation, $"Layer {input.Position} ([Embedding]): the width", diagnostics);
        if (!Enum.IsDefined(typeof(PositionEncoding), embedding.Positions))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.UndefinedEnumValue, embedding.PositionsLocation, $"Layer {input.Position} ([Embedding])", (int)embedding.Positions, nameof(PositionEncoding)));
            valid = false;
        }

        if (!Enum.IsDefined(typeof(Initializer), embedding.Initializer))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.UndefinedEnumValue, embedding.InitializerLocation, $"Layer {input.Position} ([Embedding])", (int)embedding.Initializer, nameof(Initializer)));
            valid = false;
        }

        if (input.Shape.Vocabulary == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmbeddingNeedsTokens, embedding.Location, input.Position, input.Shape));
            return null;
        }

        if (valid && (long)embedding.Dim * Math.Max(input.Shape.Vocabulary, input.Shape.Positions) > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, embedding.Location, $"Layer {input.Position} ([Embedding]): its table, {input.Shape.Vocabulary} tokens by {embedding.Dim},",
                (long)embedding.Dim * input.Shape.Vocabulary, MaxTensorSize));
            valid = false;
        }

        return valid ? Shape.Sequence(input.Shape.Positions, embedding.Dim) : null;
    }

    public override long Parameters(LayerSpec layer, Shape input)
    {
        var embedding = (EmbeddingSpec)layer;
        var rows = (long)input.Vocabulary + (embedding.Positions == PositionEncoding.Learned ? input.Positions : 0);
        return rows * embedding.Dim;
    }

    /// <summary>The token table, then the position table, in the parameters; only its outputs in the workspace.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var embedding = (EmbeddingSpec)layer.Layer;
        var (vocabulary, positions, dim) = (layer.Input.Vocabulary, layer.Input.Positions, embedding.Dim);
        var table = context.Parameters.Take(vocabulary * dim);
        var positionTable = embedding.Positions == PositionEncoding.Learned ? context.Parameters.Take(positions * dim) : -1;
        var initializer = embedding.Initializer == Initializer.Auto ? Initializer.SmallNormal : embedding.Initializer;
        return new EmbeddingPlan(context.Position, context.Next("embedding"), vocabulary, positions, dim, table, positionTable, context.OutputOffset, initializer);
    }
}

/// <summary>One token embedding of a plan: its table E [V × D] and, if learned, its position table P [T × D].</summary>
/// <param name="Index">1-based position among the embeddings (embedding_1 …).</param>
/// <param name="Vocabulary">V, the distinct token ids.</param>
/// <param name="Positions">T, the ids per sample.</param>
/// <param name="Dim">D, the values per position.</param>
/// <param name="TableOffset">Offset of E, row-major, in the parameter buffer.</param>
/// <param name="PositionsOffset">Offset of P, row-major, in the parameter buffer; −1 without it.</param>
/// <param name="Initializer">How E and P are drawn.</param>
internal sealed record EmbeddingPlan(
    int Position, int Index, int Vocabulary, int Positions, int Dim, int TableOffset, int PositionsOffset, int OutputOffset, Initializer Initializer)
    : LayerPlan(Position, Positions, Positions * Dim, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Embedding = "global::ModelGen.Kernels.Embedding";

    public override string Name => "embedding_" + Index;

    public override string Identifier => "Embedding" + Index;

    /// <summary>Whether it adds a learned row per position.</summary>
    public bool LearnsPositions => PositionsOffset >= 0;

    public override int ParameterCount => (Vocabulary + (LearnsPositions ? Positions : 0)) * Dim;

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, "Embedding", string.Empty, $"{Emitter.Count(Positions)} ids", Emitter.Count(Units), Emitter.Count(ParameterCount),
        $"table {Vocabulary}×{Dim}{(LearnsPositions ? $", positions {Positions}×{Dim}" : string.Empty)}",
    ];

    public override void WriteParameterLayout(SourceWriter writer)
    {
        writer.WriteLine($"private const int {Identifier}TokensOffset = {TableOffset}; // E [{Vocabulary}×{Dim}], row t for token id t");
        if (LearnsPositions)
        {
            writer.WriteLine($"private const int {Identifier}PositionsOffset = {PositionsOffset}; // P [{Positions}×{Dim}], row t added at position t");
        }
    }

    public override void WriteInitialization(SourceWriter writer)
    {
        var distribution = Initializer == Initializer.SmallNormal ? "N(0, 0.02²)" : Initializer.ToString();
        writer.WriteLine($"// {Name}: E{(LearnsPositions ? " and P" : string.Empty)} ~ {distribution}");
        writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Fill({Identifier}Tokens, global::ModelGen.Initializer.{Initializer}, fanIn: {Dim}, fanOut: {Dim}, ref random);");
        if (LearnsPositions)
        {
            writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Fill({Identifier}Positions, global::ModelGen.Initializer.{Initializer}, fanIn: {Dim}, fanOut: {Dim}, ref random);");
        }
    }

    public override void WriteAccessors(SourceWriter writer)
    {
        writer.WriteLine($"/// <summary>{Name} token table E [{Vocabulary}×{Dim}], row-major: row t is token id t's vector.</summary>");
        writer.WriteLine($"public {Span} {Identifier}Tokens => _parameters.Span.Slice({Identifier}TokensOffset, {Vocabulary * Dim});");
        writer.WriteLine();
        writer.WriteLine($"private {Span} {Identifier}TokenGradients => _gradients.Span.Slice({Identifier}TokensOffset, {Vocabulary * Dim});");
        writer.WriteLine();
        if (LearnsPositions)
        {
            writer.WriteLine($"/// <summary>{Name} position table P [{Positions}×{Dim}], row-major: row t is added at position t.</summary>");
            writer.WriteLine($"public {Span} {Identifier}Positions => _parameters.Span.Slice({Identifier}PositionsOffset, {Positions * Dim});");
            writer.WriteLine();
            writer.WriteLine($"private {Span} {Identifier}PositionGradients => _gradients.Span.Slice({Identifier}PositionsOffset, {Positions * Dim});");
            writer.WriteLine();
        }
    }

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        var tokens = $"batch * {Positions}";
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward: y[n, t] = E[id[n, t]]{(LearnsPositions ? " + P[t]" : string.Empty)}, [batch×{Positions}] ids → [batch×{Positions}×{Dim}].</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} ids, {Span} y, int batch)"))
        {
            writer.WriteLine($"var output = y.Slice(0, batch * {Units});");
            writer.WriteLine($"{Embedding}.Forward(ids.Slice(0, {tokens}), {Identifier}Tokens, {Dim}, output);");
            if (LearnsPositions)
            {
                writer.WriteLine($"{Embedding}.AddPositions(output, {Identifier}Positions);");
            }
        }

        // A tied head after it has written its part of ∂E already, in the same backward pass: the ids' rows add to it.
        var tied = context.Plan.Layers.OfType<TiedHeadPlan>().Any(head => head.Embedding == Identifier);
        writer.WriteLine();
        writer.WriteLine(tied
            ? $"/// <summary>{Name} backward: ∂E[id] += dy at every position, added to the tied head's part{(LearnsPositions ? "; ∂P[t] = Σₙ dy[n, t]" : string.Empty)}.</summary>"
            : $"/// <summary>{Name} backward: ∂E = 0, then ∂E[id] += dy at every position{(LearnsPositions ? "; ∂P[t] = Σₙ dy[n, t]" : string.Empty)}.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} ids, {ReadOnlySpan} dy, int batch)"))
        {
            writer.WriteLine($"{Embedding}.Backward(ids.Slice(0, {tokens}), dy, {Identifier}TokenGradients, {Dim}, accumulate: {Emitter.Bool(tied)});");
            if (LearnsPositions)
            {
                writer.WriteLine($"{Embedding}.PositionsBackward(dy, {Identifier}PositionGradients);");
            }
        }
    }

    public override bool Steps => true;

    /// <summary>Row t of its output: E[token] + P[t].</summary>
    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        writer.WriteLine($"{Identifier}Tokens.Slice(token * {Dim}, {Dim}).CopyTo({Row(context, Output, Units)});");
        if (LearnsPositions)
        {
            writer.WriteLine($"global::ModelGen.Kernels.Elementwise.Add({Row(context, Output, Units)}, {Identifier}Positions.Slice(position * {Dim}, {Dim}), {Row(context, Output, Units)});");
        }
    }

    /// <summary>Ids have no gradient: it writes only its tables'.</summary>
    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) =>
        $"{Identifier}Backward({input}, {dy}, batch);";

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>TokenEmbedding</c>, a module of an <c>nn.Embedding</c> called <c>tokens</c> and a parameter <c>positions</c>.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.AddClass(SequenceTorch.TokenEmbedding);
        torch.Add($"TokenEmbedding({Vocabulary}, {Dim}, {(LearnsPositions ? Positions : 0)})");
        torch.AddTensor(new PlannedTensor(torch.Prefix + "tokens.weight", Identifier + "TokensOffset", TableOffset, TorchEquivalent.Dims(Vocabulary, Dim)));
        if (LearnsPositions)
        {
            torch.AddTensor(new PlannedTensor(torch.Prefix + "positions", Identifier + "PositionsOffset", PositionsOffset, TorchEquivalent.Dims(Positions, Dim)));
        }

        torch.Flow = TorchFlow.Vector(Units);
    }

    public override string OnnxLayer(string tensors) => SequenceTorch.NoOnnx;
}

/// <summary>The spec of an embedding as declared.</summary>
internal sealed record EmbeddingSpec(
    int Dim, LocationInfo? DimLocation, PositionEncoding Positions, LocationInfo? PositionsLocation, Initializer Initializer, LocationInfo? InitializerLocation,
    LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "Embedding";
}
