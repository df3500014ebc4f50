using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Lstm(hidden)]</c> and <c>[Gru(hidden)]</c>: a recurrent layer over a sequence, PyTorch's gate equations and order.</summary>
internal sealed class RecurrentKind(bool gru) : LayerKind
{
    public override string AttributeName => gru ? "GruAttribute" : "LstmAttribute";

    public override Type SpecType => gru ? typeof(GruSpec) : typeof(LstmSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (hidden, location) = (attribute.Constructor(0, 0), attribute.ArgumentLocation(0, "hidden"));
        var sequences = attribute.Named("ReturnSequences", true).Value;
        return gru ? new GruSpec(hidden, location, sequences, attribute.Location) : new LstmSpec(hidden, location, sequences, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var recurrent = (RecurrentSpec)layer;
        if (!IsPositive(recurrent.Hidden, recurrent.HiddenLocation, $"Layer {input.Position} ([{recurrent.Kind}]): the hidden size", diagnostics)
            || !HasSequenceShape(layer, input, diagnostics))
        {
            return null;
        }

        var gates = Gates(recurrent);
        if ((long)gates * recurrent.Hidden * (input.Shape.Features + recurrent.Hidden) > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, recurrent.Location, $"Layer {input.Position} ([{recurrent.Kind}]): its weights",
                (long)gates * recurrent.Hidden * (input.Shape.Features + recurrent.Hidden), MaxTensorSize));
            return null;
        }

        return recurrent.ReturnSequences ? Shape.Sequence(input.Shape.Positions, recurrent.Hidden) : Shape.Vector(recurrent.Hidden);
    }

    public override long Parameters(LayerSpec layer, Shape input)
    {
        var recurrent = (RecurrentSpec)layer;
        return (long)Gates(recurrent) * recurrent.Hidden * (input.Features + recurrent.Hidden + 2);
    }

    /// <summary>weight_ih, weight_hh, bias_ih, bias_hh in the parameters; its training workspace is a buffer of its own, sized by the batch.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var recurrent = (RecurrentSpec)layer.Layer;
        var (positions, inputs, hidden, gates) = (layer.Input.Positions, layer.Input.Features, recurrent.Hidden, Gates(recurrent));
        var inputWeights = context.Parameters.Take(gates * hidden * inputs);
        var hiddenWeights = context.Parameters.Take(gates * hidden * hidden);
        var inputBias = context.Parameters.Take(gates * hidden);
        var hiddenBias = context.Parameters.Take(gates * hidden);
        return new RecurrentPlan(
            context.Position, context.Next(gru ? "gru" : "lstm"), gru, positions, inputs, hidden, recurrent.ReturnSequences, context.OutputOffset,
            inputWeights, hiddenWeights, inputBias, hiddenBias);
    }

    private static int Gates(RecurrentSpec layer) => layer is GruSpec ? 3 : 4;
}

