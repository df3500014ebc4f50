using System;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Fit, Evaluate, SGD and the data they run on.</summary>
public class TrainingTests
{
    [Fact]
    public void Sgd_applies_theta_minus_eta_g()
    {
        float[] parameters = [1f, -2f, 0.5f];
        float[] gradients = [0.1f, -0.3f, 2f];

        new Sgd(0.25f).Step(parameters, gradients);

        Assert.Equal([1f - 0.025f, -2f + 0.075f, 0.5f - 0.5f], parameters);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Sgd_rejects_a_learning_rate_that_is_not_positive_and_finite(float rate)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(rate));
    }

    [Fact]
    public void Sgd_defaults_to_keras_learning_rate()
    {
        Assert.Equal(0.01f, new Sgd().LearningRate);
    }

    [Fact]
    public void Fit_is_bit_for_bit_repeatable_with_the_same_seeds()
    {
        var data = MakeRegression(200, seed: 5);
        FitOptions Options() => new() { Epochs = 3, BatchSize = 16, Optimizer = new Sgd(0.05f), Seed = 8 };

        var first = new SmallMlp(seed: 1);
        var firstHistory = first.Fit(data, Options());
        var second = new SmallMlp(seed: 1);
        var secondHistory = second.Fit(data, Options());

        Assert.Equal(firstHistory.Loss, secondHistory.Loss);
        Assert.Equal(first.Parameters.ToArray(), second.Parameters.ToArray());
    }

    [Fact]
    public void Fit_reduces_the_loss_and_reports_every_epoch()
    {
        var data = MakeRegression(256, seed: 6);
        var model = new SmallMlp(seed: 2);
        var reported = new System.Collections.Generic.List<EpochResult>();
        var before = model.Evaluate(data).Loss;

        var history = model.Fit(data, new FitOptions { Epochs = 20, BatchSize = 32, Optimizer = new Sgd(0.5f), Seed = 3 }, new SyncProgress(reported.Add));

        Assert.Equal(20, history.Epochs.Count);
        Assert.Equal(Enumerable.Range(1, 20), reported.Select(r => r.Epoch));
        Assert.True(model.Evaluate(data).Loss < 0.7f * before, $"loss {before} → {model.Evaluate(data).Loss}");
        Assert.True(history.Loss[^1] < history.Loss[0]);
    }

    [Fact]
    public void Evaluate_matches_a_direct_computation()
    {
        var data = MakeRegression(300, seed: 7); // more than one evaluation chunk of 256
        var model = new SmallMlp(seed: 4);
        var predictions = new float[data.Targets.Length];
        model.PredictBatch(data.Features, predictions);
        var targets = data.Targets.ToArray();

        var result = model.Evaluate(data);

        Assert.Equal(300, result.Count);
        Assert.Equal(predictions.Select((p, i) => Math.Pow(p - targets[i], 2)).Average(), result.Loss, 1e-5);
        Assert.Equal(predictions.Select((p, i) => Math.Abs(p - targets[i])).Average(), result.MeanAbsoluteError!.Value, 1e-5);
        Assert.Null(result.Accuracy);
        Assert.Equal(model.ComputeLoss(data.Features, data.Targets), result.Loss, 1e-5);
    }

    [Fact]
    public void A_loss_that_overflows_stops_training_and_keeps_the_last_good_parameters()
    {
        // Non-finite targets are refused before training (DataValidationTests); a finite target so large that its
        // squared error overflows still makes the loss infinite in the first step.
        var features = new float[10 * 20];
        var targets = new float[10 * 3];
        targets[25] = 3e38f;
        var data = new Dataset(features, 20, targets, 3);
        var model = new SmallMlp(seed: 1);
        var before = model.Parameters.ToArray();

        var error = Assert.Throws<TrainingDivergedException>(() =>
            model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 10, Shuffle = false }));

        Assert.Equal(1, error.Epoch);
        Assert.Equal(1, error.Batch);
        Assert.True(float.IsPositiveInfinity(error.Loss));
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void Fit_rejects_options_that_cannot_train()
    {
        var data = MakeRegression(8, seed: 1);
        var model = new SmallMlp();

        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, new FitOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, new FitOptions { Epochs = -1 }));
        Assert.Throws<ArgumentNullException>(() => model.Fit(data, new FitOptions { Optimizer = null! }));
        Assert.Empty(model.Fit(data, new FitOptions { Epochs = 0 }).Epochs);
    }

    [Fact]
    public void Fit_rejects_data_of_the_wrong_shape()
    {
        var data = new Dataset(new float[10], 5, new float[6], 3);

        var error = Assert.Throws<ArgumentException>(() => new SmallMlp().Fit(data));

        Assert.Contains("20 inputs", error.Message);
        Assert.Contains("5 features", error.Message);
    }

    [Fact]
    public void Fit_and_Evaluate_reject_an_empty_dataset()
    {
        var empty = new Dataset([], 20, [], 3);

        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => new SmallMlp().Fit(empty)).Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => new SmallMlp().Evaluate(empty)).Message);
    }

    [Fact]
    public void Dataset_rejects_inconsistent_arrays()
    {
        Assert.Throws<ArgumentException>(() => new Dataset(new float[10], 3, new float[3], 1));
        Assert.Throws<ArgumentException>(() => new Dataset(new float[9], 3, new float[4], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset(new float[9], 0, new float[3], 1));
    }

    [Fact]
    public void Seeded_random_repeats_and_stays_in_range()
    {
        var a = new SeededRandom(123);
        var b = new SeededRandom(123);
        var c = new SeededRandom(124);
        var first = Enumerable.Range(0, 1000).Select(_ => a.NextSingle()).ToArray();

        Assert.Equal(first, Enumerable.Range(0, 1000).Select(_ => b.NextSingle()).ToArray());
        Assert.NotEqual(first, Enumerable.Range(0, 1000).Select(_ => c.NextSingle()).ToArray());
        Assert.All(first, v => Assert.InRange(v, 0f, 0.99999994f));
        Assert.Equal(0.5, first.Average(), 0.05);

        var counts = new int[7];
        for (var i = 0; i < 7000; i++)
        {
            counts[a.NextInt32(7)]++;
        }

        Assert.All(counts, n => Assert.InRange(n, 850, 1150));
    }

    [Fact]
    public void Shuffle_is_a_permutation()
    {
        var random = new SeededRandom(5);
        var items = Enumerable.Range(0, 100).ToArray();
        random.Shuffle(items.AsSpan());

        Assert.NotEqual(Enumerable.Range(0, 100), items);
        Assert.Equal(Enumerable.Range(0, 100), items.Order());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(1000)]
    public unsafe void Aligned_buffer_starts_on_a_cache_line(int length)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var buffer = new AlignedBuffer(length);
            Assert.Equal(length, buffer.Length);
            fixed (float* start = buffer.Span)
            {
                Assert.True(length == 0 || (long)start % 64 == 0);
            }
        }
    }

    /// <summary>Targets: a smooth function of the features, squashed into (0, 1) for the sigmoid outputs.</summary>
    private static Dataset MakeRegression(int count, int seed)
    {
        var random = new Random(seed);
        var features = Enumerable.Range(0, count * 20).Select(_ => (random.NextSingle() * 2) - 1).ToArray();
        var targets = new float[count * 3];
        for (var n = 0; n < count; n++)
        {
            var x = features.AsSpan(n * 20, 20);
            targets[(n * 3) + 0] = 1 / (1 + MathF.Exp(-(x[0] + x[1])));
            targets[(n * 3) + 1] = 1 / (1 + MathF.Exp(-(x[2] * x[3] * 2)));
            targets[(n * 3) + 2] = 0.5f + (0.4f * MathF.Sin(x[4] * 2));
        }

        return new Dataset(features, 20, targets, 3);
    }

    private sealed class SyncProgress(Action<EpochResult> report) : IProgress<EpochResult>
    {
        public void Report(EpochResult value) => report(value);
    }
}
