using System;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Generated dense models exported with their own <c>ExportOnnx(path)</c> and run in ONNX Runtime give what
/// <see cref="ITrainableModel.PredictBatch"/> gives, to 1e-5: every activation, batch and layer normalization of
/// vectors, dropout, and each loss's output. The file's initializers are the model's state_dict (its PyTorch module's
/// names, shapes and values). Convolutional models are in <see cref="OnnxExportConvolutionTests"/>.
/// </summary>
public class OnnxExportModelTests(ITestOutputHelper output)
{
    private const int Batch = 7;

    [Fact]
    public void Every_activation_matches_PredictBatch()
    {
        // LeakyRelu and Elu once with the default α and once with a declared one.
        var model = new ActivationZoo(seed: 3);
        AssertSameAsPredictBatch(nameof(ActivationZoo), model, [3], model.ExportOnnx);
    }

    [Fact]
    public void Batch_norm_layer_norm_and_dropout_on_vectors_match_PredictBatch()
    {
        var model = new NormalizedMlp(seed: 4);
        AssertSameAsPredictBatch(nameof(NormalizedMlp), model, [12], model.ExportOnnx);
    }

    [Fact]
    public void Mean_squared_error_outputs_the_last_layer()
    {
        var model = new SmallMlp(seed: 5);
        AssertSameAsPredictBatch(nameof(SmallMlp), model, [20], model.ExportOnnx);
    }

    [Fact]
    public void Mean_absolute_error_outputs_the_last_layer()
    {
        var model = new AbsoluteRegressor(seed: 6);
        AssertSameAsPredictBatch(nameof(AbsoluteRegressor), model, [5], model.ExportOnnx);
    }

    [Fact]
    public void Huber_outputs_the_last_layer()
    {
        var model = new HuberRegressor(seed: 7);
        AssertSameAsPredictBatch(nameof(HuberRegressor), model, [5], model.ExportOnnx);
    }

    [Fact]
    public void Softmax_cross_entropy_outputs_probabilities()
    {
        var model = new DropoutClassifier(seed: 8);
        AssertSameAsPredictBatch(nameof(DropoutClassifier), model, [64], model.ExportOnnx);
    }

    [Fact]
    public void Binary_cross_entropy_outputs_sigmoid_probabilities()
    {
        var model = new TwoLabelClassifier(seed: 9);
        AssertSameAsPredictBatch(nameof(TwoLabelClassifier), model, [6], model.ExportOnnx);
    }

    [Fact]
    public void The_fashion_classifier_matches_PredictBatch()
    {
        // 784-256-128-10: every product a blocked GEMM, the initializers 0.9 MB.
        var model = new FashionClassifier(seed: 10);
        AssertSameAsPredictBatch(nameof(FashionClassifier), model, [784], model.ExportOnnx);
    }

    [Fact]
    public void A_model_with_baked_weights_exports_them()
    {
        // The compiler's copy of Weights/baked-classifier.safetensors, with batch norm's running statistics in it.
        var model = new BakedClassifier();
        AssertSameAsPredictBatch(nameof(BakedClassifier), model, [20], model.ExportOnnx, randomize: false);
    }

    private void AssertSameAsPredictBatch(string name, ITrainableModel model, int[] inputShape, Action<string> exportOnnx, bool randomize = true)
    {
        if (randomize)
        {
            OnnxHarness.RandomizeConstants(model, seed: name.Length);
        }

        var inputs = OnnxHarness.RandomValues(Batch * model.InputSize, seed: 100 + name.Length);
        var (_, largest) = OnnxHarness.AssertSameAsPredictBatch(name, model, inputShape, exportOnnx, inputs);
        output.WriteLine($"{name}: largest difference {largest:E2} (scaled by max(1, |expected|))");
    }
}
