using System;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The generated members of a model compiled into this project: constants, argument checks, allocations.</summary>
public class GeneratedModelTests
{
    [Fact]
    public void Constants_describe_the_network()
    {
        Assert.Equal(20, SmallMlp.InputSize);
        Assert.Equal(3, SmallMlp.OutputSize);
        Assert.Equal((20 * 33) + 33 + (33 * 17) + 17 + (17 * 3) + 3, SmallMlp.ParameterCount);
        ITrainableModel model = new SmallMlp();
        Assert.Equal(SmallMlp.ParameterCount, model.ParameterCount);
        Assert.True(model.Parameters.Length >= SmallMlp.ParameterCount);
        Assert.Equal(model.Parameters.Length, model.Gradients.Length);
    }

    [Fact]
    public void Parameters_are_64_byte_aligned_and_layers_are_slices_of_them()
    {
        var model = new SmallMlp(seed: 3);
        unsafe
        {
            fixed (float* start = model.Parameters)
            fixed (float* weights2 = model.Dense2Weights)
            {
                Assert.Equal(0, (long)start % 64);
                Assert.Equal(0, (long)weights2 % 64);
                Assert.True(weights2 > start && weights2 < start + model.Parameters.Length);
            }
        }

        model.Dense2Bias[0] = 123f;
        Assert.Contains(123f, model.Parameters.ToArray());
    }

    [Fact]
    public void Same_seed_gives_same_parameters_and_others_differ()
    {
        Assert.Equal(new SmallMlp(seed: 9).Parameters.ToArray(), new SmallMlp(seed: 9).Parameters.ToArray());
        Assert.NotEqual(new SmallMlp(seed: 9).Parameters.ToArray(), new SmallMlp(seed: 10).Parameters.ToArray());
    }

    [Fact]
    public void Relu_layers_start_he_uniform_others_glorot_uniform_and_biases_at_zero()
    {
        var model = new SmallMlp(seed: 4);
        AssertUniform(model.Dense1Weights.ToArray(), MathF.Sqrt(6f / 20));         // ReLU, 20 inputs: He
        AssertUniform(model.Dense2Weights.ToArray(), MathF.Sqrt(6f / (33 + 17)));  // tanh, 33 → 17: Glorot
        Assert.All(model.Dense1Bias.ToArray(), b => Assert.Equal(0f, b));
        Assert.All(model.Dense2Bias.ToArray(), b => Assert.Equal(0f, b));

        static void AssertUniform(float[] weights, float limit)
        {
            Assert.All(weights, w => Assert.InRange(w, -limit, limit));
            Assert.True(weights.Max() > 0.9f * limit && weights.Min() < -0.9f * limit, "weights do not span the range");
            Assert.Equal(0.0, weights.Average(), 0.05);
        }
    }

    [Fact]
    public void A_sample_predicted_alone_gets_the_bits_it_gets_inside_a_batch()
    {
        // One sample runs the few-rows product path, a batch the blocked one: they must agree bit for bit.
        var model = new FashionClassifier(seed: 7);
        var random = new Random(8);
        const int count = 37;
        var inputs = Enumerable.Range(0, count * FashionClassifier.InputSize).Select(_ => random.NextSingle()).ToArray();
        var batch = new float[count * FashionClassifier.OutputSize];
        model.PredictBatch(inputs, batch);
        var alone = new float[FashionClassifier.OutputSize];
        for (var i = 0; i < count; i++)
        {
            model.Predict(inputs.AsSpan(i * FashionClassifier.InputSize, FashionClassifier.InputSize), alone);
            Assert.Equal(batch.AsSpan(i * FashionClassifier.OutputSize, FashionClassifier.OutputSize).ToArray(), alone);
        }
    }

