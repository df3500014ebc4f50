using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary>
/// <c>[Residual(typeof(F), Shortcut = typeof(S), Activation = …, Repeat = n)]</c>: reads its blocks' layers with the
/// block reader; the checker expands it into the blocks' nodes and their sum (<see cref="AddSpec"/>).
/// </summary>
internal sealed class ResidualKind : LayerKind
{
    public override string AttributeName => "ResidualAttribute";

    public override Type SpecType => typeof(ResidualSpec);

    /// <summary>The connection, or null after a diagnostic on the block at fault (the caller then reads no further).</summary>
    public override LayerSpec? Read(AttributeReader attribute)
    {
        var block = attribute.Block(attribute.Constructor<INamedTypeSymbol?>(0, null), attribute.ArgumentLocation(0, "block"));
        BlockSpec? shortcut = null;
        if (attribute.Data.NamedArguments.FirstOrDefault(a => a.Key == "Shortcut").Value.Value is INamedTypeSymbol shortcutType)
        {
            shortcut = attribute.Block(shortcutType, attribute.Named<INamedTypeSymbol?>("Shortcut", null).Location);
            if (shortcut is null)
            {
                return null;
            }
        }

        if (block is null)
        {
            return null;
        }

        var (activation, activationLocation) = attribute.Named("Activation", (int)Activation.Linear);
        var (repeat, repeatLocation) = attribute.Named("Repeat", 1);
        return new ResidualSpec(block, shortcut, (Activation)activation, activationLocation, repeat, repeatLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics) =>
        throw new InvalidOperationException("A residual connection is expanded into its blocks' layers by the checker.");

    /// <summary>The sum that closes each connection, made by the checker.</summary>
    public override IEnumerable<Type> MadeSpecTypes => [typeof(AddSpec)];

    /// <summary>The sum's plan: its outputs, and z after them for GELU and SiLU. Its blocks' layers are planned by their own kinds.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var add = layer.Layer as AddSpec ?? throw new InvalidOperationException("A residual connection is planned as its blocks' layers and their sum.");
        var activation = add.Residual.Activation;
        return new AddPlan(
            context.Position, add.Number, layer.Input.Size, activation, Alpha(activation, float.NaN), context.OutputOffset,
            context.TakePreActivations(activation, layer.Input.Size), add.Residual.Block.Name, add.Residual.Shortcut?.Name);
    }
}

