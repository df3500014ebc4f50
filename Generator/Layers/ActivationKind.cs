using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary>
/// <c>[Activation(function, Alpha = …)]</c>: an activation applied to each value, on its own. The whole kind lives in
/// this file: its spec, its reading and checking, its plan, and the plan's code, remarks row, PyTorch module and ONNX
/// layer; <see cref="LayerKinds"/> registers it in one line.
/// </summary>
internal sealed class ActivationKind : LayerKind
{
    public override string AttributeName => "ActivationAttribute";

    public override Type SpecType => typeof(ActivationSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (alpha, alphaLocation) = attribute.Named("Alpha", float.NaN);
        return new ActivationSpec((Activation)attribute.Constructor(0, (int)Activation.Linear), attribute.ArgumentLocation(0, "function"), alpha, alphaLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var activation = (ActivationSpec)layer;
        return CheckActivation(
            activation.Kind, input.Position, activation.Function, activation.FunctionLocation, activation.Alpha, activation.AlphaLocation, Initializer.Auto, null, diagnostics)
            ? input.Shape
            : null;
    }

    /// <summary>Its outputs in the workspace; the derivative is applied to the gradient in place, so it needs nothing else.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var activation = (ActivationSpec)layer.Layer;
        return new ActivationPlan(context.Position, context.Next("activation"), layer.Input.Size, activation.Function, Alpha(activation.Function, activation.Alpha), context.OutputOffset);
    }
}

/// <summary><c>[Activation(function)]</c> as declared.</summary>
internal sealed record ActivationSpec(Activation Function, LocationInfo? FunctionLocation, float Alpha, LocationInfo? AlphaLocation, LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "Activation";
}

/// <summary>One activation layer of a plan: y = f(x), each value; backward applies f′ to the gradient in place.</summary>
/// <param name="Index">1-based position among the activation layers (activation_1 …).</param>
/// <param name="Alpha">α of leaky ReLU or ELU, defaults resolved; 0 for other activations.</param>
internal sealed record ActivationPlan(int Position, int Index, int Size, Activation Activation, float Alpha, int OutputOffset)
    : LayerPlan(Position, Size, Size, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Elementwise = "global::ModelGen.Kernels.Elementwise";

    public override string Name => "activation_" + Index;

    public override string Identifier => "Activation" + Index;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;

    /// <summary>Its gradient is its input's once f′ is applied, in the same buffer.</summary>
    public override bool HandsGradientOnInPlace => true;

    public override string[] RemarksRow(ModelPlan plan) => [Name, "Activation", Activation.ToString(), Emitter.Count(InputSize), Emitter.Count(Units), "0", "each value"];

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward: y = {Function}(x), each of the {Units} values per sample.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Elementwise}.Apply(x.Slice(0, batch * {Units}), y.Slice(0, batch * {Units}), {Argument});");
        }

        if (!context.HasBackwardCall(this))
        {
            return;
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} backward: ∂L/∂x = dy ⊙ {Function}′, written over dy.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} x, {ReadOnlySpan} y, {Span} dy, int batch)"))
        {
            writer.WriteLine($"{Elementwise}.ApplyDerivative(x.Slice(0, batch * {Units}), y.Slice(0, batch * {Units}), dy.Slice(0, batch * {Units}), {Argument});");
        }
    }

    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        reads.Add(input);
        reads.Add(Output);
        return $"{Identifier}Backward({input}, {Output}, {dy}, batch);";
    }

    /// <summary>No parameters: nothing to add to a sample's gradient norm.</summary>
    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary>The activation's module; none for linear.</summary>
    public override void AddTorch(TorchBuilder torch) => torch.AddActivation(Activation, Alpha);

    public override string OnnxLayer(string tensors) => $"global::ModelGen.Onnx.OnnxLayer.Activate(global::ModelGen.Activation.{Activation}, {Emitter.Float(Alpha)})";

    private string Argument =>
        Activation is Activation.LeakyRelu or Activation.Elu ? $"global::ModelGen.Activation.{Activation}, alpha: {Emitter.Float(Alpha)}" : $"global::ModelGen.Activation.{Activation}";

    private string Function => Activation is Activation.LeakyRelu or Activation.Elu ? $"{Activation}[α = {Alpha.ToString("R", CultureInfo.InvariantCulture)}]" : Activation.ToString();
}
