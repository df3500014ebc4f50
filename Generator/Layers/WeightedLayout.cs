using System;
using System.Globalization;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary>
/// The tensors of a layer with a weight matrix and a bias (<see cref="IWeightedPlan"/>: dense and convolution layers), as
/// the generated class lays them out, draws them and exposes them; each such kind's plan writes them through these.
/// </summary>
internal static class WeightedLayout
{
    private const string Span = "global::System.Span<float>";

    /// <summary>The offsets of W and, if it has one, b in the parameter buffer.</summary>
    public static void WriteParameterLayout(SourceWriter writer, IWeightedPlan layer)
    {
        writer.WriteLine($"private const int {layer.Identifier}WeightsOffset = {layer.WeightsOffset}; // W [{layer.WeightShape}]");
        if (layer.HasBias)
        {
            writer.WriteLine($"private const int {layer.Identifier}BiasOffset = {layer.BiasOffset}; // b [{layer.WeightColumns}]");
        }
    }

    /// <summary>Where the pre-activations z lie in the workspace, for an activation whose derivative needs them.</summary>
    public static void WritePreActivationLayout(SourceWriter writer, IWeightedPlan layer)
    {
        if (layer.KeepsPreActivation)
        {
            writer.WriteLine($"private const int {layer.Identifier}PreActivation = {layer.PreActivationOffset}; // {layer.Name} pre-activations z, kept for {layer.Activation}'s derivative");
        }
    }

    /// <summary>W drawn from the seed's stream by its initializer; b stays zero.</summary>
    public static void WriteInitialization(SourceWriter writer, IWeightedPlan layer)
    {
        writer.WriteLine(layer.HasBias ? $"// {layer.Name}: W ~ {InitializerDescription(layer)}; b = 0" : $"// {layer.Name}: W ~ {InitializerDescription(layer)}; no bias");
        writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Fill({layer.Identifier}Weights, global::ModelGen.Initializer.{layer.Initializer}, fanIn: {layer.WeightRows}, fanOut: {layer.FanOut}, ref random);");
    }

    /// <summary>
    /// W and b, public, and their gradients, private; a layer without a bias reads zeros outside the parameters and
    /// writes its bias gradient where nothing reads it. <paramref name="weights"/> tells what W is and how its rows run.
    /// </summary>
    public static void WriteAccessors(SourceWriter writer, IWeightedPlan layer, string weights)
    {
        var count = layer.WeightRows * layer.WeightColumns;
        writer.WriteLine($"/// <summary>{layer.Name} {weights}</summary>");
        writer.WriteLine($"public {Span} {layer.Identifier}Weights => _parameters.Span.Slice({layer.Identifier}WeightsOffset, {count});");
        writer.WriteLine();
        if (layer.HasBias)
        {
            writer.WriteLine($"/// <summary>{layer.Name} bias b [{layer.WeightColumns}].</summary>");
            writer.WriteLine($"public {Span} {layer.Identifier}Bias => _parameters.Span.Slice({layer.Identifier}BiasOffset, {layer.WeightColumns});");
        }
        else
        {
            writer.WriteLine($"// {layer.Name} has no bias (UseBias = false): its products add zeros, and its bias gradient goes where no optimizer reads.");
            writer.WriteLine($"private {Span} {layer.Identifier}Bias => _zeroBias.Span.Slice(0, {layer.WeightColumns});");
        }

        writer.WriteLine();
        writer.WriteLine($"private {Span} {layer.Identifier}WeightGradients => _gradients.Span.Slice({layer.Identifier}WeightsOffset, {count});");
        writer.WriteLine();
        writer.WriteLine(layer.HasBias
            ? $"private {Span} {layer.Identifier}BiasGradients => _gradients.Span.Slice({layer.Identifier}BiasOffset, {layer.WeightColumns});"
            : $"private {Span} {layer.Identifier}BiasGradients => _discardedBiasGradients.Span.Slice(0, {layer.WeightColumns});");
        writer.WriteLine();
    }

    /// <summary>The distribution a layer's weights are drawn from, with its numbers, for the constructor's comments.</summary>
    private static string InitializerDescription(IWeightedPlan layer)
    {
        var (fanIn, fanOut) = (layer.WeightRows, layer.FanOut);
        string Number(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
        return layer.Initializer switch
        {
            Initializer.HeUniform => $"U(±√(6 / {fanIn})) = U(±{Number(Math.Sqrt(6.0 / fanIn))}), He uniform",
            Initializer.HeNormal => $"N(0, 2 / {fanIn}) truncated at 2σ, He normal",
            Initializer.LecunUniform => $"U(±√(3 / {fanIn})) = U(±{Number(Math.Sqrt(3.0 / fanIn))}), LeCun uniform",
            Initializer.LecunNormal => $"N(0, 1 / {fanIn}) truncated at 2σ, LeCun normal",
            Initializer.GlorotNormal => $"N(0, 2 / ({fanIn} + {fanOut})) truncated at 2σ, Glorot normal",
            Initializer.SmallNormal => "N(0, 0.02²), as GPT-2's",
            _ => $"U(±√(6 / ({fanIn} + {fanOut}))) = U(±{Number(Math.Sqrt(6.0 / (fanIn + fanOut)))}), Glorot uniform",
        };
    }
}