/// <summary>
/// The sum that closes a residual connection: y = f(f_x) + s(x), then its activation. Backward hands ∂L/∂y (after the
/// activation's derivative) to both inputs as it is: the sum's derivative is one for each.
/// </summary>
/// <param name="Index">1-based position among the residual connections (residual_1 …).</param>
/// <param name="PreActivationOffset">Where the sum z is kept for GELU's and SiLU's derivatives, or −1.</param>
internal sealed record AddPlan(int Position, int Index, int Size, Activation Activation, float Alpha, int OutputOffset, int PreActivationOffset, string Block, string? Shortcut)
    : LayerPlan(Position, Size, Size, OutputOffset)
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Activations = "global::ModelGen.Kernels.Elementwise";

    public override string Name => "residual_" + Index;

    public override string Identifier => "Residual" + Index;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;

    public override bool HandsGradientOnInPlace => true;

    /// <summary>Its outputs, and the sums z where its activation's derivative needs them.</summary>
    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        if (PreActivationOffset >= 0)
        {
            writer.WriteLine($"private const int {Identifier}PreActivation = {PreActivationOffset}; // {Name} sums z, kept for {Activation}'s derivative");
        }
    }

    /// <summary>Its call on both terms: the block's output and the shortcut's.</summary>
    public override void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine($"// {Name}: the residual connection's sum, {Block}(x) + {(Shortcut is null ? "x" : Shortcut + "(x)")}");
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, batch);");
        writer.WriteLine($"{Identifier}Forward({context.InputOf(this)}, {context.InputOf(this, 1)}, {Output}, batch);");
    }

    public override bool Steps => Activation == Activation.Linear;

    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        writer.WriteLine($"global::ModelGen.Kernels.Elementwise.Add({Row(context, context.InputOf(this), Units)}, {Row(context, context.InputOf(this, 1), Units)}, {Row(context, Output, Units)});");
    }

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, "Residual", Activation == Activation.Linear ? string.Empty : Activation.ToString(), Emitter.Count(InputSize), Emitter.Count(Units), "0",
        $"{Block}(x) + {(Shortcut is null ? "x" : Shortcut + "(x)")}, of {Emitter.Producer(plan, this, 0)} and {Emitter.Producer(plan, this, 1)}",
    ];

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        WriteForward(writer);
        if (context.HasBackwardCall(this))
        {
            writer.WriteLine();
            WriteBackward(writer);
        }
    }

    /// <summary>Applies the activation's derivative to ∂L/∂y in place (reading y), which both terms then take as it is.</summary>
    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        reads.Add(Output);
        return $"{Identifier}Backward({Output}, {dy}, batch);";
    }

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary>Closes its <c>Residual</c> module (whose branch and shortcut its layers filled) with its activation.</summary>
    public override void AddTorch(TorchBuilder torch) => torch.CloseResidual(Index, Activation, Alpha);

    public override string OnnxLayer(string tensors) => $"{OnnxEmitter.Layer}.Add({OnnxEmitter.Activation(Activation, Alpha)})";

    /// <summary><c>ResidualForward(f, s, y, batch)</c>: y = act(f + s).</summary>
    private void WriteForward(SourceWriter writer)
    {
        var size = Units;
        var shortcut = Shortcut is null ? "its input x (identity shortcut)" : $"the shortcut {Shortcut}(x)";
        var activation = Activation == Activation.Linear ? string.Empty : $", then {Activation}";
        writer.WriteLine($"/// <summary>{Name} forward: y = {Block}(x) + {(Shortcut is null ? "x" : Shortcut + "(x)")}{activation}: the block's output plus {shortcut}.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Forward({ReadOnlySpan} f, {ReadOnlySpan} s, {Span} y, int batch)"))
        {
            var sum = PreActivationOffset >= 0 ? $"Workspace({Identifier}PreActivation, {size}, batch)" : $"y.Slice(0, batch * {size})";
            writer.WriteLine($"// {(PreActivationOffset >= 0 ? "z" : "y")} = f + s, f = {Block}(x) and s = {(Shortcut is null ? "x" : Shortcut + "(x)")}, each [batch × {size}]");
            writer.WriteLine($"global::ModelGen.Kernels.Elementwise.Add(f.Slice(0, batch * {size}), s.Slice(0, batch * {size}), {sum});");
            if (Activation != Activation.Linear)
            {
                var input = PreActivationOffset >= 0 ? sum : $"y.Slice(0, batch * {size})";
                writer.WriteLine(PreActivationOffset >= 0
                    ? $"// y = {Activation}(z); z is kept for the derivative"
                    : $"// y = {Activation}(y), in place");
                writer.WriteLine($"{Activations}.Apply({input}, y.Slice(0, batch * {size}), {Argument(Activation, Alpha)});");
            }
        }
    }

    /// <summary>
    /// <c>ResidualBackward(y, dy, batch)</c> for a sum with an activation: dy ⊙= act′, in place. (The sum itself passes
    /// its gradient to both terms unchanged, so without an activation there is no method at all.)
    /// </summary>
    private void WriteBackward(SourceWriter writer)
    {
        var size = Units;
        writer.WriteLine($"/// <summary>{Name} backward: dy ⊙= {Activation}′ in place; the sum then hands the result to the block and to the shortcut alike.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} y, {Span} dy, int batch)"))
        {
            var z = PreActivationOffset >= 0 ? $"Workspace({Identifier}PreActivation, {size}, batch)" : $"{ReadOnlySpan}.Empty";
            writer.WriteLine($"{Activations}.ApplyDerivative({z}, y.Slice(0, batch * {size}), dy.Slice(0, batch * {size}), {Argument(Activation, Alpha)});");
        }
    }

    private static string Argument(Activation activation, float alpha) =>
        activation is Activation.LeakyRelu or Activation.Elu
            ? $"global::ModelGen.Activation.{activation}, alpha: {Emitter.Float(alpha)}"
            : $"global::ModelGen.Activation.{activation}";
}
