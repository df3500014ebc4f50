using System;
using System.IO;
using System.Linq;
using ModelGen.Onnx;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The ONNX file as a file: atomic replacement, the wire encoding, and layers that do not fit the model refused.</summary>
public sealed class OnnxExportFileTests : IDisposable
{
    // SmallMlp's PyTorch module: Linear (layers.0), ReLU, Linear (layers.2), Tanh, Linear (layers.4), Sigmoid.
    private static readonly OnnxLayer[] SmallMlpLayers =
    [
        OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
        OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.Tanh),
        OnnxLayer.Dense("layers.4.weight", "layers.4.bias", Activation.Sigmoid),
    ];

    // NormalizedCnn's: Conv2d (layers.0), ReLU, BatchNorm2d (layers.2), AvgPool2d, Conv2d (layers.4), ReLU,
    // BatchNorm2d (layers.6), AdaptiveAvgPool2d, Flatten, Linear (layers.9).
    private static readonly OnnxLayer[] NormalizedCnnLayers =
    [
        OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 1, 1, 1, 1, Activation.Relu),
        OnnxLayer.BatchNorm("layers.2.weight", "layers.2.bias", "layers.2.running_mean", "layers.2.running_var", 1e-3f),
        OnnxLayer.AvgPool2D(2, 2),
        OnnxLayer.Conv2D("layers.4.weight", "layers.4.bias", kernel: 3, stride: 1, 1, 1, 1, 1, Activation.Relu),
        OnnxLayer.BatchNorm("layers.6.weight", "layers.6.bias", "layers.6.running_mean", "layers.6.running_var", 1e-3f),
        OnnxLayer.GlobalAvgPool2D(),
        OnnxLayer.Dense("layers.9.weight", "layers.9.bias"),
    ];

    // OnnxStridedCnn's (OnnxTestModels.cs), every convolution padded unevenly: ZeroPad2d, Conv2d (layers.1), LeakyReLU,
    // ZeroPad2d, Conv2d (layers.4), Tanh, ZeroPad2d, Conv2d (layers.7), ELU, MaxPool2d, Flatten, Linear (layers.11).
    private static readonly OnnxLayer[] StridedCnnLayers =
    [
        OnnxLayer.Conv2D("layers.1.weight", "layers.1.bias", kernel: 2, stride: 1, 0, 0, 1, 1, Activation.LeakyRelu, 0.1f),
        OnnxLayer.Conv2D("layers.4.weight", "layers.4.bias", kernel: 3, stride: 2, 1, 0, 1, 1, Activation.Tanh),
        OnnxLayer.Conv2D("layers.7.weight", "layers.7.bias", kernel: 4, stride: 2, 1, 1, 2, 1, Activation.Elu),
        OnnxLayer.MaxPool2D(2, 1),
        OnnxLayer.Flatten(),
        OnnxLayer.Dense("layers.11.weight", "layers.11.bias"),
    ];

    private readonly string directory = Directory.CreateTempSubdirectory("modelgen-onnx-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void Save_writes_what_Write_returns_and_a_failed_save_leaves_the_old_file()
    {
        var path = Path.Combine(directory, "model.onnx");
        var first = new SmallMlp(seed: 1);
        OnnxExport.Save(first, [20], SmallMlpLayers, path);
        var good = File.ReadAllBytes(path);
        Assert.Equal(OnnxExport.Write(first, [20], SmallMlpLayers), good);

        // The disk fills up partway through the new file.
        var second = new SmallMlp(seed: 2);
        Assert.Throws<IOException>(() => OnnxExport.Save(second, [20], SmallMlpLayers, path, temporary => new FailingStream(File.Create(temporary), failAfter: 64)));
        Assert.Equal(good, File.ReadAllBytes(path));
        Assert.Equal(["model.onnx"], Directory.GetFiles(directory).Select(Path.GetFileName));

        // Layers that do not fit the model: refused before any file is opened.
        Assert.Throws<ArgumentException>(() => OnnxExport.Save(second, [20], SmallMlpLayers.Take(2).ToArray(), path));
        Assert.Equal(good, File.ReadAllBytes(path));
        Assert.Equal(["model.onnx"], Directory.GetFiles(directory).Select(Path.GetFileName));

        // And a good save replaces it.
        OnnxExport.Save(second, [20], SmallMlpLayers, path);
        Assert.NotEqual(good, File.ReadAllBytes(path));
    }

    [Fact]
    public void ExportOnnx_saves_the_layers_the_generator_describes_named_as_the_PyTorch_module()
    {
        // A generated model's ExportOnnx(path) is OnnxExport.Save with the OnnxLayers the generator writes: the same
        // bytes as the layers written out here by hand from the module in the model's remarks.
        var mlp = new SmallMlp(seed: 4);
        var path = Path.Combine(directory, "mlp.onnx");
        mlp.ExportOnnx(path);
        Assert.Equal(OnnxExport.Write(mlp, [20], SmallMlpLayers), File.ReadAllBytes(path));

        var cnn = new NormalizedCnn(seed: 5);
        OnnxHarness.RandomizeConstants(cnn, seed: 6);
        cnn.ExportOnnx(path);
        Assert.Equal(OnnxExport.Write(cnn, [1, 28, 28], NormalizedCnnLayers), File.ReadAllBytes(path));

        // Uneven "same" padding: the zeros below and right are the Conv's pads, and the ZeroPad2d module shifts the names.
        var strided = new OnnxStridedCnn(seed: 7);
        strided.ExportOnnx(path);
        Assert.Equal(OnnxExport.Write(strided, [2, 9, 8], StridedCnnLayers), File.ReadAllBytes(path));
        Assert.Equal(["mlp.onnx"], Directory.GetFiles(directory).Select(Path.GetFileName));   // replaced each time, no temporary file left
    }

    [Fact]
    public void The_same_model_gives_the_same_bytes()
    {
        Assert.Equal(OnnxExport.Write(new SmallMlp(seed: 3), [20], SmallMlpLayers), OnnxExport.Write(new SmallMlp(seed: 3), [20], SmallMlpLayers));
    }

    [Fact]
    public void The_file_starts_with_the_IR_version_and_ends_with_opset_17_of_the_default_domain()
    {
        var bytes = OnnxExport.Write(new SmallMlp(seed: 3), [20], SmallMlpLayers);
        Assert.Equal(new byte[] { 0x08, 8 }, bytes[..2]);                                  // field 1 (ir_version), varint 8
        Assert.Equal(new byte[] { 0x42, 4, 0x0A, 0, 0x10, 17 }, bytes[^6..]);              // field 8 (opset_import): domain "", version 17
    }

    [Fact]
    public void Varints_floats_and_strings_are_encoded_as_protobuf_does()
    {
        var writer = new ProtoWriter();
        writer.Int64(1, 300);
        Assert.Equal(new byte[] { 0x08, 0xAC, 0x02 }, writer.Written.ToArray());

        writer = new ProtoWriter();
        writer.Int64(3, -1);                                                               // ten bytes, two's complement
        Assert.Equal(new byte[] { 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, writer.Written.ToArray());

        writer = new ProtoWriter();
        writer.Float(2, 1f);
        Assert.Equal(new byte[] { 0x15, 0x00, 0x00, 0x80, 0x3F }, writer.Written.ToArray());

        writer = new ProtoWriter();
        writer.String(20, "γ");                                                            // key 20·8+2 = 162: two bytes
        Assert.Equal(new byte[] { 0xA2, 0x01, 2, 0xCE, 0xB3 }, writer.Written.ToArray());

        writer = new ProtoWriter(16);
        writer.RawSingles(9, new float[100]);                                              // grows past its first buffer
        Assert.Equal(3 + 400, writer.Length);
        Assert.Equal(new byte[] { 0x4A, 0x90, 0x03 }, writer.Written[..3].ToArray());
    }

    [Fact]
    public void Layers_that_do_not_fit_the_model_are_refused_with_the_layer_named()
    {
        var model = new SmallMlp(seed: 1);

        var missing = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [20],
            [OnnxLayer.Dense("layers.0.weight", "layers.9.bias"), .. SmallMlpLayers[1..]]));
        Assert.Contains("Layer 0 (Dense): the bias 'layers.9.bias' is not one of the model's ParameterTensors", missing.Message);

        var swapped = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [20],
            [SmallMlpLayers[0], SmallMlpLayers[2], SmallMlpLayers[1]]));
        Assert.Contains("Layer 1 (Dense): the weight 'layers.4.weight' has shape [3, 17]; a dense layer on 33 inputs needs [units, 33]", swapped.Message);

        // Tensors named by ModelGen's layer index, as files were before every PyTorch module counted: SmallMlp's second
        // dense layer is module 2, and module 1 (its ReLU) has no tensor.
        var oldNames = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [20],
            [SmallMlpLayers[0], OnnxLayer.Dense("layers.1.weight", "layers.1.bias", Activation.Tanh), SmallMlpLayers[2]]));
        Assert.Contains("Layer 1 (Dense): the weight 'layers.1.weight' is not one of the model's ParameterTensors", oldNames.Message);

        var input = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [4, 5, 2], SmallMlpLayers));
        Assert.Contains("[4, 5, 2] holds 40 values but the model's InputSize is 20", input.Message);

        Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [4, 5], SmallMlpLayers));

        var image = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [20], [OnnxLayer.MaxPool2D(2, 2), .. SmallMlpLayers]));
        Assert.Contains("Layer 0 (MaxPool2D): it needs an image [channels, height, width] but gets [20]", image.Message);
    }

    [Fact]
    public void Batch_norm_refuses_the_batch_counter_and_a_statistic_of_another_layer()
    {
        // num_batches_tracked is one of a generated model's ParameterTensors, an int64 with no float: never a γ.
        var model = new NormalizedCnn(seed: 1);
        var counter = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [1, 28, 28],
        [
            NormalizedCnnLayers[0],
            OnnxLayer.BatchNorm("layers.2.num_batches_tracked", "layers.2.bias", "layers.2.running_mean", "layers.2.running_var", 1e-3f),
            .. NormalizedCnnLayers[2..],
        ]));
        Assert.Contains("Layer 1 (BatchNorm): γ 'layers.2.num_batches_tracked' has shape [", counter.Message);
        Assert.Contains("it needs 8 values, [8]", counter.Message);

        // The second batch norm's running mean (16 channels) where the first's (8) belongs.
        var other = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [1, 28, 28],
        [
            NormalizedCnnLayers[0],
            OnnxLayer.BatchNorm("layers.2.weight", "layers.2.bias", "layers.6.running_mean", "layers.2.running_var", 1e-3f),
            .. NormalizedCnnLayers[2..],
        ]));
        Assert.Contains("Layer 1 (BatchNorm): the running mean 'layers.6.running_mean' has shape [16]; it needs 8 values, [8]", other.Message);
    }

    [Fact]
    public void A_convolution_weight_must_be_in_PyTorch_layout()
    {
        // A kernel kept [filters, kh·kw·channels], as generated convolutions saved theirs before their files took
        // nn.Conv2d's layout, is not exported as if it were [filters, channels, kh, kw].
        var model = new TensorModel(2 * 5 * 5, 3 * 3 * 3, Loss.MeanSquaredError, seed: 1,
            ("layers.0.weight", [3, 18], false), ("layers.0.bias", [3], false));
        var error = Assert.Throws<ArgumentException>(() => OnnxExport.Write(model, [2, 5, 5],
            [OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 0, 0, 0, 0)]));
        Assert.Contains("has shape [3, 18]; a 3×3 convolution of 2 channels needs PyTorch's layout [filters, 2, 3, 3]", error.Message);

        var tooLarge = new TensorModel(2 * 2 * 2, 3, Loss.MeanSquaredError, seed: 1,
            ("layers.0.weight", [3, 2, 3, 3], false), ("layers.0.bias", [3], false));
        Assert.Contains("a 3×3 kernel does not fit the padded input 2×2", Assert.Throws<ArgumentException>(() => OnnxExport.Write(tooLarge, [2, 2, 2],
            [OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 0, 0, 0, 0)])).Message);
    }

    [Fact]
    public void Layer_arguments_are_checked_where_the_layer_is_described()
    {
        Assert.Equal(0.01f, OnnxLayer.Dense("w", "b", Activation.LeakyRelu).Alpha);
        Assert.Equal(1f, OnnxLayer.Dense("w", "b", Activation.Elu).Alpha);
        Assert.Equal(0.3f, OnnxLayer.Conv2D("w", "b", 3, 1, 0, 0, 0, 0, Activation.Elu, 0.3f).Alpha);
        Assert.Throws<ArgumentException>(() => OnnxLayer.Dense("w", "b", Activation.Relu, 0.2f));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.Dense("w", "b", Activation.LeakyRelu, -0.2f));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.Dense("w", "b", (Activation)99));
        Assert.Throws<ArgumentException>(() => OnnxLayer.Dense("", "b"));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.Conv2D("w", "b", 3, 0, 0, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.Conv2D("w", "b", 3, 1, -1, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.MaxPool2D(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.LayerNorm("w", "b", 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxLayer.BatchNorm("w", "b", "m", "v", float.NaN));
    }
}
