using System.Globalization;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the model's layers as the runtime's ONNX exporter reads them, <c>ExportOnnx</c>, and <c>Quantize</c>, which hands the same layers to the int8 predictor.</summary>
internal static class OnnxEmitter
{
    private const string Layer = "global::ModelGen.Onnx.OnnxLayer";

    public static void Write(SourceWriter writer, ModelPlan plan)
    {
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
                var call = layer switch
                {
                    ILayerWriter unit => unit.OnnxLayer + ",",
                    AddPlan add => $"{Layer}.Add({Activation(add.Activation, add.Alpha)}),",
                    DensePlan dense => $"{Layer}.Dense(\"{tensors}weight\", {Bias(dense, tensors)}, {Activation(dense.Activation, dense.Alpha)}),",
                    ConvPlan conv => Conv(conv, tensors),
                    PoolPlan pool => $"{Layer}.{(pool.Average ? "AvgPool2D" : "MaxPool2D")}({pool.Window.Kernel}, {pool.Window.Stride}),",
                    GlobalPoolPlan => $"{Layer}.GlobalAvgPool2D(),",
                    FlattenPlan => $"{Layer}.Flatten(),",
                    DropoutPlan => $"{Layer}.Dropout(),",
                    LayerNormPlan norm => $"{Layer}.LayerNorm(\"{tensors}weight\", \"{tensors}bias\", {Emitter.Float(norm.Epsilon)}),",
                    BatchNormPlan batch => $"{Layer}.BatchNorm(\"{tensors}weight\", \"{tensors}bias\", \"{tensors}running_mean\", \"{tensors}running_var\", {Emitter.Float(batch.Epsilon)}),",
                    var other => throw new System.InvalidOperationException("No ONNX form for layer plan " + other.GetType().Name),
                };
                writer.WriteLine(call.Substring(0, call.Length - 1) + from + ",");
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

    private static string Conv(ConvPlan conv, string tensors)
    {
        var window = conv.Window;
        var (bottom, right) = TorchEquivalent.TrailingPadding(window);
        return $"{Layer}.Conv2D(\"{tensors}weight\", {Bias(conv, tensors)}, {window.Kernel}, {window.Stride}, {window.PadTop}, {window.PadLeft}, {bottom}, {right}, {Activation(conv.Activation, conv.Alpha)}),";
    }

    private static string Bias(IWeightedPlan layer, string tensors) => layer.HasBias ? $"\"{tensors}bias\"" : "null";

    private static string Activation(Activation activation, float alpha) =>
        $"global::ModelGen.Activation.{activation}, {Emitter.Float(alpha)}";
}
