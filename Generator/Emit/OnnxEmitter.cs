using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the model's layers as the runtime's ONNX exporter reads them, <c>ExportOnnx</c>, and <c>Quantize</c>, which hands the same layers to the int8 predictor.</summary>
internal static class OnnxEmitter
{
    /// <summary>The runtime's ONNX layer factories.</summary>
    internal const string Layer = "global::ModelGen.Onnx.OnnxLayer";

    public static void Write(SourceWriter writer, ModelPlan plan)
    {
        if (plan.Sequences)
        {
            writer.WriteLine("/// <summary>Not available for a model with sequence layers: always throws <see cref=\"global::System.NotSupportedException\"/>.</summary>");
            writer.WriteLine($"public void ExportOnnx(string path) => throw new global::System.NotSupportedException({Emitter.SequenceUnsupported("ONNX export")});");
            writer.WriteLine();
            writer.WriteLine("/// <summary>Not available for a model with sequence layers: always throws <see cref=\"global::System.NotSupportedException\"/>.</summary>");
            writer.WriteLine("public global::ModelGen.Quantization.Int8Predictor Quantize(global::System.ReadOnlySpan<float> calibration = default, global::ModelGen.Quantization.QuantizationOptions? options = null) =>");
            writer.WriteLine($"    throw new global::System.NotSupportedException({Emitter.SequenceUnsupported("Int8 quantization")});");
            writer.WriteLine();
            return;
        }

        var prefixes = plan.Torch.LayerPrefixes;
        writer.WriteLine("// The layers as ONNX operators, each naming its tensors as ParameterLayout does.");
        using (writer.OpenBlock($"private static readonly {Layer}[] OnnxLayers = new {Layer}[]", closingSuffix: ";"))
        {
            for (var i = 0; i < plan.Layers.Count; i++)
            {
                var tensors = prefixes[i];
                var layer = plan.Layers[i];
                // A layer that does not read the one just before it (in and after a residual connection) says which it reads.
                var from = layer.Inputs.Count == 1 && layer.Inputs[0] == i ? string.Empty : $".From({string.Join(", ", layer.Inputs)})";
                writer.WriteLine(layer.OnnxLayer(tensors) + from + ",");
            }
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// Writes the model as an ONNX file (opset 17) that computes what <see cref=\"PredictBatch\"/> computes: the PyTorch");
        writer.WriteLine("/// module of the remarks, then the loss's softmax or sigmoid. The file replaces <paramref name=\"path\"/> only when complete.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine($"public void ExportOnnx(string path) => global::ModelGen.Onnx.OnnxExport.Save(this, new[] {{ {string.Join(", ", plan.InputShape)} }}, OnnxLayers, path);");
        writer.WriteLine();
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// An int8 predictor of this model as trained now (post-training quantization): dense and convolution layers in int8,");
        writer.WriteLine("/// weights per output channel, the rest in float. With <paramref name=\"calibration\"/> samples (InputSize floats each) the");
        writer.WriteLine("/// activations' ranges are fixed from them (static); without, each sample's own range is taken at run time (dynamic).");
        writer.WriteLine("/// </summary>");
        writer.WriteLine("public global::ModelGen.Quantization.Int8Predictor Quantize(global::System.ReadOnlySpan<float> calibration = default, global::ModelGen.Quantization.QuantizationOptions? options = null) =>");
        writer.WriteLine($"    global::ModelGen.Quantization.Int8Predictor.Create(this, new[] {{ {string.Join(", ", plan.InputShape)} }}, OnnxLayers, calibration, options);");
        writer.WriteLine();
    }

    /// <summary>A weighted layer's bias tensor argument: its name, or null without a bias.</summary>
    internal static string Bias(IWeightedPlan layer, string tensors) => layer.HasBias ? $"\"{tensors}bias\"" : "null";

    /// <summary>An activation and its α, as the factories take them.</summary>
    internal static string Activation(Activation activation, float alpha) =>
        $"global::ModelGen.Activation.{activation}, {Emitter.Float(alpha)}";
}
