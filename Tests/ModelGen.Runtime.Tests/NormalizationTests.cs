using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The layer- and batch-normalization kernels: the forward pass's statistics, every gradient against finite
/// differences, and the same bits on one thread and two.
/// </summary>
[Collection(KernelThreadsCollection.Name)]
public class NormalizationTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 7)]
    [InlineData(4, 33)]
    public void Forward_normalizes_each_row_then_scales_and_shifts(int rows, int size)
    {
        var x = GemmTests.Random(rows * size, size).Select(v => (v * 5) + 3).ToArray();
        var gamma = GemmTests.Random(size, 1);
        var beta = GemmTests.Random(size, 2);
        var (y, xhat, inverse) = (new float[x.Length], new float[x.Length], new float[rows]);

        Normalization.LayerNormForward(x, y, xhat, inverse, gamma, beta, epsilon: 1e-5f);

        for (var r = 0; r < rows; r++)
        {
            var row = xhat.Skip(r * size).Take(size).Select(v => (double)v).ToArray();
            Assert.Equal(0, row.Average(), 5);
            Assert.Equal(size == 1 ? 0 : 1, row.Average(v => v * v), 3);
            for (var i = 0; i < size; i++)
            {
                Assert.Equal((gamma[i] * xhat[(r * size) + i]) + beta[i], y[(r * size) + i], 5);
            }
        }
    }

    [Fact]
    public void Backward_matches_finite_differences_of_a_weighted_sum()
    {
        const int rows = 3, size = 9;
        var x = GemmTests.Random(rows * size, 4).Select(v => v * 3).ToArray();
        var gamma = GemmTests.Random(size, 5).Select(v => 1 + (0.5f * v)).ToArray();
        var beta = GemmTests.Random(size, 6);
        var weights = GemmTests.Random(rows * size, 7);   // L = Σ weights ⊙ y, so dL/dy = weights

        double Loss(float[] input, float[] g, float[] b)
        {
            var (y, xhat, inverse) = (new float[input.Length], new float[input.Length], new float[rows]);
            Normalization.LayerNormForward(input, y, xhat, inverse, g, b, 1e-5f);
            return y.Select((v, i) => (double)v * weights[i]).Sum();
        }

        var (output, normalized, inverseDeviation) = (new float[x.Length], new float[x.Length], new float[rows]);
        Normalization.LayerNormForward(x, output, normalized, inverseDeviation, gamma, beta, 1e-5f);
        var (dGamma, dBeta, dx) = (new float[size], new float[size], new float[x.Length]);
        Normalization.LayerNormBackward(weights, normalized, inverseDeviation, gamma, dGamma, dBeta, dx);

        CheckSlopes(x, dx, v => Loss(v, gamma, beta), "dx", 2e-3);
        CheckSlopes(gamma, dGamma, v => Loss(x, v, beta), "dγ", 2e-3);
        CheckSlopes(beta, dBeta, v => Loss(x, gamma, v), "dβ", 2e-3);

        // Without dx (nothing before the layer needs it) the parameter gradients are the same.
        var (dGamma2, dBeta2) = (new float[size], new float[size]);
        Normalization.LayerNormBackward(weights, normalized, inverseDeviation, gamma, dGamma2, dBeta2, Span<float>.Empty);
        Assert.Equal(dGamma, dGamma2);
        Assert.Equal(dBeta, dBeta2);
    }

    /// <summary>
    /// Shapes that reach every way the kernels walk their data: fewer rows than one piece holds; many rows of few
    /// features (an image's channels), in several whole pieces and a partial one; rows of exactly one tile; more
    /// features than one tile, in blocks with a partial last one.
    /// </summary>
    public static TheoryData<int, int> BatchNormShapes() => new()
    {
        { 6, 5 },
        { 1000, 3 },
        { 37, 16 },
        { 300, 512 },
        { 3, 700 },
        { 5, 1030 },
    };

    [Theory]
    [MemberData(nameof(BatchNormShapes))]
    public void Batch_norm_training_uses_batch_statistics_and_moves_the_running_averages(int rows, int features)
    {
        var x = GemmTests.Random(rows * features, 8).Select(v => (v * 4) + 2).ToArray();
        var gamma = GemmTests.Random(features, 9).Select(v => 1 + (0.5f * v)).ToArray();
        var beta = GemmTests.Random(features, 10);
        var (y, xhat, inverse) = (new float[x.Length], new float[x.Length], new float[features]);
        var runningMean = new float[features];
        var runningVariance = Enumerable.Repeat(1f, features).ToArray();

        Normalization.BatchNormTraining(x, y, xhat, inverse, gamma, beta, runningMean, runningVariance, momentum: 0.9f, epsilon: 1e-3f);

        for (var f = 0; f < features; f++)
        {
            var column = Enumerable.Range(0, rows).Select(r => (double)x[(r * features) + f]).ToArray();
            var mean = column.Average();
            var variance = column.Average(v => (v - mean) * (v - mean));
            AssertClose(0.1 * mean, runningMean[f], 1e-5, $"running mean {f}");
            AssertClose(0.9 + (0.1 * variance * rows / (rows - 1)), runningVariance[f], 1e-5, $"running variance {f} (unbiased, as PyTorch keeps it)");
            AssertClose(1 / Math.Sqrt(variance + 1e-3), inverse[f], 1e-5, $"1 / σ {f}");
            for (var r = 0; r < rows; r++)
            {
                var expected = (gamma[f] * (column[r] - mean) / Math.Sqrt(variance + 1e-3)) + beta[f];
                AssertClose(expected, y[(r * features) + f], 1e-4, $"y[{r}, {f}]");
                AssertClose((column[r] - mean) / Math.Sqrt(variance + 1e-3), xhat[(r * features) + f], 1e-4, $"x̂[{r}, {f}]");
            }
        }

        // Inference reads the running averages instead.
        var inference = new float[x.Length];
        Normalization.BatchNormInference(x, inference, gamma, beta, runningMean, runningVariance, 1e-3f);
        for (var i = 0; i < x.Length; i++)
        {
            var f = i % features;
            var expected = (gamma[f] * (x[i] - (double)runningMean[f]) / Math.Sqrt(runningVariance[f] + 1e-3)) + beta[f];
            AssertClose(expected, inference[i], 1e-5, $"inference {i}");
        }
    }

    [Theory]
    [MemberData(nameof(BatchNormShapes))]
    public void Batch_norm_backward_matches_finite_differences_of_a_weighted_sum(int rows, int features)
    {
        var x = GemmTests.Random(rows * features, 11).Select(v => v * 3).ToArray();
        var gamma = GemmTests.Random(features, 12).Select(v => 1 + (0.5f * v)).ToArray();
        var beta = GemmTests.Random(features, 13);
        var weights = GemmTests.Random(rows * features, 14);

        double Loss(float[] input, float[] g, float[] b)
        {
            var (y, xhat, inverse) = (new float[input.Length], new float[input.Length], new float[features]);
            Normalization.BatchNormTraining(input, y, xhat, inverse, g, b, new float[features], new float[features], 0.99f, 1e-3f);
            return y.Select((v, i) => (double)v * weights[i]).Sum();
        }

        var (output, normalized, inverseDeviation) = (new float[x.Length], new float[x.Length], new float[features]);
        Normalization.BatchNormTraining(x, output, normalized, inverseDeviation, gamma, beta, new float[features], new float[features], 0.99f, 1e-3f);
        var (dGamma, dBeta, dx) = (new float[features], new float[features], new float[x.Length]);
        Normalization.BatchNormBackward(weights, normalized, inverseDeviation, gamma, dGamma, dBeta, dx);

        // dx at up to 200 coordinates spread over the data (each one a forward pass over all of it), γ and β at all.
        var coordinates = Enumerable.Range(0, Math.Min(200, x.Length)).Select(i => (int)((long)i * x.Length / Math.Min(200, x.Length))).ToArray();
        CheckSlopes(x, dx, v => Loss(v, gamma, beta), "dx", 3e-3, coordinates);
        CheckSlopes(gamma, dGamma, v => Loss(x, v, beta), "dγ", 3e-3);
        CheckSlopes(beta, dBeta, v => Loss(x, gamma, v), "dβ", 3e-3);

        // Without dx (nothing before the layer needs it) the parameter gradients are the same.
        var (dGamma2, dBeta2) = (new float[features], new float[features]);
        Normalization.BatchNormBackward(weights, normalized, inverseDeviation, gamma, dGamma2, dBeta2, Span<float>.Empty);
        Assert.Equal(dGamma, dGamma2);
        Assert.Equal(dBeta, dBeta2);
    }

    /// <summary>
    /// Rows cut into parts fixed by the shape, each summed into its own tile and the tiles added in order: the same bits
    /// whether one thread takes every part or two share them.
    /// </summary>
    [Theory]
    [InlineData(4096, 16)] // an image's channels: 65,536 values in eight parts of whole pieces
    [InlineData(300, 700)] // a block of 512 features and one of 188, each in eight parts
    [InlineData(100, 24)] // too small to split: the same code on one thread
    public void Batch_norm_gives_the_same_bits_on_one_thread_and_two(int rows, int features)
    {
        var x = GemmTests.Random(rows * features, 15).Select(v => (v * 5) - 1).ToArray();
        var gamma = GemmTests.Random(features, 16).Select(v => 1 + v).ToArray();
        var beta = GemmTests.Random(features, 17);
        var dy = GemmTests.Random(rows * features, 18);

        float[][] Run(int threads)
        {
            var previous = KernelSettings.MaxThreads;
            try
            {
                KernelSettings.MaxThreads = threads;
                var (y, xhat, inverse, mean, variance) = (new float[x.Length], new float[x.Length], new float[features], new float[features], new float[features]);
                Normalization.BatchNormTraining(x, y, xhat, inverse, gamma, beta, mean, variance, 0.9f, 1e-3f);
                var (dGamma, dBeta, dx) = (new float[features], new float[features], new float[x.Length]);
                Normalization.BatchNormBackward(dy, xhat, inverse, gamma, dGamma, dBeta, dx);
                var inference = new float[x.Length];
                Normalization.BatchNormInference(x, inference, gamma, beta, mean, variance, 1e-3f);
                return [y, xhat, inverse, mean, variance, dGamma, dBeta, dx, inference];
            }
            finally
            {
                KernelSettings.MaxThreads = previous;
            }
        }

        var one = Run(1);
        var two = Run(2);
        for (var i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i], two[i]);
        }
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: {actual}, expected {expected}");

    /// <summary>Each analytic derivative against the central difference of <paramref name="loss"/> with h = 0.01, relative to it where it exceeds 1.</summary>
    private static void CheckSlopes(float[] values, float[] analytic, Func<float[], double> loss, string name, double tolerance, int[]? coordinates = null)
    {
        const float h = 1e-2f;
        foreach (var i in coordinates ?? Enumerable.Range(0, values.Length).ToArray())
        {
            var original = values[i];
            values[i] = original + h;
            var plus = loss(values);
            values[i] = original - h;
            var minus = loss(values);
            values[i] = original;
            var numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) < tolerance * Math.Max(1, Math.Abs(numeric)), $"{name}[{i}]: numeric {numeric}, analytic {analytic[i]}");
        }
    }
}
