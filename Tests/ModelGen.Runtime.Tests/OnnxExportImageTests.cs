using System;
using System.Collections.Generic;
using ModelGen.Onnx;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Convolution, pooling, global pooling and normalization of images, exported from a <see cref="TensorModel"/> that
/// holds PyTorch's layouts (convolution weights [out, in, kh, kw]) and run in ONNX Runtime, against a plain
/// double-precision computation of the same layers (<see cref="ReferenceNetwork"/>), to 1e-5. These check the
/// exporter on its own, without ModelGen's kernels, and cover shapes no generated model has (four different paddings,
/// an image as the output); <see cref="OnnxExportConvolutionTests"/> exports generated convolutional models.
/// </summary>
public class OnnxExportImageTests(ITestOutputHelper output)
{
    private const int Batch = 5;

    public static TheoryData<string> Cases => new(NetworkCases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference(string name)
    {
        var (model, inputShape, layers) = NetworkCases[name]();
        var inputs = OnnxHarness.RandomValues(Batch * model.InputSize, seed: name.Length);
        var expected = new List<double>();
        for (var n = 0; n < Batch; n++)
        {
            var sample = inputs.AsSpan(n * model.InputSize, model.InputSize);
            var output = ReferenceNetwork.Predict(model, inputShape, layers, sample);
            Assert.Equal(model.OutputSize, output.Length);
            expected.AddRange(output);
        }

        var onnx = OnnxHarness.Export("image-" + name, model, inputShape, layers);
        OnnxHarness.AssertInitializersAreTheTensors(model, onnx, exactShapes: false);   // one case's flat γ is exported [c, h, w]
        var actual = OnnxHarness.Run(onnx, inputs, inputShape, model.OutputSize);
        output.WriteLine($"{name}: largest difference {OnnxHarness.AssertClose(expected, actual):E2} (scaled by max(1, |expected|))");
    }

    // Tensors are named as in the state_dict of the equivalent PyTorch nn.Sequential, where every module counts: an
    // activation is a module of its own after its Linear or Conv2d, a convolution padded unevenly has a ZeroPad2d
    // before it, global pooling is AdaptiveAvgPool2d and Flatten, and batch norm has num_batches_tracked.
    private static readonly Dictionary<string, Func<(TensorModel Model, int[] InputShape, OnnxLayer[] Layers)>> NetworkCases = new()
    {
        // Same padding, max pooling, a strided convolution padded differently on each of its four sides (so that an
        // ONNX pads order other than [top, left, bottom, right] changes the result; no generated model pads so),
        // flatten and dense layers. Modules: Conv2d, ReLU, MaxPool2d, ZeroPad2d, Conv2d, GELU, Flatten, Dropout,
        // Linear, Tanh, Linear.
        ["conv-pool-flatten"] = () => (
            new TensorModel(3 * 9 * 8, 3, Loss.SoftmaxCrossEntropy, seed: 1,
                P("layers.0.weight", 4, 3, 3, 3), P("layers.0.bias", 4),
                P("layers.4.weight", 5, 4, 3, 3), P("layers.4.bias", 5),
                P("layers.8.weight", 6, 20), P("layers.8.bias", 6),
                P("layers.10.weight", 3, 6), P("layers.10.bias", 3)),
            [3, 9, 8],
            [
                OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 1, 1, 1, 1, Activation.Relu),   // 4 × 9 × 8
                OnnxLayer.MaxPool2D(2, 2),                                                                                      // 4 × 4 × 4
                OnnxLayer.Conv2D("layers.4.weight", "layers.4.bias", kernel: 3, stride: 2, 0, 2, 1, 0, Activation.Gelu),   // 5 × 2 × 2
                OnnxLayer.Flatten(),
                OnnxLayer.Dropout(),
                OnnxLayer.Dense("layers.8.weight", "layers.8.bias", Activation.Tanh),
                OnnxLayer.Dense("layers.10.weight", "layers.10.bias"),
            ]),

        // Batch norm per channel of an image and of a globally pooled vector ([N, C, 1, 1]), overlapping average
        // pooling, layer norm over (c, h, w) with γ and β of shape [c, h, w], global pooling straight into Gemm.
        // Modules: Conv2d, SiLU, BatchNorm2d, AvgPool2d, LayerNorm, AdaptiveAvgPool2d, Flatten, BatchNorm1d,
        // Linear, LeakyReLU, Linear.
        ["conv-batchnorm-avgpool-layernorm-global"] = () => (
            new TensorModel(2 * 6 * 5, 2, Loss.BinaryCrossEntropy, seed: 2,
                P("layers.0.weight", 3, 2, 3, 3), P("layers.0.bias", 3),
                P("layers.2.weight", 3), P("layers.2.bias", 3), S("layers.2.running_mean", 3), S("layers.2.running_var", 3), S("layers.2.num_batches_tracked"),
                P("layers.4.weight", 3, 3, 2), P("layers.4.bias", 3, 3, 2),
                P("layers.7.weight", 3), P("layers.7.bias", 3), S("layers.7.running_mean", 3), S("layers.7.running_var", 3), S("layers.7.num_batches_tracked"),
                P("layers.8.weight", 4, 3), P("layers.8.bias", 4),
                P("layers.10.weight", 2, 4), P("layers.10.bias", 2)),
            [2, 6, 5],
            [
                OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 0, 0, 0, 0, Activation.Silu),   // 3 × 4 × 3
                OnnxLayer.BatchNorm("layers.2.weight", "layers.2.bias", "layers.2.running_mean", "layers.2.running_var", 1e-3f),
                OnnxLayer.AvgPool2D(2, 1),                                                                                       // 3 × 3 × 2
                OnnxLayer.LayerNorm("layers.4.weight", "layers.4.bias", 1e-5f),
                OnnxLayer.GlobalAvgPool2D(),                                                                                     // 3
                OnnxLayer.BatchNorm("layers.7.weight", "layers.7.bias", "layers.7.running_mean", "layers.7.running_var", 1e-2f),
                OnnxLayer.Dense("layers.8.weight", "layers.8.bias", Activation.LeakyRelu, 0.1f),
                OnnxLayer.Dense("layers.10.weight", "layers.10.bias"),
            ]),