    [Theory]
    [InlineData(19)]
    [InlineData(21)]
    [InlineData(0)]
    public void Predict_with_a_wrong_input_length_names_both_lengths(int length)
    {
        var model = new SmallMlp();
        var error = Assert.Throws<ArgumentException>(() => model.Predict(new float[length], new float[3]));

        Assert.Equal("input", error.ParamName);
        Assert.Contains("20", error.Message);
        Assert.Contains(length.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public void Predict_with_a_wrong_output_length_names_both_lengths()
    {
        var error = Assert.Throws<ArgumentException>(() => new SmallMlp().Predict(new float[20], new float[4]));

        Assert.Equal("output", error.ParamName);
        Assert.Contains("3", error.Message);
        Assert.Contains("4", error.Message);
    }

    [Fact]
    public void Batch_calls_reject_partial_samples_and_mismatched_targets()
    {
        var model = new SmallMlp();

        var partial = Assert.Throws<ArgumentException>(() => model.PredictBatch(new float[45], new float[6]));
        Assert.Contains("45", partial.Message);
        Assert.Throws<ArgumentException>(() => model.PredictBatch(new float[40], new float[3]));
        var targets = Assert.Throws<ArgumentException>(() => model.TrainStep(new float[40], new float[5]));
        Assert.Equal("targets", targets.ParamName);
        Assert.Contains("6", targets.Message);
        Assert.Throws<ArgumentException>(() => model.ComputeLoss(new float[40], new float[7]));
        Assert.Throws<ArgumentException>(() => model.TrainStep([], []));
    }

    [Fact]
    public void PredictBatch_agrees_with_Predict_beyond_one_chunk()
    {
        var model = new SmallMlp(seed: 2);
        var random = new Random(2);
        const int count = 300;
        var inputs = Enumerable.Range(0, count * SmallMlp.InputSize).Select(_ => random.NextSingle()).ToArray();
        var outputs = new float[count * SmallMlp.OutputSize];
        model.PredictBatch(inputs, outputs);

        var one = new float[SmallMlp.OutputSize];
        foreach (var n in new[] { 0, 1, 255, 256, 299 })
        {
            model.Predict(inputs.AsSpan(n * SmallMlp.InputSize, SmallMlp.InputSize), one);
            for (var o = 0; o < one.Length; o++)
            {
                Assert.Equal(outputs[(n * SmallMlp.OutputSize) + o], one[o], 1e-6f);
            }
        }
    }

    [Fact]
    public void Predict_allocates_nothing_after_warm_up()
    {
        var model = new SmallMlp(seed: 1);
        var input = new float[SmallMlp.InputSize];
        var output = new float[SmallMlp.OutputSize];

        AllocationAssert.NoneAfterWarmUp(() =>
        {
            input[0] += 1;
            model.Predict(input, output);
        }, measured: 1000);
    }

    [Fact]
    public void PredictBatch_allocates_nothing_after_warm_up()
    {
        var model = new SmallMlp(seed: 1);
        var inputs = new float[64 * SmallMlp.InputSize];
        var outputs = new float[64 * SmallMlp.OutputSize];

        AllocationAssert.NoneAfterWarmUp(() => model.PredictBatch(inputs, outputs));
    }

    [Fact]
    public void A_training_step_allocates_nothing_after_warm_up()
    {
        AllocationAssert.TrainingStepAllocatesNothing(new SmallMlp(seed: 1), batch: 32);
    }

    [Fact]
    public void A_convolutional_network_predicts_and_trains_without_allocating()
    {
        var model = new SmallCnn(seed: 1);
        var input = GemmTests.Random(SmallCnn.InputSize, 2);
        var output = new float[SmallCnn.OutputSize];
        AllocationAssert.NoneAfterWarmUp(() => model.Predict(input, output), measured: 200);
        var inputs = GemmTests.Random(16 * SmallCnn.InputSize, 3);
        var outputs = new float[16 * SmallCnn.OutputSize];
        AllocationAssert.NoneAfterWarmUp(() => model.PredictBatch(inputs, outputs), measured: 20);
        AllocationAssert.TrainingStepAllocatesNothing(new SmallCnn(seed: 1), batch: 8);
    }

    [Fact]
    public void A_convolutional_network_trains_bit_for_bit_the_same_from_the_same_seed()
    {
        float[] Train()
        {
            var model = new SmallCnn(seed: 4);
            var optimizer = new Adam(1e-3f);
            var inputs = GemmTests.Random(12 * SmallCnn.InputSize, 5);
            var labels = Enumerable.Range(0, 12).Select(i => (float)(i % 10)).ToArray();
            for (var step = 0; step < 5; step++)
            {
                model.TrainStep(inputs, labels);
                optimizer.Step(model.Parameters, model.Gradients);
            }

            return model.Parameters.ToArray();
        }

        var first = Train();
        Assert.Equal(first, Train());
        Assert.NotEqual(new SmallCnn(seed: 4).Parameters.ToArray(), first);
    }
}
