using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Dropout(rate)]</c>: values zeroed at random while training.</summary>
internal sealed class DropoutKind : LayerKind
{
    public override string AttributeName => "DropoutAttribute";

    public override Type SpecType => typeof(DropoutSpec);

    public override LayerSpec? Read(AttributeReader attribute) =>
        new DropoutSpec(attribute.Constructor(0, float.NaN), attribute.ArgumentLocation(0, "rate"), attribute.Location);

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var dropout = (DropoutSpec)layer;
        if (!(dropout.Rate >= 0f && dropout.Rate < 1f))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DropoutRateOutOfRange, dropout.RateLocation, input.Position, dropout.Rate));
            return null;
        }

        return input.Shape;
    }

    /// <summary>Its mask after its outputs in the workspace.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context) =>
        new DropoutPlan(context.Position, context.Next("dropout"), layer.Input.Size, ((DropoutSpec)layer.Layer).Rate, context.OutputOffset, context.Workspace.Take(layer.Input.Size));
}

/// <summary>One dropout layer of a plan: output and mask in the workspace, no parameters.</summary>
/// <param name="Index">1-based position among the dropout layers (dropout_1 …).</param>
/// <param name="Rate">The probability of zeroing each value while training.</param>
/// <param name="MaskOffset">Offset of the mask (0 or 1 / (1 − rate) per value) in the workspace, per sample.</param>
internal sealed record DropoutPlan(int Position, int Index, int Size, float Rate, int OutputOffset, int MaskOffset)
    : LayerPlan(Position, Size, Size, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Kernel = "global::ModelGen.Kernels.Dropout";

    public override string Name => "dropout_" + Index;

    public override string Identifier => "Dropout" + Index;

    /// <summary>The rate as C# reads it back exactly, without the <c>f</c> suffix.</summary>
    public string RateLiteral => Rate.ToString("R", CultureInfo.InvariantCulture);

    public override bool TrainsDifferently => true;

    /// <summary>Outside training it hands its input on unchanged, except as the model's first layer (its input is the caller's read-only inputs) or last (predictions are read from the last layer's workspace).</summary>
    public override bool PassesInputThrough(ModelPlan plan) => Inputs[0] > 0 && Position < plan.Layers.Count;

    /// <summary>Outside training, where it is the identity, and where the input-gradient product above it applies its mask.</summary>
    public override bool PassesGradientOn(bool toInputs, EquatableArray<BackwardFusion> fusions) => toInputs || BackwardFusion.Absorbs(fusions, this);

    /// <summary>The span its forward writes: its workspace region, or outside training its input where it <see cref="PassesInputThrough"/>.</summary>
    public string OutputSpan(ModelPlan plan, string input)
    {
        var workspace = $"Workspace({Identifier}Output, {Units}, batch)";
        return PassesInputThrough(plan) ? $"training ? {workspace} : {input}" : workspace;
    }

    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        writer.WriteLine($"private const int {Identifier}Mask = {MaskOffset}; // {Name} mask of the last training step: 0 or 1 / (1 − rate)");
    }

    /// <summary>Its forward while training; outside training its output is its input span itself, a copy only where it cannot be.</summary>
    public override void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        var input = context.InputOf(this);
        writer.WriteLine($"var {Output} = {OutputSpan(context.Plan, input)};");
        context.WriteTrainingSplit(
            writer, this, $"{Identifier}Forward({input}, {Output}, batch);",
            PassesInputThrough(context.Plan) ? [] : [$"{input}.Slice(0, batch * {Units}).CopyTo({Output});"]);
    }

    /// <summary>It hands on the product it reads: a batch normalization after it may still fold into that product.</summary>
    public override void Quantize(QuantizedModelBuilder int8) => int8.PassOn(this);

    public override string[] RemarksRow(ModelPlan plan) =>
        [Name, "Dropout", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), "0", $"rate {Emitter.Float(Rate).TrimEnd('f')}, training only"];

    /// <summary>
    /// The passes that are not done elsewhere: the forward unless the dense layer below draws the mask in its product,
    /// the backward unless no layer before has parameters or the input gradient above applies the mask.
    /// </summary>
    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        if (!ForwardFusion.Absorbs(context.Plan, this))
        {
            writer.WriteLine();
            WriteForward(writer);
        }

        if (NeedsInputGradient && !BackwardFusion.Absorbs(context.Fusions, this))
        {
            writer.WriteLine();
            WriteBackward(writer);
        }
    }

    /// <summary>None where no layer before it has parameters: it has none itself, so there is nothing to propagate.</summary>
    public override string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) =>
        dx is null ? null : $"{Identifier}Backward({dy}, {dx}, batch);";

    public override string? SampleNormsCall(string input, string dy) => null;

    public override void AddTorch(TorchBuilder torch) => torch.Add($"nn.Dropout({TorchEquivalent.Float(Rate)})");

    public override string OnnxLayer(string tensors) => $"{OnnxEmitter.Layer}.Dropout()";

    /// <summary><c>LayerForward(x, y, batch)</c>, training only: y = x ⊙ mask with a freshly drawn mask.</summary>
    private void WriteForward(SourceWriter writer)
    {
        var size = Units;
        var rate = RateLiteral;
        writer.WriteLine($"/// <summary>{Name} forward while training: each value zeroed with probability {rate}, the others scaled by 1 / (1 − {rate}).</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"var mask = Workspace({Identifier}Mask, {size}, batch);");
            writer.WriteLine($"{Kernel}.Forward(x.Slice(0, batch * {size}), y, mask, rate: {rate}f, ref _trainingRandom);");
        }
    }

    /// <summary><c>LayerBackward(dy, dx, batch)</c>: dx = dy ⊙ mask.</summary>
    private void WriteBackward(SourceWriter writer)
    {
        writer.WriteLine($"/// <summary>{Name} backward: dx = dy ⊙ mask, the mask of the forward pass.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Kernel}.Backward(Workspace({Identifier}Mask, {Units}, batch), dy, dx);");
        }
    }
}