        // Batch norm of a one-channel input image, a strided valid convolution with ELU, overlapping max pooling, a
        // 1 × 1 convolution, layer norm with flat γ and β (reshaped to [c, h, w]) and layer norm after global pooling.
        // Modules: BatchNorm2d, Conv2d, ELU, MaxPool2d, Conv2d, Sigmoid, LayerNorm, AdaptiveAvgPool2d, Flatten,
        // LayerNorm, Linear.
        ["batchnorm-input-strided-conv-layernorm"] = () => (
            new TensorModel(7 * 7, 3, Loss.MeanSquaredError, seed: 3,
                P("layers.0.weight", 1), P("layers.0.bias", 1), S("layers.0.running_mean", 1), S("layers.0.running_var", 1), S("layers.0.num_batches_tracked"),
                P("layers.1.weight", 4, 1, 2, 2), P("layers.1.bias", 4),
                P("layers.4.weight", 2, 4, 1, 1), P("layers.4.bias", 2),
                P("layers.6.weight", 8), P("layers.6.bias", 8),
                P("layers.9.weight", 2), P("layers.9.bias", 2),
                P("layers.10.weight", 3, 2), P("layers.10.bias", 3)),
            [1, 7, 7],
            [
                OnnxLayer.BatchNorm("layers.0.weight", "layers.0.bias", "layers.0.running_mean", "layers.0.running_var", 1e-3f),
                OnnxLayer.Conv2D("layers.1.weight", "layers.1.bias", kernel: 2, stride: 2, 0, 0, 0, 0, Activation.Elu),    // 4 × 3 × 3
                OnnxLayer.MaxPool2D(2, 1),                                                                                       // 4 × 2 × 2
                OnnxLayer.Conv2D("layers.4.weight", "layers.4.bias", kernel: 1, stride: 1, 0, 0, 0, 0, Activation.Sigmoid), // 2 × 2 × 2
                OnnxLayer.LayerNorm("layers.6.weight", "layers.6.bias", 1e-3f),
                OnnxLayer.GlobalAvgPool2D(),                                                                                     // 2
                OnnxLayer.LayerNorm("layers.9.weight", "layers.9.bias", 1e-5f),
                OnnxLayer.Dense("layers.10.weight", "layers.10.bias"),
            ]),

        // The declared image flattened in its own (c, h, w) order, then vector layers. Modules: Flatten, LayerNorm,
        // Linear, SiLU, Dropout, Linear, ReLU.
        ["flattened-input"] = () => (
            new TensorModel(2 * 3 * 4, 3, Loss.MeanSquaredError, seed: 4,
                P("layers.1.weight", 24), P("layers.1.bias", 24),
                P("layers.2.weight", 5, 24), P("layers.2.bias", 5),
                P("layers.5.weight", 3, 5), P("layers.5.bias", 3)),
            [2, 3, 4],
            [
                OnnxLayer.Flatten(),
                OnnxLayer.LayerNorm("layers.1.weight", "layers.1.bias", 1e-5f),
                OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.Silu),
                OnnxLayer.Dropout(),
                OnnxLayer.Dense("layers.5.weight", "layers.5.bias", Activation.Relu),
            ]),

        // A network that ends on an image: the output is that image flattened, [N, c·h·w]. Modules: Conv2d, Tanh.
        ["image-output"] = () => (
            new TensorModel(2 * 4 * 4, 3 * 4 * 4, Loss.MeanSquaredError, seed: 5,
                P("layers.0.weight", 3, 2, 3, 3), P("layers.0.bias", 3)),
            [2, 4, 4],
            [OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 1, 1, 1, 1, Activation.Tanh)]),
    };

    private static (string, int[], bool) P(string name, params int[] shape) => (name, shape, false);

    private static (string, int[], bool) S(string name, params int[] shape) => (name, shape, true);
}
