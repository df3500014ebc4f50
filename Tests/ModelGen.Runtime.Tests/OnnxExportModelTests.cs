using System.Collections.Generic;
using ModelGen.Onnx;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Generated models exported to ONNX and run in ONNX Runtime give what <see cref="ITrainableModel.PredictBatch"/>
/// gives, to 1e-5: every activation, batch and layer normalization of vectors, dropout, and each loss's output.
/// The layer lists are written here as the generator will emit them.
/// </summary>
public class OnnxExportModelTests
{
    private const int Batch = 7;

    [Fact]
    public void Every_activation_matches_PredictBatch()
    {
        var model = new ActivationZoo(seed: 3);
        AssertSameAsPredictBatch(nameof(ActivationZoo), model, [3],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
            OnnxLayer.Dense("layers.1.weight", "layers.1.bias", Activation.LeakyRelu),              // α 0: the default, 0.01
            OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.LeakyRelu, 0.2f),
            OnnxLayer.Dense("layers.3.weight", "layers.3.bias", Activation.Elu),                    // α 0: the default, 1
            OnnxLayer.Dense("layers.4.weight", "layers.4.bias", Activation.Elu, 0.5f),
            OnnxLayer.Dense("layers.5.weight", "layers.5.bias", Activation.Gelu),
            OnnxLayer.Dense("layers.6.weight", "layers.6.bias", Activation.Silu),
            OnnxLayer.Dense("layers.7.weight", "layers.7.bias", Activation.Sigmoid),
            OnnxLayer.Dense("layers.8.weight", "layers.8.bias", Activation.Tanh),
            OnnxLayer.Dense("layers.9.weight", "layers.9.bias"),
        ]);
    }

    [Fact]
    public void Batch_norm_layer_norm_and_dropout_on_vectors_match_PredictBatch()
    {
        var model = new NormalizedMlp(seed: 4);
        AssertSameAsPredictBatch(nameof(NormalizedMlp), model, [12],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
            OnnxLayer.BatchNorm("layers.1.weight", "layers.1.bias", "layers.1.running_mean", "layers.1.running_var", 1e-2f),
            OnnxLayer.Dropout(),
            OnnxLayer.Dense("layers.3.weight", "layers.3.bias", Activation.Gelu),
            OnnxLayer.LayerNorm("layers.4.weight", "layers.4.bias", 1e-4f),
            OnnxLayer.Dense("layers.5.weight", "layers.5.bias"),
        ]);
    }

    [Fact]
    public void Mean_squared_error_outputs_the_last_layer()
    {
        AssertSameAsPredictBatch(nameof(SmallMlp), new SmallMlp(seed: 5), [20],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
            OnnxLayer.Dense("layers.1.weight", "layers.1.bias", Activation.Tanh),
            OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.Sigmoid),
        ]);
    }

    [Fact]
    public void Mean_absolute_error_outputs_the_last_layer()
    {
        AssertSameAsPredictBatch(nameof(AbsoluteRegressor), new AbsoluteRegressor(seed: 6), [5],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Tanh),
            OnnxLayer.Dense("layers.1.weight", "layers.1.bias"),
        ]);
    }

    [Fact]
    public void Huber_outputs_the_last_layer()
    {
        AssertSameAsPredictBatch(nameof(HuberRegressor), new HuberRegressor(seed: 7), [5],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Elu),
            OnnxLayer.Dense("layers.1.weight", "layers.1.bias"),
        ]);
    }

    [Fact]
    public void Softmax_cross_entropy_outputs_probabilities()
    {
        AssertSameAsPredictBatch(nameof(DropoutClassifier), new DropoutClassifier(seed: 8), [64],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
            OnnxLayer.Dropout(),
            OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.Relu),
            OnnxLayer.Dense("layers.3.weight", "layers.3.bias"),
        ]);
    }

    [Fact]
    public void Binary_cross_entropy_outputs_sigmoid_probabilities()
    {
        AssertSameAsPredictBatch(nameof(TwoLabelClassifier), new TwoLabelClassifier(seed: 9), [6],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
            OnnxLayer.Dense("layers.1.weight", "layers.1.bias"),
        ]);
    }

    [Fact]
    public void The_fashion_classifier_matches_PredictBatch()
    {
        // 784-256-128-10: every product a blocked GEMM, the initializers 0.9 MB.
        AssertSameAsPredictBatch(nameof(FashionClassifier), new FashionClassifier(seed: 10), [784],
        [
            OnnxLayer.Dense("layers.0.weight", "layers.0.bias", Activation.Relu),
            OnnxLayer.Dropout(),
            OnnxLayer.Dense("layers.2.weight", "layers.2.bias", Activation.Relu),
            OnnxLayer.Dropout(),
            OnnxLayer.Dense("layers.4.weight", "layers.4.bias"),
        ]);
    }

    private static void AssertSameAsPredictBatch(string name, ITrainableModel model, int[] inputShape, IReadOnlyList<OnnxLayer> layers)
    {
        OnnxHarness.RandomizeConstants(model, seed: name.Length);
        var inputs = OnnxHarness.RandomValues(Batch * model.InputSize, seed: 100 + name.Length);
        var expected = new float[Batch * model.OutputSize];
        model.PredictBatch(inputs, expected);

        var onnx = OnnxHarness.Export(name, model, inputShape, layers);
        var actual = OnnxHarness.Run(onnx, inputs, inputShape, model.OutputSize);
        OnnxHarness.AssertClose(expected, actual);
    }
}
