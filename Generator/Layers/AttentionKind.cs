using System;
using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Attention(heads, Causal = …)]</c>: multi-head self-attention on a sequence [T × D], with its input and output projections.</summary>
internal sealed class AttentionKind : LayerKind
{
    public override string AttributeName => "AttentionAttribute";

    public override Type SpecType => typeof(AttentionSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (causal, _) = attribute.Named("Causal", true);
        var (initializer, initializerLocation) = attribute.Named("Initializer", (int)Initializer.Auto);
        return new AttentionSpec(attribute.Constructor(0, 0), attribute.ArgumentLocation(0, "heads"), causal, (Initializer)initializer, initializerLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var attention = (AttentionSpec)layer;
        if (!IsPositive(attention.Heads, attention.HeadsLocation, $"Layer {input.Position} ([Attention]): the number of heads", diagnostics)
            || !HasSequenceShape(layer, input, diagnostics))
        {
            return null;
        }

        if (!Enum.IsDefined(typeof(Initializer), attention.Initializer))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.UndefinedEnumValue, attention.InitializerLocation, $"Layer {input.Position} ([Attention])", (int)attention.Initializer, nameof(Initializer)));
            return null;
        }

        var width = input.Shape.Features;
        if (width % attention.Heads != 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HeadsDoNotDivideWidth, attention.HeadsLocation, input.Position, attention.Heads, width));
            return null;
        }

        if (4L * width * width > MaxTensorSize || 3L * width * input.Shape.Positions > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, attention.Location, $"Layer {input.Position} ([Attention]): its projections, 4 × {width}×{width},", 4L * width * width, MaxTensorSize));
            return null;
        }

        return input.Shape;
    }

    /// <summary>
    /// Scratch floats per sample for the runtime's attention kernel: it works on at most one (sample, head) pair per
    /// part, each part needing the padded positions × (2·dₕ + 2·64 + 1) floats (keys transposed, a tile of scores and
    /// sums), so H parts per sample always suffice. The kernel checks the length it is given.
    /// </summary>
    private static int ScratchPerSample(int positions, int headSize, int heads) => heads * ((positions + 15) / 16 * 16) * ((2 * headSize) + (2 * 64) + 1);

    public override long Parameters(LayerSpec layer, Shape input) => (4L * input.Features * input.Features) + (4L * input.Features);

    /// <summary>
    /// W_qkv, b_qkv, W_o, b_o in the parameters; in the workspace q | k | v, the heads' outputs, each row's log-sum-exp,
    /// the kernel's scratch, and the two gradients its backward pass passes between its steps.
    /// </summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var attention = (AttentionSpec)layer.Layer;
        var (positions, dim, heads) = (layer.Input.Positions, layer.Input.Features, attention.Heads);
        var qkvWeights = context.Parameters.Take(dim * 3 * dim);
        var qkvBias = context.Parameters.Take(3 * dim);
        var outputWeights = context.Parameters.Take(dim * dim);
        var outputBias = context.Parameters.Take(dim);
        var qkv = context.Workspace.Take(positions * 3 * dim);
        var headsOutput = context.Workspace.Take(positions * dim);
        var logSumExp = context.Workspace.Take(heads * positions);
        var scratchLength = ScratchPerSample(positions, dim / heads, heads);
        var scratch = context.Workspace.Take(scratchLength);
        var headsGradient = context.Workspace.Take(positions * dim);
        var qkvGradient = context.Workspace.Take(positions * 3 * dim);
        var initializer = attention.Initializer == Initializer.Auto ? Initializer.SmallNormal : attention.Initializer;
        return new AttentionPlan(context.Position, context.Next("attention"), positions, dim, heads, attention.Causal, initializer, context.OutputOffset)
        {
            QkvWeightsOffset = qkvWeights, QkvBiasOffset = qkvBias, OutputWeightsOffset = outputWeights, OutputBiasOffset = outputBias,
            QkvOffset = qkv, HeadsOffset = headsOutput, LogSumExpOffset = logSumExp, ScratchOffset = scratch, ScratchLength = scratchLength,
            HeadsGradientOffset = headsGradient, QkvGradientOffset = qkvGradient,
        };
    }
}

