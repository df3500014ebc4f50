using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Generated convolutional models, residual networks among them, trained a few steps (so that weights, biases, γ, β
/// and batch normalization's running statistics are not at their initial values), exported with their own
/// <c>ExportOnnx(path)</c> and run in ONNX Runtime, give what <see cref="ITrainableModel.PredictBatch"/> gives, to 1e-5
/// of max(1, |value|). The file's initializers are the model's state_dict: convolution kernels [filters, channels, kh,
/// kw], dense columns and flattened-image statistics in PyTorch's (c, h, w) order, tensors inside a residual
/// connection under its branch or shortcut (layers.3.branch.0.weight).
/// </summary>
public class OnnxExportConvolutionTests(ITestOutputHelper output)
{
    private const int Batch = 6;

    [Fact]
    public void The_fashion_cnn_matches_PredictBatch()
    {
        var model = new ModelGen.Samples.FashionMnist.FashionCnn(seed: 21);
        var operators = AssertSameAsPredictBatch(model, [1, 28, 28], model.ExportOnnx);
        Assert.Equal(
            ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"],
            operators);
    }

    [Fact]
    public void Batch_norm_after_convolutions_average_and_global_pooling_match_PredictBatch()
    {
        var model = new OnnxBatchNormCnn(seed: 22);
        var operators = AssertSameAsPredictBatch(model, [3, 12, 10], model.ExportOnnx);
        Assert.Equal(3, operators.Count(op => op == "BatchNormalization"));
        Assert.Equal(2, operators.Count(op => op == "AveragePool"));
        Assert.Contains("GlobalAveragePool", operators);
    }

    [Fact]
    public void Strided_convolutions_with_uneven_same_padding_match_PredictBatch()
    {
        var model = new OnnxStridedCnn(seed: 23);
        var operators = AssertSameAsPredictBatch(model, [2, 9, 8], model.ExportOnnx);
        Assert.Equal(3, operators.Count(op => op == "Conv"));      // the ZeroPad2d modules are the Conv's pads, not nodes
        Assert.DoesNotContain("Pad", operators);
    }

    [Fact]
    public void Layer_norm_of_an_image_matches_PredictBatch()
    {
        var model = new OnnxImageLayerNormCnn(seed: 24);
        var operators = AssertSameAsPredictBatch(model, [2, 8, 7], model.ExportOnnx);
        Assert.Contains("LayerNormalization", operators);
    }

    [Fact]
    public void Batch_norm_after_flattening_a_convolution_matches_PredictBatch()
    {
        var model = new OnnxFlatBatchNormCnn(seed: 25);
        var operators = AssertSameAsPredictBatch(model, [2, 7, 6], model.ExportOnnx);
        Assert.Equal(["Conv", "Relu", "Flatten", "BatchNormalization", "LayerNormalization"], operators.Take(5));
    }

    [Fact]
    public void The_test_models_small_and_normalized_cnns_match_PredictBatch()
    {
        // Declared in TestModels.cs for the training tests: a valid convolution after a same one, dropout after
        // flatten; and batch norm with momentum 0.9 before average and global pooling.
        var small = new SmallCnn(seed: 26);
        AssertSameAsPredictBatch(small, [1, 28, 28], small.ExportOnnx);
        var normalized = new NormalizedCnn(seed: 27);
        AssertSameAsPredictBatch(normalized, [1, 28, 28], normalized.ExportOnnx);
    }

    [Fact]
    public void Batch_norm_of_a_pooled_image_without_convolution_matches_PredictBatch()
    {
        // ChannelNormalizer: a 1 × 1 max pooling, then batch norm per channel of a three-channel image.
        var model = new ChannelNormalizer(seed: 28);
        AssertSameAsPredictBatch(model, [3, 4, 5], model.ExportOnnx);
    }

    [Fact]
    public void A_small_resnet_with_identity_and_projection_shortcuts_matches_PredictBatch()
    {
        // PyTorchModels.cs' TorchResNet: each residual connection is an Add of the branch's last batch norm and the
        // shortcut (the block's input itself, or the strided 1 × 1 Conv and its batch norm), then the Relu.
        var model = new TorchResNet(seed: 29);
        var operators = AssertSameAsPredictBatch(model, [2, 6, 6], model.ExportOnnx);
        Assert.Equal(
            [
                "Conv", "BatchNormalization", "Relu",
                "Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Add", "Relu",
                "Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Conv", "BatchNormalization", "Add", "Relu",
                "GlobalAveragePool", "Flatten", "Gemm", "Softmax",
            ],
            operators);
    }

    [Fact]
    public void The_fashion_resnet_matches_PredictBatch()
    {
        // The sample's ResNet: 15 convolutions, each with its batch normalization, in six residual connections (two
        // with a projection shortcut); its 15 batch norms' running statistics trained away from 0 and 1 first.
        var model = new ModelGen.Samples.FashionMnist.FashionResNet(seed: 30);
        var operators = AssertSameAsPredictBatch(model, [1, 28, 28], model.ExportOnnx);
        Assert.Equal(15, operators.Count(op => op == "Conv"));
        Assert.Equal(15, operators.Count(op => op == "BatchNormalization"));
        Assert.Equal(6, operators.Count(op => op == "Add"));
        Assert.Equal(1 + 6 + 6, operators.Count(op => op == "Relu")); // the stem's, one inside each block, one after each sum
    }

    /// <returns>The file's operator types, in graph order.</returns>
    private List<string> AssertSameAsPredictBatch(ITrainableModel model, int[] inputShape, Action<string> exportOnnx)
    {
        var name = model.GetType().Name;
        OnnxHarness.Train(model, steps: 4, batch: 8, seed: name.Length);
        var inputs = OnnxHarness.RandomValues(Batch * model.InputSize, seed: 200 + name.Length);
        var (file, largest) = OnnxHarness.AssertSameAsPredictBatch(name, model, inputShape, exportOnnx, inputs);
        output.WriteLine($"{name}: largest difference {largest:E2} (scaled by max(1, |expected|))");
        return OnnxFileReader.Operators(file);
    }
}
