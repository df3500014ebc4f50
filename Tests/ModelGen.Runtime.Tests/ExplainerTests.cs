using System;
using System.Linq;
using ModelGen.Explanations;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Saliency, Integrated Gradients and SmoothGrad on trained generated models: the saliency is the finite-difference
/// gradient of the prediction, the attributions of Integrated Gradients add up to what the prediction moved from the
/// baseline (completeness), SmoothGrad without noise is the saliency, and none of them allocates once warmed up.
/// </summary>
public class ExplainerTests(ITestOutputHelper output)
{
    /// <summary>
    /// Completeness within 1 % with 50 steps, on the test samples of an MLP with dropout and of a CNN with batch
    /// normalization and max pooling, each trained on clusters it learns to tell apart. Measured: at most 0.65 % off (trapezoids: 2 %).
    /// </summary>
    [Fact]
    public void Integrated_gradients_add_up_to_the_change_of_the_prediction()
    {
        var mlp = new DropoutClassifier(seed: 2);
        mlp.Fit(Clusters(400, 64, seed: 1), new FitOptions { Epochs = 8, BatchSize = 32, Optimizer = new Adam(0.01f), Seed = 1 });
        CheckCompleteness("MLP", mlp, Clusters(6, 64, seed: 2));

        var cnn = new TorchBatchNormCnn(seed: 2);
        cnn.Fit(Clusters(300, 784, seed: 3), new FitOptions { Epochs = 3, BatchSize = 32, Optimizer = new Adam(0.003f), Seed = 1 });
        CheckCompleteness("CNN", cnn, Clusters(4, 784, seed: 4));
    }

    private void CheckCompleteness(string name, ITrainableModel model, Dataset samples)
    {
        var explainer = new Explainer(model);
        var size = model.InputSize;
        var baseline = new float[size];
        var attributions = new float[size];
        var prediction = new float[model.OutputSize];
        for (var n = 0; n < samples.Count; n++)
        {
            var input = samples.Features.Slice(n * size, size);
            model.Predict(input, prediction);
            var predicted = prediction.AsSpan().IndexOf(prediction.Max());
            var moved = explainer.IntegratedGradients(input, baseline, predicted, attributions, steps: 50);
            var sum = attributions.Sum(a => (double)a);
            output.WriteLine($"{name} sample {n}: class {predicted}, F(x) − F(0) = {moved:F5}, Σ attributions = {sum:F5}");
            Assert.True(Math.Abs(moved) > 0.05, $"the prediction barely moves ({moved}): the check would say little");
            Assert.True(Math.Abs(sum - moved) <= 0.01 * Math.Abs(moved), $"{name} sample {n}: Σ attributions {sum} against F(x) − F(0) = {moved}");
        }
    }

    /// <summary>
    /// The saliency map of a class is the central finite difference of its predicted probability, input by input: on the
    /// Fashion MLP (with dropout, off when predicting) after one short epoch, on an input halfway between two classes,
    /// where the probability still moves.
    /// </summary>
    [Fact]
    public void Saliency_is_the_finite_difference_gradient_of_the_prediction()
    {
        var model = new FashionClassifier(seed: 4);
        model.Fit(Clusters(64, 784, seed: 5), new FitOptions { Epochs = 1, BatchSize = 32, Optimizer = new Adam(0.001f), Seed = 1 });
        var pair = Clusters(2, 784, seed: 6).Features.ToArray();
        var input = Enumerable.Range(0, 784).Select(i => (pair[i] + pair[784 + i]) / 2).ToArray();
        var saliency = new float[784];
        new Explainer(model).Saliency(input, output: 3, saliency);

        var prediction = new float[10];
        double Probability(float[] x)
        {
            model.Predict(x, prediction);
            return prediction[3];
        }

        const float step = 1e-2f;
        var random = new Random(7);
        var compared = 0;
        foreach (var i in Enumerable.Range(0, 784).OrderBy(_ => random.Next()).Take(60))
        {
            var original = input[i];
            input[i] = original + step;
            var plus = Probability(input);
            input[i] = original - step;
            var minus = Probability(input);
            input[i] = original;
            var numeric = (plus - minus) / (2 * step);
            Assert.True(Math.Abs(numeric - saliency[i]) <= 2e-4 + (0.02 * Math.Abs(numeric)), $"input {i}: saliency {saliency[i]:G6}, finite difference {numeric:G6}");
            compared++;
        }

        Assert.Equal(60, compared);
        Assert.Contains(saliency, s => Math.Abs(s) > 1e-3f);
    }