/// <summary>One self-attention layer of a plan.</summary>
/// <param name="Index">1-based position among the attention layers (attention_1 …).</param>
/// <param name="Positions">T.</param>
/// <param name="Dim">D, the width in and out.</param>
/// <param name="Heads">H; each head has D / H columns.</param>
/// <param name="Causal">Whether position t sees only positions ≤ t.</param>
/// <param name="Initializer">How W_qkv and W_o are drawn.</param>
internal sealed record AttentionPlan(int Position, int Index, int Positions, int Dim, int Heads, bool Causal, Initializer Initializer, int OutputOffset)
    : LayerPlan(Position, Positions * Dim, Positions * Dim, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Gemm = "global::ModelGen.Kernels.Gemm";
    private const string Kernel = "global::ModelGen.Kernels.Attention";
    private const string Reductions = "global::ModelGen.Kernels.Reductions";

    public int QkvWeightsOffset { get; init; }

    public int QkvBiasOffset { get; init; }

    public int OutputWeightsOffset { get; init; }

    public int OutputBiasOffset { get; init; }

    public int QkvOffset { get; init; }

    public int HeadsOffset { get; init; }

    public int LogSumExpOffset { get; init; }

    public int ScratchOffset { get; init; }

    /// <summary>Floats of the kernel's scratch per sample: its need for one sample, which covers a batch's share.</summary>
    public int ScratchLength { get; init; }

    public int HeadsGradientOffset { get; init; }

    public int QkvGradientOffset { get; init; }

    public override string Name => "attention_" + Index;

    public override string Identifier => "Attention" + Index;

    public override int ParameterCount => (4 * Dim * Dim) + (4 * Dim);

    private string Mask => Causal ? "causal" : "no mask";

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, "Attention", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), Emitter.Count(ParameterCount),
        $"{Heads} heads of {Dim / Heads}, {Mask}, {Positions} positions",
    ];

    public override void WriteParameterLayout(SourceWriter writer)
    {
        writer.WriteLine($"private const int {Identifier}QkvWeightsOffset = {QkvWeightsOffset}; // W_qkv [{Dim}×{3 * Dim}]: queries, keys, values");
        writer.WriteLine($"private const int {Identifier}QkvBiasOffset = {QkvBiasOffset}; // b_qkv [{3 * Dim}]");
        writer.WriteLine($"private const int {Identifier}OutputWeightsOffset = {OutputWeightsOffset}; // W_o [{Dim}×{Dim}]");
        writer.WriteLine($"private const int {Identifier}OutputBiasOffset = {OutputBiasOffset}; // b_o [{Dim}]");
    }

    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        writer.WriteLine($"private const int {Identifier}Qkv = {QkvOffset}; // {Name} q | k | v, {3 * Dim} per position");
        writer.WriteLine($"private const int {Identifier}Heads = {HeadsOffset}; // {Name} heads' outputs before W_o, {Dim} per position");
        writer.WriteLine($"private const int {Identifier}LogSumExp = {LogSumExpOffset}; // {Name} log Σ exp of each row of scores, {Heads}×{Positions} per sample");
        writer.WriteLine($"private const int {Identifier}Scratch = {ScratchOffset}; // {Name} the kernel's tiles, {ScratchLength} per sample");
        writer.WriteLine($"private const int {Identifier}HeadsGradient = {HeadsGradientOffset}; // {Name} ∂L/∂(heads' outputs), in backward");
        writer.WriteLine($"private const int {Identifier}QkvGradient = {QkvGradientOffset}; // {Name} ∂L/∂(q | k | v), in backward");
    }

    public override void WriteInitialization(SourceWriter writer)
    {
        var distribution = Initializer == Initializer.SmallNormal ? "N(0, 0.02²)" : Initializer.ToString();
        writer.WriteLine($"// {Name}: W_qkv and W_o ~ {distribution}; biases 0");
        writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Fill({Identifier}QkvWeights, global::ModelGen.Initializer.{Initializer}, fanIn: {Dim}, fanOut: {3 * Dim}, ref random);");
        writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Fill({Identifier}OutputWeights, global::ModelGen.Initializer.{Initializer}, fanIn: {Dim}, fanOut: {Dim}, ref random);");
    }

    public override void WriteAccessors(SourceWriter writer)
    {
        Accessor(writer, "QkvWeights", "QkvWeightGradients", $"W_qkv [{Dim}×{3 * Dim}], row-major: row i holds input i's weight to every query, key and value", Dim * 3 * Dim);
        Accessor(writer, "QkvBias", "QkvBiasGradients", $"b_qkv [{3 * Dim}]", 3 * Dim);
        Accessor(writer, "OutputWeights", "OutputWeightGradients", $"W_o [{Dim}×{Dim}], row-major", Dim * Dim);
        Accessor(writer, "OutputBias", "OutputBiasGradients", $"b_o [{Dim}]", Dim);
    }

    private void Accessor(SourceWriter writer, string name, string gradient, string what, int length)
    {
        var offset = $"{Identifier}{name}Offset";
        writer.WriteLine($"/// <summary>{Name} {what}.</summary>");
        writer.WriteLine($"public {Span} {Identifier}{name} => _parameters.Span.Slice({offset}, {length});");
        writer.WriteLine();
        writer.WriteLine($"private {Span} {Identifier}{gradient} => _gradients.Span.Slice({offset}, {length});");
        writer.WriteLine();
    }

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        var (d, t, h) = (Dim, Positions, Heads);
        var label = $"batch·{t}";
        var shape = $"batch, {t}, {d}, {h}, causal: {Emitter.Bool(Causal)}";
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward: q | k | v = x·W_qkv + b_qkv; each of {h} heads softmax(q·kᵀ / √{d / h}{(Causal ? " + causal mask" : string.Empty)})·v; y = heads·W_o + b_o.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"var rows = batch * {t};");
            writer.WriteLine($"var qkv = Workspace({Identifier}Qkv, {t * 3 * d}, batch);");
            writer.WriteLine($"var heads = Workspace({Identifier}Heads, {t * d}, batch);");
            writer.WriteLine($"// q | k | v = x·W_qkv + b_qkv: [{label}×{d}]·[{d}×{3 * d}]");
            writer.WriteLine($"{Gemm}.Multiply(x.Slice(0, rows * {d}), {Identifier}QkvWeights, qkv, rows, {3 * d}, {d}, {Identifier}QkvBias);");
            writer.WriteLine("// the heads, their scores never stored whole: each row's log Σ exp is kept for backward");
            writer.WriteLine($"{Kernel}.Forward(qkv, heads, Workspace({Identifier}LogSumExp, {h * t}, batch), Workspace({Identifier}Scratch, {ScratchLength}, batch), {shape});");
            writer.WriteLine($"// y = heads·W_o + b_o: [{label}×{d}]·[{d}×{d}]");
            writer.WriteLine($"{Gemm}.Multiply(heads, {Identifier}OutputWeights, y.Slice(0, rows * {d}), rows, {d}, {d}, {Identifier}OutputBias);");
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} backward: through W_o, the heads (scores recomputed from the kept log Σ exp), then W_qkv; dx unless it is empty.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} x, {ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"var rows = batch * {t};");
            writer.WriteLine($"var qkv = Workspace({Identifier}Qkv, {t * 3 * d}, batch);");
            writer.WriteLine($"var heads = Workspace({Identifier}Heads, {t * d}, batch);");
            writer.WriteLine($"var headsGradient = Workspace({Identifier}HeadsGradient, {t * d}, batch);");
            writer.WriteLine($"var qkvGradient = Workspace({Identifier}QkvGradient, {t * 3 * d}, batch);");
            writer.WriteLine($"dy = dy.Slice(0, rows * {d});");
            writer.WriteLine($"// ∂L/∂W_o = headsᵀ·dy, ∂L/∂b_o = Σ dy, ∂L/∂heads = dy·W_oᵀ");
            writer.WriteLine($"{Gemm}.MultiplyTransposedA(heads, dy, {Identifier}OutputWeightGradients, {d}, {d}, rows);");
            writer.WriteLine($"{Reductions}.ColumnSums(dy, {Identifier}OutputBiasGradients);");
            writer.WriteLine($"{Gemm}.MultiplyTransposed(dy, {Identifier}OutputWeights, headsGradient, rows, {d}, {d});");
            writer.WriteLine("// ∂L/∂(q | k | v) through the softmax and the two products of each head");
            writer.WriteLine($"{Kernel}.Backward(qkv, heads, Workspace({Identifier}LogSumExp, {h * t}, batch), headsGradient, qkvGradient, Workspace({Identifier}Scratch, {ScratchLength}, batch), {shape});");
            writer.WriteLine($"// ∂L/∂W_qkv = xᵀ·∂qkv, ∂L/∂b_qkv = Σ ∂qkv, dx = ∂qkv·W_qkvᵀ");
            writer.WriteLine($"{Gemm}.MultiplyTransposedA(x.Slice(0, rows * {d}), qkvGradient, {Identifier}QkvWeightGradients, {d}, {3 * d}, rows);");
            writer.WriteLine($"{Reductions}.ColumnSums(qkvGradient, {Identifier}QkvBiasGradients);");
            using (writer.OpenBlock("if (!dx.IsEmpty)"))
            {
                writer.WriteLine($"{Gemm}.MultiplyTransposed(qkvGradient, {Identifier}QkvWeights, dx.Slice(0, rows * {d}), rows, {d}, {3 * d});");
            }
        }
    }

    public override bool Steps => Causal;

    /// <summary>Its row: q | k | v of the new position, whose keys and values join the cache, then the heads over positions 0 … t and W_o.</summary>
    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        var (d, t) = (Dim, Positions);
        var (qkv, heads) = ($"attention{Index}Qkv", $"attention{Index}Heads");
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        writer.WriteLine($"var {qkv} = {Row(context, $"Workspace({Identifier}Qkv, {t * 3 * d}, 1)", t * 3 * d)};");
        writer.WriteLine($"var {heads} = {Row(context, $"Workspace({Identifier}Heads, {t * d}, 1)", t * d)};");
        writer.WriteLine($"{Gemm}.Multiply({Row(context, context.InputOf(this), InputSize)}, {Identifier}QkvWeights, {qkv}, 1, {3 * d}, {d}, {Identifier}QkvBias);");
        writer.WriteLine($"{Kernel}.Decode({qkv}, {CacheField}.Keys, {CacheField}.Values, {heads}, 1, {d}, {Heads}, position, {t});");
        writer.WriteLine($"{Gemm}.Multiply({heads}, {Identifier}OutputWeights, {Row(context, Output, Units)}, 1, {d}, {d}, {Identifier}OutputBias);");
    }

    /// <summary>The field that holds its key and value caches for generation, made on the first <c>Generate</c>.</summary>
    public string CacheField => $"_attention{Index}Cache";

    /// <summary>The cache's allocation, for the first <c>Generate</c>.</summary>
    public string CacheAllocation =>
        $"{CacheField} = (new float[{Kernel}.KeyCacheLength(1, {Dim}, {Positions})], new float[{Kernel}.ValueCacheLength(1, {Dim}, {Positions})]);";

    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        reads.Add(input);
        return $"{Identifier}Backward({input}, {dy}, {dx ?? "global::System.Span<float>.Empty"}, batch);";
    }

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>SelfAttention</c> with two <c>nn.Linear</c>, <c>qkv</c> and <c>proj</c>, whose weights PyTorch keeps [out, in].</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.AddClass(SequenceTorch.SelfAttention);
        torch.Add($"SelfAttention({Dim}, {Heads}, causal={(Causal ? "True" : "False")})");
        var prefix = torch.Prefix;
        torch.AddTensor(new PlannedTensor(prefix + "qkv.weight", Identifier + "QkvWeightsOffset", QkvWeightsOffset, TorchEquivalent.Dims(3 * Dim, Dim)) { StoredAxes = TorchEquivalent.Dims(1, 0) });
        torch.AddTensor(new PlannedTensor(prefix + "qkv.bias", Identifier + "QkvBiasOffset", QkvBiasOffset, TorchEquivalent.Dims(3 * Dim)));
        torch.AddTensor(new PlannedTensor(prefix + "proj.weight", Identifier + "OutputWeightsOffset", OutputWeightsOffset, TorchEquivalent.Dims(Dim, Dim)) { StoredAxes = TorchEquivalent.Dims(1, 0) });
        torch.AddTensor(new PlannedTensor(prefix + "proj.bias", Identifier + "OutputBiasOffset", OutputBiasOffset, TorchEquivalent.Dims(Dim)));
        torch.Flow = TorchFlow.Vector(Units);
    }

    public override string OnnxLayer(string tensors) => SequenceTorch.NoOnnx;
}

/// <summary>The spec of a self-attention layer as declared.</summary>
internal sealed record AttentionSpec(int Heads, LocationInfo? HeadsLocation, bool Causal, Initializer Initializer, LocationInfo? InitializerLocation, LocationInfo? Location)
    : LayerSpec(Location)
{
    public override string Kind => "Attention";
}
