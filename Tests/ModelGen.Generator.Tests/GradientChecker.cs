using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Compares the hand-derived gradients of <see cref="ITrainableModel.TrainStep"/> with central finite differences of
/// the loss TrainStep returns (evaluated with the training random stream restored each time, so dropout draws the same
/// mask), parameter by parameter.
/// </summary>
internal static class GradientChecker
{
    private const double AbsoluteTolerance = 5e-4;
    private const double RelativeTolerance = 1e-2;

    /// <summary>How many units in the last place a float loss may be off by after a forward pass of sums.</summary>
    private const int LossRoundingUlps = 8;

    /// <summary>
    /// Moves every parameter by up to ±0.1 (seeded), so that the check runs at a generic point: with the biases' initial
    /// zeros, a unit whose inputs are all dead sits exactly on its ReLU kink, and every parameter upstream of it would
    /// be skipped. (A unit can still land within h of its kink by chance; the callers cap the skipped coordinates.)
    /// </summary>
    public static void MoveToGenericPoint(ITrainableModel model, int seed)
    {
        var jitter = new Random(seed);
        var parameters = model.Parameters;
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] += 0.1f * ((2 * jitter.NextSingle()) - 1);
        }
    }

    /// <summary>
    /// Checks up to <paramref name="maxParameters"/> parameters (all when the model is small). Where the loss has a
    /// kink within ±h of the point (ReLU at 0), a finite difference measures nothing: such coordinates are recognized
    /// by their one-sided slopes disagreeing, skipped and counted.
    /// </summary>
    /// <returns>How many coordinates were compared, and how many were skipped as kinks.</returns>
    /// <param name="step">h, the distance of each side from the point.</param>
    public static (int Compared, int Kinks) Check(ITrainableModel model, float[] inputs, float[] targets, int seed, float step, int maxParameters = 400)
    {
        // The loss that TrainStep differentiates: with dropout, the training-mode loss under the same mask, so every
        // evaluation restores the training random stream and runs TrainStep (whose gradients are not used).
        var stream = model.TrainingRandom;
        model.TrainStep(inputs, targets);
        var analytic = model.Gradients.ToArray();
        var parameters = model.Parameters;
        float Loss()
        {
            model.TrainingRandom = stream;
            return model.TrainStep(inputs, targets);
        }


        var indices = new List<int>();
        var random = new Random(seed);
        for (var i = 0; i < parameters.Length; i++)
        {
            indices.Add(i);
        }

        if (indices.Count > maxParameters)
        {
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(indices));
            indices.RemoveRange(maxParameters, indices.Count - maxParameters);
        }

        var compared = 0;
        var kinks = 0;
        var failures = new List<string>();
        var center = Loss();
        foreach (var i in indices)
        {
            var original = parameters[i];
            parameters[i] = original + step;
            double plus = Loss();
            parameters[i] = original - step;
            double minus = Loss();
            parameters[i] = original;

            var (kink, agrees, numeric) = Compare(center, plus, minus, analytic[i], step);
            if (kink)
            {
                kinks++;
                continue;
            }

            compared++;
            if (!agrees)
            {
                failures.Add($"parameter {i}: analytic {analytic[i]:G6}, numeric {numeric:G6}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} gradients disagree:\n" + string.Join("\n", failures));
        return (compared, kinks);
    }

    /// <summary>
    /// Compares an analytic derivative with the central difference of f at the point (<paramref name="center"/>) and
    /// ±h, and says whether a kink lies within h (then the difference measures nothing).
    /// </summary>
    private static (bool Kink, bool Agrees, double Numeric) Compare(double center, double plus, double minus, double analytic, float step)
    {
        var rightSlope = (plus - center) / step;
        var leftSlope = (center - minus) / step;
        var numeric = (plus - minus) / (2 * step);

        // f is a float, so each difference also carries its rounding: a few ulps of f, over h.
        var rounding = LossRoundingUlps * (MathF.BitIncrement((float)Math.Abs(center)) - Math.Abs(center));
        var allowed = AbsoluteTolerance + (rounding / step);

        // Smooth: the one-sided slopes differ by about f''·h plus rounding noise. A kink at distance d < h moves the
        // central difference by (d / 2h)·jump while the slopes differ by (d / h)·jump, so a skip threshold of twice the
        // tolerance lets no kink-made error through unnoticed.
        if (Math.Abs(rightSlope - leftSlope) > 2 * (allowed + (RelativeTolerance * Math.Abs(numeric))))
        {
            return (true, false, numeric);
        }

        return (false, Math.Abs(analytic - numeric) <= allowed + (RelativeTolerance * Math.Max(Math.Abs(numeric), Math.Abs(analytic))), numeric);
    }

    /// <summary>
    /// Checks <see cref="ITrainableModel.InputGradients"/> against central finite differences of Σ g ⊙ PredictBatch(x)
    /// for seeded weights g, and <see cref="ITrainableModel.LossInputGradients"/> against those of ComputeLoss, input by
    /// input (up to <paramref name="maxInputs"/>), skipping kinks as <see cref="Check"/> does. Both must leave the
    /// gradients of the last TrainStep and the training random stream as they were.
    /// </summary>
    /// <returns>How many input coordinates were compared, and how many were skipped as kinks (both passes together).</returns>
    public static (int Compared, int Kinks) CheckInputs(ITrainableModel model, float[] inputs, float[] targets, int seed, float step, int maxInputs = 200)
    {
        var batch = inputs.Length / model.InputSize;
        var random = new Random(seed);
        var weights = new float[batch * model.OutputSize];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = (2 * random.NextSingle()) - 1;
        }

        model.TrainStep(inputs, targets);
        var trained = model.Gradients.ToArray();
        var stream = model.TrainingRandom;

        var analytic = new float[inputs.Length];
        model.InputGradients(inputs, weights, analytic);
        var lossAnalytic = new float[inputs.Length];
        var loss = model.LossInputGradients(inputs, targets, lossAnalytic);
        Assert.Equal(model.ComputeLoss(inputs, targets), loss, 1e-5f * Math.Max(1f, Math.Abs(loss)));
        Assert.True(trained.AsSpan().SequenceEqual(model.Gradients), "the pass to the inputs changed Gradients");
        Assert.Equal(stream, model.TrainingRandom);

        var predictions = new float[weights.Length];
        double Weighted(float[] x)
        {
            model.PredictBatch(x, predictions);
            var sum = 0.0;
            for (var i = 0; i < predictions.Length; i++)
            {
                sum += (double)weights[i] * predictions[i];
            }

            return sum;
        }

        double Loss(float[] x) => model.ComputeLoss(x, targets);

        var indices = Enumerable.Range(0, inputs.Length).ToArray();
        random.Shuffle(indices);
        indices = indices.Take(maxInputs).ToArray();
        var (compared, kinks) = (0, 0);
        var failures = new List<string>();
        foreach (var (function, gradient, what) in new[] { ((Func<float[], double>)Weighted, analytic, "Σ g·prediction"), (Loss, lossAnalytic, "loss") })
        {
            var x = (float[])inputs.Clone();
            var center = function(x);
            foreach (var i in indices)
            {
                var original = x[i];
                x[i] = original + step;
                var plus = function(x);
                x[i] = original - step;
                var minus = function(x);
                x[i] = original;

                var (kink, agrees, numeric) = Compare(center, plus, minus, gradient[i], step);
                if (kink)
                {
                    kinks++;
                    continue;
                }

                compared++;
                if (!agrees)
                {
                    failures.Add($"{what}, input {i}: analytic {gradient[i]:G6}, numeric {numeric:G6}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} input gradients disagree:\n" + string.Join("\n", failures));
        return (compared, kinks);
    }

    /// <summary>
    /// Checks <see cref="ITrainableModel.TrainStepClipped"/>: with a bound no sample reaches it gives TrainStep's gradients
    /// and loss bit for bit; and, unless the model draws dropout masks (which a batch and its samples one at a time draw
    /// differently), its norms are those of each sample's gradient formed alone (TrainStep on that sample), and its
    /// gradient is their clipped mean, with the bound at the median norm so that about half the samples are clipped.
    /// </summary>
    /// <remarks>A model with batch normalization must refuse, naming layer normalization instead.</remarks>
    /// <param name="declaration">The model's attributes, which say whether it has dropout or batch normalization.</param>
    /// <returns>How many samples were clipped.</returns>
    public static int CheckClipping(ITrainableModel model, float[] inputs, float[] targets, string declaration)
    {
        var batch = inputs.Length / model.InputSize;
        if (declaration.Contains("[BatchNorm", StringComparison.Ordinal))
        {
            var refused = Assert.Throws<NotSupportedException>(() => model.TrainStepClipped(inputs, targets, 1f, new float[batch]));
            Assert.Contains("layer normalization", refused.Message);
            return 0;
        }

        var drawsMasks = declaration.Contains("[Dropout", StringComparison.Ordinal);
        var targetSize = targets.Length / batch;
        var norms = new float[batch];
        var stream = model.TrainingRandom;
        var loss = model.TrainStep(inputs, targets);
        var plain = model.Gradients.ToArray();
        model.TrainingRandom = stream;
        Assert.Equal(loss, model.TrainStepClipped(inputs, targets, float.MaxValue, norms));
        Assert.True(plain.AsSpan().SequenceEqual(model.Gradients), "with no sample clipped, the gradients differ from TrainStep's");
        if (drawsMasks)
        {
            return 0;
        }

        var samples = new double[batch][];
        var expectedNorms = new double[batch];
        for (var n = 0; n < batch; n++)
        {
            model.TrainStep(inputs.AsSpan(n * model.InputSize, model.InputSize), targets.AsSpan(n * targetSize, targetSize));
            samples[n] = model.Gradients.ToArray().Select(g => (double)g).ToArray();
            expectedNorms[n] = Math.Sqrt(samples[n].Sum(g => g * g));
        }

        var clip = (float)expectedNorms.OrderBy(v => v).ElementAt(batch / 2);
        model.TrainStepClipped(inputs, targets, clip, norms);
        var clipped = 0;
        var expected = new double[plain.Length];
        for (var n = 0; n < batch; n++)
        {
            Assert.True(Math.Abs(norms[n] - expectedNorms[n]) <= 1e-6 + (1e-4 * expectedNorms[n]), $"sample {n}: norm {norms[n]} against {expectedNorms[n]} formed alone");
            var scale = Math.Min(1, clip / expectedNorms[n]);
            clipped += scale < 1 ? 1 : 0;
            for (var i = 0; i < expected.Length; i++)
            {
                expected[i] += scale * samples[n][i] / batch;
            }
        }

        var gradients = model.Gradients;
        var largest = expected.Max(Math.Abs);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(gradients[i] - expected[i]) <= (1e-5 * largest) + (1e-4 * Math.Abs(expected[i])), $"parameter {i}: clipped mean {gradients[i]:G6} against {expected[i]:G6}");
        }

        return clipped;
    }
}
