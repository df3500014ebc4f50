using System;
using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[SequencePool(pooling)]</c>: a sequence [T × F] pooled into one vector [F], by the mean or the last position.</summary>
internal sealed class SequencePoolKind : LayerKind
{
    public override string AttributeName => "SequencePoolAttribute";

    public override Type SpecType => typeof(SequencePoolSpec);

    public override LayerSpec? Read(AttributeReader attribute) =>
        new SequencePoolSpec((SequencePooling)attribute.Constructor(0, (int)SequencePooling.Mean), attribute.ArgumentLocation(0, "pooling"), attribute.Location);

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var pool = (SequencePoolSpec)layer;
        if (!Enum.IsDefined(typeof(SequencePooling), pool.Pooling))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.UndefinedEnumValue, pool.PoolingLocation, $"Layer {input.Position} ([SequencePool])", (int)pool.Pooling, nameof(SequencePooling)));
            return null;
        }

        return HasSequenceShape(layer, input, diagnostics) ? Shape.Vector(input.Shape.Features) : null;
    }

    public override LayerPlan Plan(CheckedLayer layer, PlanContext context) =>
        new SequencePoolPlan(
            context.Position, context.Next("sequence_pool"), ((SequencePoolSpec)layer.Layer).Pooling, layer.Input.Positions, layer.Input.Features, context.OutputOffset);
}

/// <summary>One sequence pooling of a plan.</summary>
/// <param name="Index">1-based position among the sequence poolings.</param>
/// <param name="Pooling">Mean or last.</param>
/// <param name="Positions">T.</param>
/// <param name="Features">F, kept.</param>
internal sealed record SequencePoolPlan(int Position, int Index, SequencePooling Pooling, int Positions, int Features, int OutputOffset)
    : LayerPlan(Position, Positions * Features, Features, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Kernel = "global::ModelGen.Kernels.SequencePool";

    public override string Name => "sequence_pool_" + Index;

    public override string Identifier => "SequencePool" + Index;

    public override string[] RemarksRow(ModelPlan plan) =>
        [Name, "SequencePool", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), "0", Pooling == SequencePooling.Mean ? $"mean of {Positions} positions" : "last position"];

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        var (what, back) = Pooling == SequencePooling.Mean
            ? ("the mean of each sample's positions", "dy / T at every position")
            : ("each sample's last position", "dy at the last position, 0 elsewhere");
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward: {what}, [batch×{Positions}×{Features}] → [batch×{Features}].</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Kernel}.{Pooling}(x.Slice(0, batch * {InputSize}), y.Slice(0, batch * {Units}), {Positions}, {Features});");
        }

        if (!context.HasBackwardCall(this))
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} backward: dx = {back}.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Kernel}.{Pooling}Backward(dy.Slice(0, batch * {Units}), dx.Slice(0, batch * {InputSize}), {Positions}, {Features});");
        }
    }

    public override string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) =>
        dx is null ? null : $"{Identifier}Backward({dy}, {dx}, batch);";

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>MeanPool</c> or <c>LastPosition</c>, which hold no tensor.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.AddClass(SequenceTorch.Pooling);
        torch.Add(Pooling == SequencePooling.Mean ? "SequencePool(\"mean\")" : "SequencePool(\"last\")");
        torch.Flow = TorchFlow.Vector(Units);
    }

    public override string OnnxLayer(string tensors) => SequenceTorch.NoOnnx;
}

/// <summary>The spec of a sequence pooling as declared.</summary>
internal sealed record SequencePoolSpec(SequencePooling Pooling, LocationInfo? PoolingLocation, LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "SequencePool";
}
