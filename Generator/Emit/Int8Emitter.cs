using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Emit;

/// <summary>
/// Writes a model's weights quantized at build time (<c>[Model(Weights = …, Quantize = QuantizationMode.Dynamic)]</c>)
/// as a third source file of its partial class: <c>CreateInt8Predictor()</c>, and a nested class <c>BakedInt8</c> of
/// <c>ReadOnlySpan&lt;sbyte&gt;</c> and <c>ReadOnlySpan&lt;float&gt;</c> properties over constant data (the compiler
/// stores them in the assembly's data section, in little-endian order, and reads them so on any processor). Nothing in
/// the file reads the float weights, so a program that never constructs the model does not keep them.
/// </summary>
internal static class Int8Emitter
{
    private const int LevelsPerLine = 24;
    private const int FloatsPerLine = 8;

    private const string FactoryName = "CreateInt8Predictor";
    private const string DataName = "BakedInt8";
    private const string Quantization = "global::ModelGen.Quantization";

    /// <summary>The members this file adds to the model's class.</summary>
    public static string[] MemberNames => [FactoryName, DataName];

    public static string Emit(ModelPlan plan, QuantizedModel model) => Emitter.WriteFile(plan.Type, writer =>
    {
        using (writer.OpenBlock($"partial {plan.Type.Keyword} {plan.Type.NameSyntax}"))
        {
            WriteFactory(writer, plan, model);
            writer.WriteLine();
            WriteData(writer, model);
        }
    });

    private static void WriteFactory(SourceWriter writer, ModelPlan plan, QuantizedModel model)
    {
        var name = plan.Type.Name;
        writer.WriteLine("/// <summary>");
        writer.WriteLine($"/// An int8 predictor of the weights baked in from {model.File}, quantized when this model was compiled: dense and");
        writer.WriteLine("/// convolution layers in int8 (symmetric, one scale per output channel, batch normalizations folded in first), the");
        writer.WriteLine("/// activations quantized per sample at run time (dynamic), the other layers in float. It predicts exactly what");
        writer.WriteLine($"/// <c>new {name}().Quantize()</c> predicts, without the float weights: a trimmed or NativeAOT program that never");
        writer.WriteLine($"/// constructs a {name} leaves them out of its binary. Each call makes a new predictor (one per thread).");
        writer.WriteLine("/// </summary>");
        using (writer.OpenBlock($"public static {Quantization}.Int8Predictor {FactoryName}()"))
        {
            writer.WriteLine($"var weights = new {Quantization}.Int8ModelWeights(InputSize, OutputSize, global::ModelGen.Loss.{plan.Loss});");
            writer.WriteLine("// The int8 layers, by their weights' names in OnnxLayers, each with the batch normalizations folded into it;");
            writer.WriteLine(model.Tensors.Count > 0 ? "// then the tensors of the layers that stay in float." : "// every other layer has no tensors.");
            foreach (var layer in model.Layers)
            {
                var folded = layer.Folded.Select(f => $", \"{f.Gamma}\"");
                var bias = layer.Bias.Count > 0 ? $"{DataName}.{layer.Identifier}Bias" : "default";
                writer.WriteLine(
                    $"weights.AddLayer(\"{layer.Weight}\", [{string.Join(", ", layer.Shape)}], {DataName}.{layer.Identifier}Weights, {DataName}.{layer.Identifier}Scales, {bias}{string.Concat(folded)});");
            }

            foreach (var tensor in model.Tensors)
            {
                writer.WriteLine($"weights.AddTensor(\"{tensor.Name}\", [{string.Join(", ", tensor.Shape)}], {DataName}.{tensor.Member});");
            }

            writer.WriteLine($"return {Quantization}.Int8Predictor.Create(weights, [{string.Join(", ", plan.InputShape)}], OnnxLayers);");
        }
    }

    private static void WriteData(SourceWriter writer, QuantizedModel model)
    {
        writer.WriteLine($"/// <summary>The int8 layers and float tensors of <see cref=\"{FactoryName}\"/>, quantized at build time from {model.File}.</summary>");
        using (writer.OpenBlock($"private static class {DataName}"))
        {
            var first = true;
            foreach (var layer in model.Layers)
            {
                if (!first)
                {
                    writer.WriteLine();
                }

                first = false;
                var folded = layer.Folded.Count == 0 ? string.Empty : $", {string.Join(" and ", layer.Folded.Select(f => f.Layer))} folded in";
                writer.WriteLine($"// {layer.Layer} ({layer.Weight} [{string.Join(", ", layer.Shape)}]{folded}): int8 [{layer.Depth} × {layer.Units}], one row per input, one column per unit");
                WriteValues(writer, $"public static global::System.ReadOnlySpan<sbyte> {layer.Identifier}Weights =>", layer.Values.Select(v => v.ToString(CultureInfo.InvariantCulture)), LevelsPerLine);
                writer.WriteLine();
                writer.WriteLine($"// {layer.Layer}: each unit's scale (its weights are the int8 values times it)");
                WriteValues(writer, $"public static global::System.ReadOnlySpan<float> {layer.Identifier}Scales =>", layer.Scales.Select(Emitter.Float), FloatsPerLine);
                if (layer.Bias.Count > 0)
                {
                    writer.WriteLine();
                    writer.WriteLine(layer.Folded.Count == 0 ? $"// {layer.Layer}: its bias" : $"// {layer.Layer}: its bias, with the folded normalization's shift");
                    WriteValues(writer, $"public static global::System.ReadOnlySpan<float> {layer.Identifier}Bias =>", layer.Bias.Select(Emitter.Float), FloatsPerLine);
                }
            }

            foreach (var tensor in model.Tensors)
            {
                writer.WriteLine();
                writer.WriteLine($"// {tensor.Description} ({tensor.Name} [{string.Join(", ", tensor.Shape)}]), for a layer that stays in float");
                WriteValues(writer, $"public static global::System.ReadOnlySpan<float> {tensor.Member} =>", tensor.Values.Select(Emitter.Float), FloatsPerLine);
            }
        }
    }

    private static void WriteValues(SourceWriter writer, string header, IEnumerable<string> values, int perLine)
    {
        using (writer.OpenCollection(header))
        {
            var line = new List<string>(perLine);
            foreach (var value in values)
            {
                line.Add(value + ",");
                if (line.Count == perLine)
                {
                    writer.WriteLine(string.Join(" ", line));
                    line.Clear();
                }
            }

            if (line.Count > 0)
            {
                writer.WriteLine(string.Join(" ", line));
            }
        }
    }
}