    [Fact]
    public void SmoothGrad_without_noise_is_the_saliency_and_its_noise_repeats_with_its_seed()
    {
        var model = new DropoutClassifier(seed: 3);
        var input = Clusters(1, 64, seed: 8).Features.ToArray();
        var explainer = new Explainer(model);
        var saliency = new float[64];
        explainer.Saliency(input, output: 1, saliency);

        var smooth = new float[64];
        explainer.SmoothGrad(input, output: 1, smooth, samples: 10, noise: 0f);
        for (var i = 0; i < 64; i++)
        {
            Assert.Equal(saliency[i], smooth[i], 1e-6f + (1e-5f * Math.Abs(saliency[i])));
        }

        var first = new float[64];
        var again = new float[64];
        var other = new float[64];
        explainer.SmoothGrad(input, output: 1, first, samples: 70, seed: 5);
        explainer.SmoothGrad(input, output: 1, again, samples: 70, seed: 5);
        explainer.SmoothGrad(input, output: 1, other, samples: 70, seed: 6);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.NotEqual(saliency, first);
    }

    [Fact]
    public void Explanations_allocate_nothing_once_warmed_up_and_leave_the_training_gradients_alone()
    {
        var model = new TorchBatchNormCnn(seed: 5);
        var data = Clusters(8, 784, seed: 9);
        model.TrainStep(data.Features, data.Targets);
        var gradients = model.Gradients.ToArray();

        var explainer = new Explainer(model);
        var input = data.Features.Slice(0, 784).ToArray();
        var (baseline, result) = (new float[784], new float[784]);
        void Explain()
        {
            explainer.Saliency(input, 2, result);
            explainer.IntegratedGradients(input, baseline, 2, result, steps: 20);
            explainer.SmoothGrad(input, 2, result, samples: 8);
        }

        // The shared check: a window of calls that allocates nothing, so the runtime's one-off bookkeeping on this
        // thread (tiered compilation) does not count as the explainer's.
        AllocationAssert.NoneAfterWarmUp(Explain, warmUp: 3, measured: 2);
        Assert.Equal(gradients, model.Gradients.ToArray());
    }

    [Fact]
    public void Wrong_lengths_and_outputs_are_refused()
    {
        var explainer = new Explainer(new DropoutClassifier(seed: 1));
        var (input, result) = (new float[64], new float[64]);
        Assert.Throws<ArgumentException>(() => explainer.Saliency(new float[63], 0, result));
        Assert.Throws<ArgumentException>(() => explainer.Saliency(input, 0, new float[65]));
        Assert.Throws<ArgumentOutOfRangeException>(() => explainer.Saliency(input, 4, result));
        Assert.Throws<ArgumentOutOfRangeException>(() => explainer.Saliency(input, -1, result));
        Assert.Throws<ArgumentException>(() => explainer.IntegratedGradients(input, new float[3], 0, result));
        Assert.Throws<ArgumentOutOfRangeException>(() => explainer.IntegratedGradients(input, input, 0, result, steps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => explainer.SmoothGrad(input, 0, result, noise: float.NaN));
        Assert.Throws<ArgumentException>(() => new DropoutClassifier(seed: 1).InputGradients(input, new float[3], result));
    }

    /// <summary>
    /// Samples of four classes, each brighter in its own quarter of the values (for 784 values, a quarter of the image
    /// rows), over uniform noise: easy to learn, with a prediction that moves well away from a black baseline.
    /// </summary>
    internal static Dataset Clusters(int count, int size, int seed)
    {
        var random = new Random(seed);
        var features = new float[count * size];
        var labels = new byte[count];
        for (var n = 0; n < count; n++)
        {
            labels[n] = (byte)random.Next(4);
            for (var i = 0; i < size; i++)
            {
                features[(n * size) + i] = (random.NextSingle() * 0.5f) + (i * 4 / size == labels[n] ? 0.8f : 0f);
            }
        }

        return Dataset.FromLabels(features, size, labels);
    }
}
