using System;
using System.IO;
using System.Linq;
using ModelGen.Serialization;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>A generated model with batch normalization: training moves the running statistics, inference reads them, files keep them.</summary>
public class BatchNormModelTests
{
    [Fact]
    public void Training_moves_the_running_statistics_and_inference_uses_them()
    {
        var model = new BatchNormClassifier(seed: 1);
        Assert.All(model.BatchNorm1RunningMean.ToArray(), m => Assert.Equal(0f, m));
        Assert.All(model.BatchNorm1RunningVariance.ToArray(), v => Assert.Equal(1f, v));
        var random = new Random(2);
        var inputs = Enumerable.Range(0, 8 * 12).Select(_ => (random.NextSingle() * 4) - 1).ToArray();
        float[] labels = [0, 1, 2, 0, 1, 2, 0, 1];

        var before = new float[8 * 3];
        model.PredictBatch(inputs, before);
        model.TrainStep(inputs, labels);
        Assert.Contains(model.BatchNorm1RunningMean.ToArray(), m => m != 0f);

        // The optimizer never touches the state: an update with weight decay leaves it as training left it.
        var state = model.State.ToArray();
        new Sgd(0.1f, weightDecay: 0.5f).Step(model.Parameters, model.Gradients);
        Assert.Equal(state, model.State.ToArray());

        // Inference depends on the running statistics, not on the batch: one sample predicts the same alone as in a batch.
        var alone = new float[3];
        var batch = new float[8 * 3];
        model.Predict(inputs.AsSpan(0, 12), alone);
        model.PredictBatch(inputs, batch);
        Assert.Equal(batch.Take(3), alone);
    }

    [Fact]
    public void An_image_is_normalized_per_channel_over_every_position_of_every_sample()
    {
        var model = new ChannelNormalizer(seed: 1);
        Assert.Equal(3, model.BatchNorm1Gamma.Length);
        Assert.Equal(3, model.BatchNorm1RunningMean.Length);
        Assert.Equal((3 * 4 * 5 * 2) + 2 + (2 * 3), ChannelNormalizer.ParameterCount);

        // Each channel its own scale and offset, so that statistics mixed across channels could not pass.
        const int batch = 3;
        var random = new Random(5);
        var inputs = new float[batch * 60];
        for (var i = 0; i < inputs.Length; i++)
        {
            var channel = i / 20 % 3;
            inputs[i] = ((channel + 1) * random.NextSingle()) + (10 * channel);
        }

        model.TrainStep(inputs, new float[batch * 2]);

        for (var c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, batch).SelectMany(n => inputs.Skip((n * 60) + (c * 20)).Take(20)).Select(v => (double)v).ToArray();
            var mean = values.Average();
            var variance = values.Select(v => (v - mean) * (v - mean)).Average();
            Assert.Equal(mean, model.BatchNorm1RunningMean[c], 1e-4 * Math.Max(1, Math.Abs(mean)));
            var unbiased = variance * values.Length / (values.Length - 1); // the running variance is PyTorch's unbiased one
            Assert.Equal(unbiased, model.BatchNorm1RunningVariance[c], 1e-4 * Math.Max(1, unbiased));
        }

        // In inference each value is normalized by its own channel's statistics.
        model.BatchNorm1Gamma.Fill(1f);
        model.BatchNorm1Beta.Fill(0f);
        model.Dense1Weights.Clear();
        model.Dense1Weights[((2 * 5) + 3) * 3 * 2] = 1f; // output 0 ← position (2, 3), channel 0 (channels-last after pooling)
        model.Dense1Weights[(((((1 * 5) + 4) * 3) + 2) * 2) + 1] = 1f; // output 1 ← position (1, 4), channel 2
        var outputs = new float[2];
        model.Predict(inputs.AsSpan(0, 60), outputs);
        double Normalized(int c, int h, int w) =>
            (inputs[(((c * 4) + h) * 5) + w] - model.BatchNorm1RunningMean[c]) / Math.Sqrt(model.BatchNorm1RunningVariance[c] + 1e-3);
        Assert.Equal(Normalized(0, 2, 3), outputs[0], 1e-4);
        Assert.Equal(Normalized(2, 1, 4), outputs[1], 1e-4);
    }

    [Fact]
    public void The_running_statistics_are_saved_and_loaded_with_pytorch_names()
    {
        var model = new BatchNormClassifier(seed: 3);
        var random = new Random(4);
        var inputs = Enumerable.Range(0, 16 * 12).Select(_ => random.NextSingle()).ToArray();
        var labels = Enumerable.Range(0, 16).Select(i => (float)(i % 3)).ToArray();
        for (var i = 0; i < 5; i++)
        {
            model.TrainStep(inputs, labels);
        }

        // nn.Sequential(Linear, ReLU, BatchNorm1d, Linear): the batch norm is module 2, with PyTorch's batch counter.
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.2.running_mean", "layers.2.running_var", "layers.2.num_batches_tracked", "layers.3.weight", "layers.3.bias"],
            ((ITrainableModel)model).ParameterTensors.Select(t => t.Name));
        using var stream = new MemoryStream();
        SafeTensors.Write(model, stream);
        var loaded = new BatchNormClassifier(seed: 99);
        SafeTensors.Read(loaded, stream.ToArray(), "bn.safetensors");

        Assert.Equal(model.BatchNorm1RunningMean.ToArray(), loaded.BatchNorm1RunningMean.ToArray());
        Assert.Equal(model.BatchNorm1RunningVariance.ToArray(), loaded.BatchNorm1RunningVariance.ToArray());
        var (expected, actual) = (new float[3], new float[3]);
        model.Predict(inputs.AsSpan(0, 12), expected);
        loaded.Predict(inputs.AsSpan(0, 12), actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_batch_norm_training_step_allocates_nothing_after_warm_up()
    {
        var model = new BatchNormClassifier();
        var optimizer = new Adam();
        var inputs = new float[32 * 12];
        var labels = Enumerable.Range(0, 32).Select(i => (float)(i % 3)).ToArray();
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            model.TrainStep(inputs, labels);
            optimizer.Step(model.Parameters, model.Gradients);
        });
    }

    [Fact]
    public void Per_channel_batch_norm_allocates_nothing_after_warm_up()
    {
        var model = new ChannelNormalizer(seed: 1);
        AllocationAssert.TrainingStepAllocatesNothing(model, batch: 8);
        var (input, output) = (new float[ChannelNormalizer.InputSize], new float[ChannelNormalizer.OutputSize]);
        AllocationAssert.NoneAfterWarmUp(() => model.Predict(input, output));
    }
}
