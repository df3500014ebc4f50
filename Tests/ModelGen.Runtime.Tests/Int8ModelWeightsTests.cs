using System;
using System.Linq;
using ModelGen.Onnx;
using ModelGen.Quantization;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Weights quantized ahead of time: <see cref="BakedInt8Classifier"/> through the real build (MSBuild hands the file to
/// the compiler, the generator quantizes it), and <see cref="Int8ModelWeights"/>'s checks of what it is given.
/// </summary>
public class Int8ModelWeightsTests
{
    private static readonly OnnxLayer[] DenseThenBatchNorm =
    [
        OnnxLayer.Dense("d.weight", "d.bias"),
        OnnxLayer.BatchNorm("n.weight", "n.bias", "n.running_mean", "n.running_var", 1e-3f),
    ];

    [Fact]
    public void The_build_time_int8_model_is_run_time_quantization_bit_for_bit()
    {
        var baked = BakedInt8Classifier.CreateInt8Predictor();
        var quantized = new BakedInt8Classifier().Quantize();

        Assert.Equal(quantized.Layers, baked.Layers);
        Assert.Equal(LayerPrecision.Float, baked.Layers[1].Precision);
        var inputs = Enumerable.Range(0, 11 * 20).Select(i => MathF.Sin(i * 0.37f) * 2f).ToArray();
        var (expected, actual) = (new float[11 * 3], new float[11 * 3]);
        quantized.PredictBatch(inputs, expected);
        baked.PredictBatch(inputs, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void The_build_time_int8_model_is_close_to_the_float_model()
    {
        var input = Enumerable.Range(0, 20).Select(i => (i - 10) * 0.1f).ToArray();
        var (float32, int8) = (new float[3], new float[3]);
        new BakedClassifier().Predict(input, float32);
        BakedInt8Classifier.CreateInt8Predictor().Predict(input, int8);

        for (var j = 0; j < 3; j++)
        {
            Assert.InRange(int8[j], float32[j] - 0.02f, float32[j] + 0.02f);
        }
    }

    [Fact]
    public void A_batch_norm_the_predictor_folds_must_be_folded_into_the_weights()
    {
        var weights = new Int8ModelWeights(4, 3, Loss.MeanSquaredError)
            .AddLayer("d.weight", [3, 4], new sbyte[12], [0.5f, 0.5f, 0.5f], [0f, 0f, 0f]);

        var error = Assert.Throws<ArgumentException>(() => Int8Predictor.Create(weights, [4], DenseThenBatchNorm));

        Assert.Contains("Layer 1 (BatchNorm): it follows layer 0, whose int8 weights were quantized without folding it in", error.Message);
    }

    [Fact]
    public void Weights_may_fold_only_the_batch_norms_the_predictor_folds()
    {
        // After a ReLU the batch normalization is computed in float, so weights that claim to have folded it are wrong.
        var layers = new[] { OnnxLayer.Dense("d.weight", "d.bias", Activation.Relu), DenseThenBatchNorm[1] };
        var weights = new Int8ModelWeights(4, 3, Loss.MeanSquaredError)
            .AddLayer("d.weight", [3, 4], new sbyte[12], [0.5f, 0.5f, 0.5f], [0f, 0f, 0f], "n.weight")
            .AddTensor("n.weight", [3], [1f, 1f, 1f])
            .AddTensor("n.bias", [3], [0f, 0f, 0f])
            .AddTensor("n.running_mean", [3], [0f, 0f, 0f])
            .AddTensor("n.running_var", [3], [1f, 1f, 1f]);

        var error = Assert.Throws<ArgumentException>(() => Int8Predictor.Create(weights, [4], layers));

        Assert.Contains("Layer 0 (Dense): its int8 weights fold the batch normalization 'n.weight', which does not directly follow it", error.Message);
    }

    [Fact]
    public void Folded_weights_predict_with_the_batch_norm_applied_once()
    {
        // y = s·(x·W) + shift, folded: the weights q·scale, the bias the shift; the batch normalization adds nothing more.
        var weights = new Int8ModelWeights(2, 1, Loss.MeanSquaredError)
            .AddLayer("d.weight", [1, 2], new sbyte[] { 100, -50 }, [0.01f], [0.25f], "n.weight");
        var predictor = Int8Predictor.Create(weights, [2], [OnnxLayer.Dense("d.weight", null), DenseThenBatchNorm[1]]);
        var output = new float[1];

        predictor.Predict([0f, 0f], output);

        Assert.Equal(0.25f, output[0]);
        Assert.Equal(LayerPrecision.Folded, predictor.Layers[1].Precision);
    }

    [Theory]
    [InlineData(11, 3, 3, "Expected 4 × 3 = 12 weights; got 11")]
    [InlineData(12, 2, 3, "Expected one scale per unit (3); got 2")]
    [InlineData(12, 3, 2, "Expected one bias per output channel (3) or none")]
    public void Lengths_that_do_not_fit_the_shape_are_refused(int values, int scales, int biases, string message)
    {
        var weights = new Int8ModelWeights(4, 3, Loss.MeanSquaredError);

        var error = Assert.Throws<ArgumentException>(() => weights.AddLayer("d.weight", [3, 4], new sbyte[values], new float[scales], new float[biases]));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_tensor_is_added_once()
    {
        var weights = new Int8ModelWeights(4, 3, Loss.MeanSquaredError).AddTensor("n.weight", [3], [1f, 1f, 1f]);

        Assert.Throws<ArgumentException>(() => weights.AddTensor("n.weight", [3], [1f, 1f, 1f]));
        Assert.Throws<ArgumentException>(() => weights.AddLayer("n.weight", [3, 4], new sbyte[12], new float[3], default));
    }
}
