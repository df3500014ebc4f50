using System;
using System.Collections.Generic;
using ModelGen.Onnx;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Convolution, pooling, global pooling and normalization of images, exported from a <see cref="TensorModel"/> that
/// holds PyTorch's layouts (convolution weights [out, in, kh, kw]) and run in ONNX Runtime, against a plain
/// double-precision computation of the same layers (<see cref="ReferenceNetwork"/>), to 1e-5.
/// </summary>
public class OnnxExportImageTests
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
        var actual = OnnxHarness.Run(onnx, inputs, inputShape, model.OutputSize);
        OnnxHarness.AssertClose(expected, actual);
    }

    private static readonly Dictionary<string, Func<(TensorModel Model, int[] InputShape, OnnxLayer[] Layers)>> NetworkCases = new()
    {
        // Same padding, max pooling, a strided convolution padded differently on each of its four sides (so that an
        // ONNX pads order other than [top, left, bottom, right] changes the result), flatten and dense layers.
        ["conv-pool-flatten"] = () => (
            new TensorModel(3 * 9 * 8, 3, Loss.SoftmaxCrossEntropy, seed: 1,
                P("layers.0.weight", 4, 3, 3, 3), P("layers.0.bias", 4),
                P("layers.2.weight", 5, 4, 3, 3), P("layers.2.bias", 5),
                P("layers.5.weight", 6, 20), P("layers.5.bias", 6),
                P("layers.6.weight", 3, 6), P("layers.6.bias", 3)),
            [3, 9, 8],
            [
                OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 1, 1, 1, 1, Activation.Relu),   // 4 × 9 × 8
                OnnxLayer.MaxPool2D(2, 2),                                                                                      // 4 × 4 × 4
                OnnxLayer.Conv2D("layers.2.weight", "layers.2.bias", kernel: 3, stride: 2, 0, 2, 1, 0, Activation.Gelu),   // 5 × 2 × 2
                OnnxLayer.Flatten(),
                OnnxLayer.Dropout(),
                OnnxLayer.Dense("layers.5.weight", "layers.5.bias", Activation.Tanh),
                OnnxLayer.Dense("layers.6.weight", "layers.6.bias"),
            ]),

        // Batch norm per channel of an image and of a globally pooled vector ([N, C, 1, 1]), overlapping average
        // pooling, layer norm over (c, h, w) with γ and β of shape [c, h, w], global pooling straight into Gemm.
        ["conv-batchnorm-avgpool-layernorm-global"] = () => (
            new TensorModel(2 * 6 * 5, 2, Loss.BinaryCrossEntropy, seed: 2,
                P("layers.0.weight", 3, 2, 3, 3), P("layers.0.bias", 3),
                P("layers.1.weight", 3), P("layers.1.bias", 3), S("layers.1.running_mean", 3), S("layers.1.running_var", 3),
                P("layers.3.weight", 3, 3, 2), P("layers.3.bias", 3, 3, 2),
                P("layers.5.weight", 3), P("layers.5.bias", 3), S("layers.5.running_mean", 3), S("layers.5.running_var", 3),
                P("layers.6.weight", 4, 3), P("layers.6.bias", 4),
                P("layers.7.weight", 2, 4), P("layers.7.bias", 2)),
            [2, 6, 5],
            [
                OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 0, 0, 0, 0, Activation.Silu),   // 3 × 4 × 3
                OnnxLayer.BatchNorm("layers.1.weight", "layers.1.bias", "layers.1.running_mean", "layers.1.running_var", 1e-3f),
                OnnxLayer.AvgPool2D(2, 1),                                                                                       // 3 × 3 × 2
                OnnxLayer.LayerNorm("layers.3.weight", "layers.3.bias", 1e-5f),
                OnnxLayer.GlobalAvgPool2D(),                                                                                     // 3
                OnnxLayer.BatchNorm("layers.5.weight", "layers.5.bias", "layers.5.running_mean", "layers.5.running_var", 1e-2f),
                OnnxLayer.Dense("layers.6.weight", "layers.6.bias", Activation.LeakyRelu, 0.1f),
                OnnxLayer.Dense("layers.7.weight", "layers.7.bias"),
            ]),

        // Batch norm of a one-channel input image, a strided valid convolution with ELU, overlapping max pooling, a
        // 1 × 1 convolution, layer norm with flat γ and β (reshaped to [c, h, w]) and layer norm after global pooling.
        ["batchnorm-input-strided-conv-layernorm"] = () => (
            new TensorModel(7 * 7, 3, Loss.MeanSquaredError, seed: 3,
                P("layers.0.weight", 1), P("layers.0.bias", 1), S("layers.0.running_mean", 1), S("layers.0.running_var", 1),
                P("layers.1.weight", 4, 1, 2, 2), P("layers.1.bias", 4),
                P("layers.3.weight", 2, 4, 1, 1), P("layers.3.bias", 2),
                P("layers.4.weight", 8), P("layers.4.bias", 8),
                P("layers.6.weight", 2), P("layers.6.bias", 2),
                P("layers.7.weight", 3, 2), P("layers.7.bias", 3)),
            [1, 7, 7],
            [
                OnnxLayer.BatchNorm("layers.0.weight", "layers.0.bias", "layers.0.running_mean", "layers.0.running_var", 1e-3f),
                OnnxLayer.Conv2D("layers.1.weight", "layers.1.bias", kernel: 2, stride: 2, 0, 0, 0, 0, Activation.Elu),    // 4 × 3 × 3
                OnnxLayer.MaxPool2D(2, 1),                                                                                       // 4 × 2 × 2
                OnnxLayer.Conv2D("layers.3.weight", "layers.3.bias", kernel: 1, stride: 1, 0, 0, 0, 0, Activation.Sigmoid), // 2 × 2 × 2
                OnnxLayer.LayerNorm("layers.4.weight", "layers.4.bias", 1e-3f),
                OnnxLayer.GlobalAvgPool2D(),                                                                                     // 2
                OnnxLayer.LayerNorm("layers.6.weight", "layers.6.bias", 1e-5f),
                OnnxLayer.Dense("layers.7.weight", "layers.7.bias"),
            ]),

        // The declared image flattened in its own (c, h, w) order, then vector layers.
        ["flattened-input"] = () => (
            new TensorModel(2 * 3 * 4, 3, Loss.MeanSquaredError, seed: 4,
                P("layers.1.weight", 24), P("layers.1.bias", 24),
                P("layers.2.weight", 5, 24), P("layers.2.bias", 5),
                P("layers.4.weight", 3, 5), P("layers.4.bias", 3)),
            [2, 3, 4],
            [
                OnnxLayer.Flatten(),
                OnnxLayer.LayerNorm("layers.1.weight", "layers.1.bias", 1e-5f),
                OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.Silu),
                OnnxLayer.Dropout(),
                OnnxLayer.Dense("layers.4.weight", "layers.4.bias", Activation.Relu),
            ]),

        // A network that ends on an image: the output is that image flattened, [N, c·h·w].
        ["image-output"] = () => (
            new TensorModel(2 * 4 * 4, 3 * 4 * 4, Loss.MeanSquaredError, seed: 5,
                P("layers.0.weight", 3, 2, 3, 3), P("layers.0.bias", 3)),
            [2, 4, 4],
            [OnnxLayer.Conv2D("layers.0.weight", "layers.0.bias", kernel: 3, stride: 1, 1, 1, 1, 1, Activation.Tanh)]),
    };

    private static (string, int[], bool) P(string name, params int[] shape) => (name, shape, false);

    private static (string, int[], bool) S(string name, params int[] shape) => (name, shape, true);
}
