using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the forward and backward methods of the sum that closes a residual connection, and its activation.</summary>
internal static class ResidualEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Activations = "global::ModelGen.Kernels.Elementwise";

    /// <summary><c>ResidualForward(f, s, y, batch)</c>: y = act(f + s).</summary>
    public static void WriteForward(SourceWriter writer, AddPlan layer)
    {
        var size = layer.Units;
        var shortcut = layer.Shortcut is null ? "its input x (identity shortcut)" : $"the shortcut {layer.Shortcut}(x)";
        var activation = layer.Activation == Activation.Linear ? string.Empty : $", then {layer.Activation}";
        writer.WriteLine($"/// <summary>{layer.Name} forward: y = {layer.Block}(x) + {(layer.Shortcut is null ? "x" : layer.Shortcut + "(x)")}{activation}: the block's output plus {shortcut}.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} f, {ReadOnlySpan} s, {Span} y, int batch)"))
        {
            var sum = layer.PreActivationOffset >= 0 ? $"Workspace({layer.Identifier}PreActivation, {size}, batch)" : $"y.Slice(0, batch * {size})";
            writer.WriteLine($"// {(layer.PreActivationOffset >= 0 ? "z" : "y")} = f + s, f = {layer.Block}(x) and s = {(layer.Shortcut is null ? "x" : layer.Shortcut + "(x)")}, each [batch × {size}]");
            writer.WriteLine($"global::ModelGen.Kernels.Elementwise.Add(f.Slice(0, batch * {size}), s.Slice(0, batch * {size}), {sum});");
            if (layer.Activation != Activation.Linear)
            {
                var input = layer.PreActivationOffset >= 0 ? sum : $"y.Slice(0, batch * {size})";
                writer.WriteLine(layer.PreActivationOffset >= 0
                    ? $"// y = {layer.Activation}(z); z is kept for the derivative"
                    : $"// y = {layer.Activation}(y), in place");
                writer.WriteLine($"{Activations}.Apply({input}, y.Slice(0, batch * {size}), {Argument(layer.Activation, layer.Alpha)});");
            }
        }
    }

    /// <summary>
    /// <c>ResidualBackward(y, dy, batch)</c> for a sum with an activation: dy ⊙= act′, in place. (The sum itself passes
    /// its gradient to both terms unchanged, so without an activation there is no method at all.)
    /// </summary>
    public static void WriteBackward(SourceWriter writer, AddPlan layer)
    {
        var size = layer.Units;
        writer.WriteLine($"/// <summary>{layer.Name} backward: dy ⊙= {layer.Activation}′ in place; the sum then hands the result to the block and to the shortcut alike.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} y, {Span} dy, int batch)"))
        {
            var z = layer.PreActivationOffset >= 0 ? $"Workspace({layer.Identifier}PreActivation, {size}, batch)" : $"{ReadOnlySpan}.Empty";
            writer.WriteLine($"{Activations}.ApplyDerivative({z}, y.Slice(0, batch * {size}), dy.Slice(0, batch * {size}), {Argument(layer.Activation, layer.Alpha)});");
        }
    }

    private static string Argument(Activation activation, float alpha) =>
        activation is Activation.LeakyRelu or Activation.Elu
            ? $"global::ModelGen.Activation.{activation}, alpha: {Emitter.Float(alpha)}"
            : $"global::ModelGen.Activation.{activation}";

    private static string Function(Activation activation, float alpha) =>
        activation is Activation.LeakyRelu or Activation.Elu ? $"{activation}[α = {alpha.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}]" : activation.ToString();
}
