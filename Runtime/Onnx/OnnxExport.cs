using System;
using System.Collections.Generic;
using System.IO;
using ModelGen.Serialization;

namespace ModelGen.Onnx;

/// <summary>
/// Writes a model as an ONNX file (opset 17, IR version 8) that computes what <see cref="ITrainableModel.PredictBatch"/>
/// computes: input <c>input</c> [batch, …one sample's shape] and output <c>output</c> [batch, outputs], float, with the
/// weights as initializers named as in the model's weights file. After the last layer comes what the loss makes
/// <c>Predict</c> return: Softmax (axis 1) for <see cref="Loss.SoftmaxCrossEntropy"/>, Sigmoid for
/// <see cref="Loss.BinaryCrossEntropy"/>, nothing for the regression losses.
/// </summary>
/// <remarks>
/// The protocol buffers are encoded here, by hand, with no ONNX or protobuf package and no reflection. Tensors are
/// read in their file layout (<see cref="ParameterTensor.CopyToFileOrder"/>), which is PyTorch's: a dense weight
/// [units, inputs] (Gemm with transB = 1), a convolution weight [out, in, kernel, kernel]. Images are channels-first
/// (NCHW), as ONNX and the model's declared input are, so a dense layer after <c>[Flatten]</c> must hold its weights in
/// (channel, height, width) order, as PyTorch's <c>nn.Flatten</c> gives them.
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX operator set the graph is written for (LayerNormalization needs 17).</summary>
    public const int OpsetVersion = 17;

    /// <summary>The ONNX IR version written (the one that goes with opset 17).</summary>
    public const int IrVersion = 8;

    /// <summary>The graph's input, [batch, …one sample's shape].</summary>
    public const string InputName = "input";

    /// <summary>The graph's output, [batch, outputs].</summary>
    public const string OutputName = "output";

    /// <summary>The symbolic batch dimension of the input and the output.</summary>
    public const string BatchDimension = "batch";

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> as an ONNX file, replacing it only once the new file
    /// is complete (a temporary file beside it, flushed, then renamed over it): a failed export leaves the old file.
    /// </summary>
    /// <param name="model">The model whose weights (and running statistics) go into the file.</param>
    /// <param name="inputShape">One sample as the model declares it: [n] or [channels, height, width].</param>
    /// <param name="layers">The model's layers in order, one per layer attribute after <c>[Input]</c>.</param>
    /// <param name="path">The file to write.</param>
    /// <exception cref="ArgumentException">The layers do not fit the model's tensors or shapes (nothing is written).</exception>
    public static void Save(ITrainableModel model, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Write(model, inputShape, layers);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Saves through a stream the caller opens, so tests can make a save fail halfway.</summary>
    internal static void Save(ITrainableModel model, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers, string path, Func<string, Stream> openTemporary)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Write(model, inputShape, layers);
        AtomicFile.Write(path, stream => stream.Write(bytes), openTemporary);
    }

    /// <summary>The bytes of the ONNX file <see cref="Save(ITrainableModel, ReadOnlySpan{int}, IReadOnlyList{OnnxLayer}, string)"/> writes.</summary>
    /// <param name="model">The model whose weights (and running statistics) go into the file.</param>
    /// <param name="inputShape">One sample as the model declares it: [n] or [channels, height, width].</param>
    /// <param name="layers">The model's layers in order, one per layer attribute after <c>[Input]</c>.</param>
    /// <exception cref="ArgumentException">The layers do not fit the model's tensors or shapes.</exception>
    public static byte[] Write(ITrainableModel model, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        var graph = OnnxGraphBuilder.Build(model, inputShape, layers);
        var name = model.GetType().Name;

        var opset = new ProtoWriter(16);
        opset.String(1, string.Empty);                  // OperatorSetIdProto.domain: the default ONNX domain
        opset.Int64(2, OpsetVersion);                   // OperatorSetIdProto.version

        var file = new ProtoWriter(graph.Length + 128);
        file.Int64(1, IrVersion);                       // ModelProto.ir_version
        file.String(2, "ModelGen");                     // ModelProto.producer_name
        file.String(3, ProducerVersion);                // ModelProto.producer_version
        file.Message(7, graph.Encode(name));            // ModelProto.graph
        file.Message(8, opset);                         // ModelProto.opset_import
        return file.Written.ToArray();
    }

    private static string ProducerVersion => typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