/// <summary>One LSTM or GRU layer of a plan.</summary>
/// <param name="Index">1-based position among the layers of its kind (lstm_1 …, gru_1 …).</param>
/// <param name="IsGru">A GRU (3 gates), else an LSTM (4).</param>
/// <param name="Positions">T, the steps.</param>
/// <param name="Features">I, the features per step.</param>
/// <param name="Hidden">H.</param>
/// <param name="ReturnSequences">Whether it outputs every step's h, else the last.</param>
internal sealed record RecurrentPlan(
    int Position, int Index, bool IsGru, int Positions, int Features, int Hidden, bool ReturnSequences, int OutputOffset,
    int InputWeightsOffset, int HiddenWeightsOffset, int InputBiasOffset, int HiddenBiasOffset)
    : LayerPlan(Position, Positions * Features, ReturnSequences ? Positions * Hidden : Hidden, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Kernel = "global::ModelGen.Kernels.Recurrent";

    private string Cell => IsGru ? "Gru" : "Lstm";

    private int Gates => IsGru ? 3 : 4;

    public override string Name => (IsGru ? "gru_" : "lstm_") + Index;

    public override string Identifier => Cell + Index;

    public override int ParameterCount => Gates * Hidden * (Features + Hidden + 2);

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, Cell.ToUpperInvariant(), string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), Emitter.Count(ParameterCount),
        $"{Positions} steps, {(ReturnSequences ? "every h" : "last h")}",
    ];

    public override void WriteParameterLayout(SourceWriter writer)
    {
        var rows = Gates * Hidden;
        writer.WriteLine($"private const int {Identifier}InputWeightsOffset = {InputWeightsOffset}; // weight_ih [{rows}×{Features}], gates {(IsGru ? "r, z, n" : "i, f, g, o")}");
        writer.WriteLine($"private const int {Identifier}HiddenWeightsOffset = {HiddenWeightsOffset}; // weight_hh [{rows}×{Hidden}]");
        writer.WriteLine($"private const int {Identifier}InputBiasOffset = {InputBiasOffset}; // bias_ih [{rows}]");
        writer.WriteLine($"private const int {Identifier}HiddenBiasOffset = {HiddenBiasOffset}; // bias_hh [{rows}]");
    }

    public override void WriteInitialization(SourceWriter writer)
    {
        var limit = 1 / Math.Sqrt(Hidden);
        writer.WriteLine($"// {Name}: every weight and bias ~ U(±1/√{Hidden}), as PyTorch draws them");
        writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Uniform(_parameters.Span.Slice({Identifier}InputWeightsOffset, {ParameterCount}), {Emitter.Float((float)limit)}, ref random);");
    }

    public override void WriteAccessors(SourceWriter writer)
    {
        var rows = Gates * Hidden;
        Accessor(writer, "InputWeights", $"weight_ih [{rows}×{Features}], row-major as PyTorch keeps it", rows * Features);
        Accessor(writer, "HiddenWeights", $"weight_hh [{rows}×{Hidden}]", rows * Hidden);
        Accessor(writer, "InputBias", $"bias_ih [{rows}]", rows);
        Accessor(writer, "HiddenBias", $"bias_hh [{rows}]", rows);
    }

    private void Accessor(SourceWriter writer, string name, string what, int length)
    {
        writer.WriteLine($"/// <summary>{Name} {what}.</summary>");
        writer.WriteLine($"public {Span} {Identifier}{name} => _parameters.Span.Slice({Identifier}{name}Offset, {length});");
        writer.WriteLine();
        writer.WriteLine($"private {Span} {Identifier}{name}Gradients => _gradients.Span.Slice({Identifier}{name}Offset, {length});");
        writer.WriteLine();
    }

    private string Weights => $"new {Kernel}Weights({Identifier}InputWeights, {Identifier}HiddenWeights, {Identifier}InputBias, {Identifier}HiddenBias)";

    private string Outputs => $"{Kernel}Output.{(ReturnSequences ? "Sequence" : "LastState")}";

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        var workspace = $"_{Identifier.ToLowerInvariant()}Workspace";
        var inputGradient = $"_{Identifier.ToLowerInvariant()}InputGradient";
        writer.WriteLine();
        writer.WriteLine($"private float[] {workspace} = []; // {Name}'s gates and states of every step, kept for backward through time; grows with the batch");
        writer.WriteLine($"private float[] {inputGradient} = []; // {Name}'s ∂L/∂x when no layer before needs it");
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward: {Positions} steps from a zero state, [batch×{Positions}×{Features}] → {(ReturnSequences ? $"[batch×{Positions}×{Hidden}]" : $"[batch×{Hidden}]")}.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            WriteShape(writer, workspace, grow: true);
            writer.WriteLine($"{Kernel}.{Cell}Forward(shape, x.Slice(0, batch * {InputSize}), weights, y.Slice(0, batch * {Units}), {Outputs}, new {Span}({workspace}, 0, length));");
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} backward through time: its four gradients (cleared, then summed over the steps) and dx.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} x, {ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            WriteShape(writer, workspace, grow: false);
            using (writer.OpenBlock("if (dx.IsEmpty)"))
            {
                using (writer.OpenBlock($"if ({inputGradient}.Length < batch * {InputSize})"))
                {
                    writer.WriteLine($"{inputGradient} = new float[batch * {InputSize}];");
                }

                writer.WriteLine();
                writer.WriteLine($"dx = {inputGradient};");
            }

            writer.WriteLine();
            writer.WriteLine("// the kernel adds each step's share to the gradients");
            writer.WriteLine($"_gradients.Span.Slice({Identifier}InputWeightsOffset, {ParameterCount}).Clear();");
            writer.WriteLine($"var gradients = new {Kernel}Gradients({Identifier}InputWeightsGradients, {Identifier}HiddenWeightsGradients, {Identifier}InputBiasGradients, {Identifier}HiddenBiasGradients);");
            writer.WriteLine($"{Kernel}.{Cell}Backward(");
            writer.WriteLine($"    shape, x.Slice(0, batch * {InputSize}), weights, dy.Slice(0, batch * {Units}), {Outputs},");
            writer.WriteLine($"    new {Span}({workspace}, 0, length), dx.Slice(0, batch * {InputSize}), gradients);");
        }
    }

    /// <summary>The shape and weights of a pass and its workspace's length; forward grows the workspace to it, backward reads what forward left.</summary>
    private void WriteShape(SourceWriter writer, string workspace, bool grow)
    {
        writer.WriteLine($"var shape = new {Kernel}Shape(batch, {Positions}, {Features}, {Hidden});");
        writer.WriteLine($"var weights = {Weights};");
        writer.WriteLine($"var length = {Kernel}.{Cell}WorkspaceLength(shape);");
        if (grow)
        {
            using (writer.OpenBlock($"if ({workspace}.Length < length)"))
            {
                writer.WriteLine($"{workspace} = new float[length];");
            }
        }

        writer.WriteLine();
    }

    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        reads.Add(input);
        return $"{Identifier}Backward({input}, {dy}, {dx ?? "global::System.Span<float>.Empty"}, batch);";
    }

    public override bool Steps => ReturnSequences;

    /// <summary>Its row at the new position: one step from the kept state, which position 0 starts from zero.</summary>
    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        var state = $"_{Identifier.ToLowerInvariant()}Step";
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        using (writer.OpenBlock($"if ({state}.Hidden is null)"))
        {
            writer.WriteLine($"{state} = (new float[{Hidden}], new float[{Hidden}], new float[{Kernel}.{Cell}StepScratchLength(1, {Hidden})]);");
        }

        writer.WriteLine();
        using (writer.OpenBlock("if (position == 0)"))
        {
            writer.WriteLine($"global::System.Array.Clear({state}.Hidden);");
            writer.WriteLine($"global::System.Array.Clear({state}.Cell);");
        }

        writer.WriteLine();
        var x = Row(context, context.InputOf(this), InputSize);
        writer.WriteLine(IsGru
            ? $"{Kernel}.GruStep(1, {Features}, {Hidden}, {x}, {Weights}, {state}.Hidden, {state}.Scratch);"
            : $"{Kernel}.LstmStep(1, {Features}, {Hidden}, {x}, {Weights}, {state}.Hidden, {state}.Cell, {state}.Scratch);");
        writer.WriteLine($"new global::System.Span<float>({state}.Hidden).CopyTo({Row(context, Output, Units)});");
    }

    /// <summary>The field of its state between generation steps.</summary>
    public string StepField => $"private (float[] Hidden, float[] Cell, float[] Scratch) _{Identifier.ToLowerInvariant()}Step; // {Name}'s h{(IsGru ? string.Empty : " and c")} between Generate's steps";

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>nn.LSTM</c> or <c>nn.GRU</c> with <c>batch_first=True</c>, whose tensors the buffer keeps in PyTorch's layout.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.AddClass(ReturnSequences ? SequenceTorch.Recurrent : SequenceTorch.LastState);
        var module = $"nn.{Cell.ToUpperInvariant()}({Features}, {Hidden}, batch_first=True)";
        torch.Add(ReturnSequences ? $"Outputs({module})" : $"LastState({module})");
        var prefix = torch.Prefix + "rnn.";
        var rows = Gates * Hidden;
        torch.AddTensor(new PlannedTensor(prefix + "weight_ih_l0", Identifier + "InputWeightsOffset", InputWeightsOffset, TorchEquivalent.Dims(rows, Features)));
        torch.AddTensor(new PlannedTensor(prefix + "weight_hh_l0", Identifier + "HiddenWeightsOffset", HiddenWeightsOffset, TorchEquivalent.Dims(rows, Hidden)));
        torch.AddTensor(new PlannedTensor(prefix + "bias_ih_l0", Identifier + "InputBiasOffset", InputBiasOffset, TorchEquivalent.Dims(rows)));
        torch.AddTensor(new PlannedTensor(prefix + "bias_hh_l0", Identifier + "HiddenBiasOffset", HiddenBiasOffset, TorchEquivalent.Dims(rows)));
        torch.Flow = TorchFlow.Vector(Units);
    }

    public override string OnnxLayer(string tensors) => SequenceTorch.NoOnnx;
}

/// <summary>The spec of a recurrent layer as declared.</summary>
internal abstract record RecurrentSpec(int Hidden, LocationInfo? HiddenLocation, bool ReturnSequences, LocationInfo? Location) : LayerSpec(Location);

internal sealed record LstmSpec(int Hidden, LocationInfo? HiddenLocation, bool ReturnSequences, LocationInfo? Location)
    : RecurrentSpec(Hidden, HiddenLocation, ReturnSequences, Location)
{
    public override string Kind => "Lstm";
}

internal sealed record GruSpec(int Hidden, LocationInfo? HiddenLocation, bool ReturnSequences, LocationInfo? Location)
    : RecurrentSpec(Hidden, HiddenLocation, ReturnSequences, Location)
{
    public override string Kind => "Gru";
}
