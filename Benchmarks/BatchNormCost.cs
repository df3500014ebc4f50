using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Batch normalization's three kernels (training forward, backward, inference) at the shapes a model gives them: an
/// image after a convolution is batch × positions rows of a few channels each (64 × 784 × 16 and 64 × 196 × 32, the
/// Fashion CNN's two convolutions with a batch norm after each), a dense layer's output is batch rows of many features
/// (64 × 256). Each against a plain copy of the same input (the least a pass over it costs), on one thread and on two,
/// interleaved, medians, after two seconds of warm-up.
/// Run: <c>dotnet run -c Release --project Benchmarks -- batchnorm [rounds]</c>.
/// </summary>
internal static class BatchNormCost
{
    public static void Run(int rounds)
    {
        Console.WriteLine($"batchnorm: µs per call, medians of {rounds} interleaved rounds, 1 thread / 2 threads");
        Console.WriteLine("| rows × features | copy | training forward | backward | inference |");
        Console.WriteLine("|---|--:|--:|--:|--:|");
        foreach (var (rows, features) in new[] { (64 * 784, 16), (64 * 196, 32), (64, 256) })
        {
            var random = new Random(rows + features);
            var x = Measurements.RandomValues(random, rows * features);
            var dy = Measurements.RandomValues(random, rows * features);
            var (y, normalized, dx) = (new float[x.Length], new float[x.Length], new float[x.Length]);
            var (inverse, gamma, beta, mean, variance) = (new float[features], Measurements.RandomValues(random, features), new float[features], new float[features], Enumerable.Repeat(1f, features).ToArray());
            var (gammaGradient, betaGradient) = (new float[features], new float[features]);
            var repeats = Math.Max(1, 2_000_000 / x.Length);
            Action Repeated(Action pass) => () =>
            {
                for (var r = 0; r < repeats; r++)
                {
                    pass();
                }
            };

            var passes = new[]
            {
                Repeated(() => x.AsSpan().CopyTo(y)),
                Repeated(() => Normalization.BatchNormTraining(x, y, normalized, inverse, gamma, beta, mean, variance, momentum: 0.99f, epsilon: 1e-3f)),
                Repeated(() => Normalization.BatchNormBackward(dy, normalized, inverse, gamma, gammaGradient, betaGradient, dx)),
                Repeated(() => Normalization.BatchNormInference(x, y, gamma, beta, mean, variance, epsilon: 1e-3f)),
            };

            // TensorPrimitives, which the kernels call, is compiled by tiers like any library: its first calls run
            // unoptimized code (1,568 additions of 512 floats took 0.83 ms at first, 0.06 ms fully optimized), and
            // its promotion waits while other methods are still being compiled. Two seconds of calls come first.
            var warmUp = Stopwatch.StartNew();
            while (warmUp.Elapsed < TimeSpan.FromSeconds(2))
            {
                foreach (var pass in passes)
                {
                    pass();
                }
            }

            var medians = Measurements.MedianOnOneAndTwoThreads(passes, rounds, warmUp: 2);
            var cells = medians.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.One / repeats:F1} / {m.Two / repeats:F1}"));
            Console.WriteLine($"| {rows:N0} × {features} | {string.Join(" | ", cells)} |");
        }
    }
}
