using System;
using System.Linq;
using ModelGen.Privacy;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// DP-SGD's training loop: it learns through the noise, spends the budget it is given and no more, repeats itself from
/// its seed, draws noise of the right spread, and refuses a model whose samples have no gradients of their own.
/// (The clipping is proven per layer kind in the generator's gradient checks; the accountant in RdpAccountantTests.)
/// </summary>
public class PrivateTrainingTests
{
    [Fact]
    public void A_private_model_learns_and_spends_exactly_the_budget_it_chose_its_noise_for()
    {
        var train = ExplainerTests.Clusters(2000, 64, seed: 1);
        var test = ExplainerTests.Clusters(400, 64, seed: 2);
        var model = new DropoutClassifier(seed: 1);
        var history = model.FitPrivately(train, new PrivateFitOptions
        {
            Epochs = 5, BatchSize = 100, Optimizer = new Sgd(0.5f, momentum: 0.9f), ClipNorm = 1f, TargetEpsilon = 2, Delta = 1e-4, Seed = 3,
        });

        Assert.Equal(5, history.Epochs.Count);
        Assert.InRange(history.Privacy.Epsilon, 1.98, 2.0);
        Assert.Equal(0.05, history.SampleRate, 12);
        // The noise multiplier the accountant says spends 2 over 5 × 20 steps at q = 0.05.
        Assert.Equal(RdpAccountant.NoiseMultiplierFor(2, 0.05, 100, 1e-4), history.NoiseMultiplier, 12);
        Assert.True(history.Epochs.Zip(history.Epochs.Skip(1)).All(p => p.Second.Privacy.Epsilon > p.First.Privacy.Epsilon));
        Assert.True(model.Evaluate(test).Accuracy > 0.9, "four clusters apart should be learned through the noise");
    }

    [Fact]
    public void With_a_given_noise_training_stops_before_an_epoch_that_would_pass_the_budget()
    {
        var train = ExplainerTests.Clusters(500, 64, seed: 4);
        // A budget between what 3 and 4 epochs of 10 steps (q = 0.1, σ = 1) spend: 3 epochs fit, a fourth would not.
        var (three, four) = (RdpAccountant.Epsilon(1.0, 0.1, 30, 1e-3).Epsilon, RdpAccountant.Epsilon(1.0, 0.1, 40, 1e-3).Epsilon);
        var options = new PrivateFitOptions
        {
            Epochs = 50, BatchSize = 50, Optimizer = new Sgd(0.1f), NoiseMultiplier = 1.0, TargetEpsilon = (three + four) / 2, Seed = 1, Delta = 1e-3,
        };
        var history = new DropoutClassifier(seed: 2).FitPrivately(train, options);

        Assert.Equal(3, history.Epochs.Count);
        Assert.Equal(three, history.Privacy.Epsilon, 9);
    }

    [Fact]
    public void The_same_seed_gives_the_same_private_run()
    {
        var train = ExplainerTests.Clusters(300, 64, seed: 5);
        PrivateFitOptions Options(int seed) => new() { Epochs = 2, BatchSize = 30, Optimizer = new Adam(0.01f), NoiseMultiplier = 1.2, Seed = seed };
        var (first, again, other) = (new DropoutClassifier(seed: 3), new DropoutClassifier(seed: 3), new DropoutClassifier(seed: 3));
        first.FitPrivately(train, Options(7));
        again.FitPrivately(train, Options(7));
        other.FitPrivately(train, Options(8));

        Assert.Equal(first.Parameters.ToArray(), again.Parameters.ToArray());
        Assert.NotEqual(first.Parameters.ToArray(), other.Parameters.ToArray());
    }

    [Fact]
    public void The_noise_is_gaussian_with_the_deviation_asked_for()
    {
        var values = new float[200_001];
        var random = new SeededRandom(11);
        PrivateTraining.AddGaussianNoise(values, 0.3f, ref random);

        var mean = values.Average(v => (double)v);
        var deviation = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.003, 0.003);
        Assert.InRange(deviation, 0.297, 0.303);
        // About 68.3 % of the draws within one deviation, and 95.4 % within two.
        Assert.InRange(values.Count(v => Math.Abs(v) < 0.3f) / (double)values.Length, 0.678, 0.688);
        Assert.InRange(values.Count(v => Math.Abs(v) < 0.6f) / (double)values.Length, 0.951, 0.957);
        Assert.NotEqual(0f, values[^1]);
    }

    [Fact]
    public void Batch_normalization_and_settings_that_mean_nothing_are_refused()
    {
        var train = ExplainerTests.Clusters(100, 12, seed: 6);
        var batchNorm = Assert.Throws<NotSupportedException>(() => new BatchNormClassifier(seed: 1).FitPrivately(
            Dataset.FromLabels(Enumerable.Range(0, 1200).Select(i => i % 7 / 7f).ToArray(), 12, new byte[100]),
            new PrivateFitOptions { Optimizer = new Sgd(0.1f), BatchSize = 10, NoiseMultiplier = 1 }));
        Assert.Contains("layer normalization", batchNorm.Message);

        var data = ExplainerTests.Clusters(100, 64, seed: 7);
        var model = new DropoutClassifier(seed: 1);
        Assert.Throws<ArgumentException>(() => model.FitPrivately(data, new PrivateFitOptions { Optimizer = new Sgd(0.1f), BatchSize = 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.FitPrivately(data, new PrivateFitOptions { Optimizer = new Sgd(0.1f), BatchSize = 10, NoiseMultiplier = 1, ClipNorm = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.FitPrivately(data, new PrivateFitOptions { Optimizer = new Sgd(0.1f), BatchSize = 101, NoiseMultiplier = 1 }));
        Assert.Throws<ArgumentException>(() => model.FitPrivately(train, new PrivateFitOptions { Optimizer = new Sgd(0.1f), BatchSize = 10, NoiseMultiplier = 1 }));
    }
}
