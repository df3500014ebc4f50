using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Convolutions whose products read their windows straight from the images (an implicit GEMM), held bit for bit to
/// <see cref="Convolution.ImageToColumns"/> followed by the same product over the materialized windows.
/// </summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class ImplicitConvolutionTests
{
    /// <summary>Filter counts on every path: the narrow one (≤ 16), 8 × 32 tiles, whole 64-column panels, partial panels.</summary>
    private static readonly int[] FilterCounts = [3, 16, 32, 64, 70];

    /// <summary>Batches of one window (the few-rows path), a few samples (A read in place), more than a row block.</summary>
    private static readonly int[] Batches = [1, 3, 11];

    /// <summary>Every accelerated path, each with the variants that change how A is read or B packed.</summary>
    private static IEnumerable<GemmTuning> Tunings() =>
        GemmTests.AcceleratedPaths().SelectMany(path => new[]
        {
            GemmTuning.Default with { Path = path },
            GemmTuning.Default with { Path = path, ReadAInPlace = false },
            GemmTuning.Default with { Path = path, WideTiles = false, PackBPerPanel = false },
            GemmTuning.Default with { Path = path, SmallRows = false },
        });

    [Theory]
    [MemberData(nameof(ConvolutionTests.Windows), MemberType = typeof(ConvolutionTests))]
    public void Forward_gives_the_bits_of_im2col_and_the_product(Window2D g)
    {
        foreach (var (batch, filters) in Batches.SelectMany(b => FilterCounts.Select(f => (b, f))))
        {
            var (input, weights, bias, columns) = Problem(g, batch, filters, seed: 40);
            var (m, n, k) = (batch * g.Positions, filters, g.PatchSize);
            foreach (var tuning in Tunings())
            {
                foreach (var (b, activation) in new[] { (bias, GemmActivation.Relu), ([], GemmActivation.None) })
                {
                    var expected = new float[m * n];
                    Gemm.ComputeWith(tuning, columns, false, weights, false, expected, m, n, k, accumulate: false, b, activation);
                    var actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
                    Gemm.ComputeWindows(tuning, input, g, batch, transposeA: false, weights, actual, n, accumulate: false, b, activation);
                    Assert.True(expected.SequenceEqual(actual), $"{tuning}, batch {batch}, {filters} filters");
                }
            }

            var output = new float[m * n];
            Convolution.Forward(input, weights, bias, output, g, batch, GemmActivation.Relu);
            var reference = new float[m * n];
            Gemm.Multiply(columns, weights, reference, m, n, k, bias, GemmActivation.Relu);
            Assert.Equal(reference, output);
        }
    }

    [Theory]
    [MemberData(nameof(ConvolutionTests.Windows), MemberType = typeof(ConvolutionTests))]
    public void Transposed_windows_give_the_bits_of_the_weight_gradient_over_im2col(Window2D g)
    {
        foreach (var (batch, filters) in Batches.SelectMany(b => FilterCounts.Select(f => (b, f))))
        {
            var (input, _, _, columns) = Problem(g, batch, filters, seed: 41);
            var (m, n, k) = (g.PatchSize, filters, batch * g.Positions);
            var gradient = GemmTests.Random(k * n, 42);
            var start = GemmTests.Random(m * n, 43);
            foreach (var tuning in Tunings())
            {
                foreach (var accumulate in new[] { false, true })
                {
                    var expected = start.ToArray();
                    Gemm.ComputeWith(tuning, columns, true, gradient, false, expected, m, n, k, accumulate);
                    var actual = start.ToArray();
                    Gemm.ComputeWindows(tuning, input, g, batch, transposeA: true, gradient, actual, n, accumulate);
                    Assert.True(expected.SequenceEqual(actual), $"{tuning}, batch {batch}, {filters} filters, accumulate {accumulate}");
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    public void Weight_gradient_gives_the_bits_of_the_chunked_products_over_im2col(int chunk)
    {
        const int batch = 11, filters = 32;
        var g = ConvolutionTests.Same(16, 14, 14, 3, 1, channelsLast: true);
        var (input, weights, _, columns) = Problem(g, batch, filters, seed: 47);
        var rows = g.Positions * filters;
        var gradient = GemmTests.Random(batch * rows, 48);
        var expected = new float[weights.Length];
        for (var start = 0; start < batch; start += chunk)
        {
            var count = Math.Min(chunk, batch - start);
            var windows = columns.AsSpan(start * g.Positions * g.PatchSize, count * g.Positions * g.PatchSize);
            var dz = gradient.AsSpan(start * rows, count * rows);
            if (start == 0)
            {
                Gemm.MultiplyTransposedA(windows, dz, expected, g.PatchSize, filters, count * g.Positions);
            }
            else
            {
                Gemm.MultiplyAddTransposedA(windows, dz, expected, g.PatchSize, filters, count * g.Positions);
            }
        }

        var actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
        Convolution.WeightGradient(input, gradient, actual, g, batch, chunk);
        Assert.Equal(expected, actual);
        Assert.Throws<ArgumentException>(() => Convolution.WeightGradient(input, gradient.AsSpan(1), actual, g, batch, chunk));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void The_products_give_the_same_bits_on_one_thread_and_more(int threads)
    {
        var previous = KernelSettings.MaxThreads;
        try
        {
            const int batch = 16, filters = 32;
            var g = ConvolutionTests.Same(16, 14, 14, 3, 1, channelsLast: true); // the Fashion CNN's second convolution
            var (input, weights, bias, columns) = Problem(g, batch, filters, seed: 44);
            var gradient = GemmTests.Random(batch * g.Positions * filters, 45);
            (float[] Output, float[] WeightGradient) Run(int count)
            {
                KernelSettings.MaxThreads = count;
                var output = new float[gradient.Length];
                Convolution.Forward(input, weights, bias, output, g, batch, GemmActivation.Relu);
                var weightGradient = new float[weights.Length];
                Convolution.WeightGradient(input, gradient, weightGradient, g, batch, chunk: 4);
                return (output, weightGradient);
            }

            var one = Run(1);
            var split = Run(threads);
            Assert.Equal(one.Output, split.Output);
            Assert.Equal(one.WeightGradient, split.WeightGradient);
            var expected = new float[one.Output.Length];
            Gemm.Multiply(columns, weights, expected, batch * g.Positions, filters, g.PatchSize, bias, GemmActivation.Relu);
            Assert.Equal(expected, split.Output);
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    [Fact]
    public void Wrong_lengths_are_refused_with_what_was_expected()
    {
        var g = ConvolutionTests.Same(2, 5, 5, 3, 1, channelsLast: true);
        var (input, weights, output) = (new float[2 * 50], new float[18 * 4], new float[2 * 25 * 4]);
        var error = Assert.Throws<ArgumentException>(() => Convolution.Forward(input.AsSpan(1), weights, default, output, g, 2));
        Assert.Contains("2 samples of 50 floats", error.Message);
        error = Assert.Throws<ArgumentException>(() => Convolution.Forward(input, weights.AsSpan(1), default, output, g, 2));
        Assert.Contains("[18 × filters] weights", error.Message);
        error = Assert.Throws<ArgumentException>(() => Convolution.Forward(input, weights, default, output.AsSpan(4), g, 2));
        Assert.Contains("c 196 (expected 200)", error.Message);
        Assert.Throws<ArgumentException>(() => Convolution.Forward(input, weights, new float[3], output, g, 2));
        Assert.Throws<ArgumentException>(() => Convolution.Forward(input, weights, default, output, g with { PadTop = 3 }, 2));
    }

    [Fact]
    public void The_products_allocate_nothing()
    {
        var g = ConvolutionTests.Same(16, 14, 14, 3, 1, channelsLast: true);
        var (input, weights, bias, _) = Problem(g, 4, 32, seed: 46);
        var output = new float[4 * g.Positions * 32];
        var weightGradient = new float[weights.Length];
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            Convolution.Forward(input, weights, bias, output, g, 4, GemmActivation.Relu);
            Convolution.WeightGradient(input, output, weightGradient, g, 4, chunk: 3);
        });
    }

    /// <summary>Random images, weights and bias for <paramref name="filters"/> filters, and the images' windows (im2col).</summary>
    private static (float[] Input, float[] Weights, float[] Bias, float[] Columns) Problem(Window2D g, int batch, int filters, int seed)
    {
        var input = GemmTests.Random(batch * g.InputSize, seed);
        var columns = new float[batch * g.Positions * g.PatchSize];
        Convolution.ImageToColumns(input, columns, g, batch);
        return (input, GemmTests.Random(g.PatchSize * filters, seed + 1), GemmTests.Random(filters, seed + 2), columns);
    }
}
