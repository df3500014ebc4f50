using System.Globalization;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the training-time forward and the backward method of one dropout layer.</summary>
internal static class DropoutEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Dropout = "global::ModelGen.Kernels.Dropout";

    /// <summary><c>LayerForward(x, y, batch)</c>, training only: y = x ⊙ mask with a freshly drawn mask.</summary>
    public static void WriteForward(SourceWriter writer, DropoutPlan layer)
    {
        var size = layer.Units;
        var rate = Rate(layer);
        writer.WriteLine($"/// <summary>{layer.Name} forward while training: each value zeroed with probability {rate}, the others scaled by 1 / (1 − {rate}).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"var mask = Workspace({layer.Identifier}Mask, {size}, batch);");
            writer.WriteLine($"{Dropout}.Forward(x.Slice(0, batch * {size}), y, mask, rate: {rate}f, ref _trainingRandom);");
        }
    }

    /// <summary><c>LayerBackward(dy, dx, batch)</c>: dx = dy ⊙ mask.</summary>
    public static void WriteBackward(SourceWriter writer, DropoutPlan layer)
    {
        writer.WriteLine($"/// <summary>{layer.Name} backward: dx = dy ⊙ mask, the mask of the forward pass.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Dropout}.Backward(Workspace({layer.Identifier}Mask, {layer.Units}, batch), dy, dx);");
        }
    }

    /// <summary>The layer's rate as C# reads it back exactly.</summary>
    public static string Rate(DropoutPlan layer) => layer.Rate.ToString("R", CultureInfo.InvariantCulture);
}
