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
        var g = ConvolutionTests.Same(16, 14, 14, 3, 2, channelsLast: true); // stride 2: not read in place
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
            var (expected, scale) = ForwardReference(g, batch, filters, input, weights, bias);
            AssertClose(expected, scale, split.Output, $"{threads} threads");
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    [Theory]
    [MemberData(nameof(StrideOneWindows))]
    public void Stride_one_forward_reads_each_window_in_place_and_sums_it_times_the_weights(Window2D g)
    {
        foreach (var (batch, filters) in Batches.SelectMany(b => FilterCounts.Select(f => (b, f))))
        {
            var (input, weights, bias, _) = Problem(g, batch, filters, seed: 54);
            foreach (var (b, activation) in new[] { (bias, GemmActivation.Relu), ([], GemmActivation.None) })
            {
                var (expected, scale) = ForwardReference(g, batch, filters, input, weights, b, activation == GemmActivation.Relu);
                var actual = Enumerable.Repeat(float.NaN, batch * g.Positions * filters).ToArray();
                Convolution.Forward(input, weights, b, actual, g, batch, activation);
                AssertClose(expected, scale, actual, $"{g}, batch {batch}, {filters} filters, {activation}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(StrideOneWindows))]
    public void Stride_one_weight_gradient_sums_every_window_times_its_outputs_gradient(Window2D g)
    {
        foreach (var (batch, filters) in Batches.SelectMany(b => FilterCounts.Select(f => (b, f))))
        {
            var (input, weights, _, _) = Problem(g, batch, filters, seed: 57);
            var gradient = GemmTests.Random(batch * g.Positions * filters, 58);
            var (expected, scale) = WeightGradientReference(g, batch, filters, input, gradient);
            var actual = Enumerable.Repeat(float.NaN, weights.Length).ToArray();
            Convolution.WeightGradient(input, gradient, actual, g, batch, chunk: 2);
            AssertClose(expected, scale, actual, $"{g}, batch {batch}, {filters} filters");
        }
    }

    /// <summary>∂W by its definition, in double precision: Σ over samples and positions of window value × output gradient; and the scale of each sum's rounding.</summary>
    private static (double[] Gradient, double[] Scale) WeightGradientReference(Window2D g, int batch, int filters, float[] input, float[] dz)
    {
        var (gradient, scale) = (new double[g.PatchSize * filters], new double[g.PatchSize * filters]);
        for (var n = 0; n < batch; n++)
        {
            for (var p = 0; p < g.Positions; p++)
            {
                for (var k = 0; k < g.PatchSize; k++)
                {
                    var source = InputIndexOf(g, n, p, k);
                    if (source < 0)
                    {
                        continue;
                    }

                    var value = (double)input[source];
                    for (var f = 0; f < filters; f++)
                    {
                        var term = value * dz[(((n * g.Positions) + p) * filters) + f];
                        gradient[(k * filters) + f] += term;
                        scale[(k * filters) + f] += Math.Abs(term);
                    }
                }
            }
        }

        return (gradient, scale);
    }

    [Fact]
    public void A_sample_too_large_to_pad_in_the_packing_buffer_is_still_convolved()
    {
        // 42 × 42 × 48 padded values: more than one thread's packing buffer holds, so the windows are packed instead.
        var g = ConvolutionTests.Same(48, 40, 40, 3, 1, channelsLast: true);
        var (input, weights, bias, _) = Problem(g, 2, 16, seed: 55);
        var (expected, scale) = ForwardReference(g, 2, 16, input, weights, bias, relu: false);
        var actual = new float[2 * g.Positions * 16];
        Convolution.Forward(input, weights, bias, actual, g, 2);
        AssertClose(expected, scale, actual, g.ToString());
        var dz = GemmTests.Random(actual.Length, 56);
        var (gradient, gradientScale) = InputGradientReference(g, 2, 16, dz, weights);
        var dx = new float[input.Length];
        Convolution.InputGradient(dz, weights, dx, g, 2, new float[weights.Length]);
        AssertClose(gradient, gradientScale, dx, g.ToString());
        var (weightGradient, weightScale) = WeightGradientReference(g, 2, 16, input, dz);
        var dw = new float[weights.Length];
        Convolution.WeightGradient(input, dz, dw, g, 2, chunk: 1);
        AssertClose(weightGradient, weightScale, dw, g.ToString());
    }

    /// <summary>
    /// A convolution by its definition, in double precision: bias + Σ window·weights per position and filter (then
    /// ReLU); and for each output the sum of the magnitudes of its terms, the scale of its rounding.
    /// </summary>
    private static (double[] Output, double[] Scale) ForwardReference(Window2D g, int batch, int filters, float[] input, float[] weights, float[] bias, bool relu = true)
    {
        var (output, scale) = (new double[batch * g.Positions * filters], new double[batch * g.Positions * filters]);
        for (var n = 0; n < batch; n++)
        {
            for (var p = 0; p < g.Positions; p++)
            {
                for (var f = 0; f < filters; f++)
                {
                    double sum = bias.Length == 0 ? 0 : bias[f], magnitude = Math.Abs(sum);
                    for (var k = 0; k < g.PatchSize; k++)
                    {
                        var source = InputIndexOf(g, n, p, k);
                        if (source >= 0)
                        {
                            var term = (double)input[source] * weights[(k * filters) + f];
                            sum += term;
                            magnitude += Math.Abs(term);
                        }
                    }

                    var index = (((n * g.Positions) + p) * filters) + f;
                    (output[index], scale[index]) = (relu ? Math.Max(sum, 0) : sum, magnitude);
                }
            }
        }

        return (output, scale);
    }

    /// <summary>Where value k of window p of sample n lies among the batch's inputs, or −1 in the padding.</summary>
    private static int InputIndexOf(Window2D g, int n, int p, int k)
    {
        var (kh, kw, c) = (k / (g.Kernel * g.Channels), k / g.Channels % g.Kernel, k % g.Channels);
        var (h, w) = (((p / g.OutputWidth) * g.Stride) - g.PadTop + kh, ((p % g.OutputWidth) * g.Stride) - g.PadLeft + kw);
        return h < 0 || h >= g.Height || w < 0 || w >= g.Width ? -1 : (n * g.InputSize) + g.InputIndex(c, h, w);
    }

    /// <summary>Each value within float rounding of a sum of terms whose magnitudes add up to its scale.</summary>
    private static void AssertClose(double[] expected, double[] scale, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= (2e-6 * scale[i]) + 1e-7, $"{what}, value {i}: {actual[i]} vs {expected[i]}");
        }
    }

    /// <summary>Stride-1 geometries on channels-last input: "same" (odd and even kernels, the extra zero at the bottom and right), "valid", 1 × 1, one position.</summary>
    public static TheoryData<Window2D> StrideOneWindows => new()
    {
        ConvolutionTests.Same(16, 14, 14, 3, 1, channelsLast: true), // the Fashion CNN's second convolution
        ConvolutionTests.Same(3, 7, 6, 3, 1, channelsLast: true),
        ConvolutionTests.Same(4, 6, 7, 2, 1, channelsLast: true),
        ConvolutionTests.Same(2, 9, 8, 5, 1, channelsLast: true),
        ConvolutionTests.Valid(5, 8, 7, 3, 1, channelsLast: true),
        ConvolutionTests.Valid(17, 6, 5, 1, 1, channelsLast: true),
        ConvolutionTests.Valid(3, 4, 4, 4, 1, channelsLast: true),
        ConvolutionTests.Same(91, 5, 4, 3, 1, channelsLast: true), // kernel rows of 273 values: two depth blocks, 137 and 136
        ConvolutionTests.Valid(257, 3, 2, 1, 1, channelsLast: true), // one kernel row of 257 values: 129 and 128
    };

    [Theory]
    [MemberData(nameof(StrideOneWindows))]
    public void Input_gradient_sums_each_windows_gradient_where_it_was_read(Window2D g)
    {
        Assert.True(Convolution.HasImplicitInputGradient(g));
        foreach (var (batch, filters) in Batches.Take(2).SelectMany(b => FilterCounts.Select(f => (b, f))))
        {
            var weights = GemmTests.Random(g.PatchSize * filters, 50);
            var gradient = GemmTests.Random(batch * g.Positions * filters, 51);
            var (expected, scale) = InputGradientReference(g, batch, filters, gradient, weights);
            var actual = Enumerable.Repeat(float.NaN, batch * g.InputSize).ToArray();
            var scratch = Enumerable.Repeat(float.NaN, weights.Length + 5).ToArray();
            Convolution.InputGradient(gradient, weights, actual, g, batch, scratch);
            AssertClose(expected, scale, actual, $"{g}, batch {batch}, {filters} filters");

            // The same gradient as the windows' gradient added back by col2im, to rounding.
            var windows = new float[batch * g.Positions * g.PatchSize];
            Gemm.MultiplyTransposed(gradient, weights, windows, batch * g.Positions, g.PatchSize, filters);
            var added = new float[actual.Length];
            Convolution.ColumnsToImage(windows, added, g, batch);
            for (var i = 0; i < added.Length; i++)
            {
                Assert.True(Math.Abs(actual[i] - added[i]) <= (4e-6 * scale[i]) + 1e-7, $"{g}, batch {batch}, {filters} filters, value {i}: {actual[i]} vs col2im's {added[i]}");
            }
        }
    }

    /// <summary>
    /// Strided geometries on channels-last input, whose input gradient runs as one stride-1 convolution per phase: the
    /// ResNet's downsampling 3 × 3 and 1 × 1 at stride 2, odd and even kernels and sizes, a stride equal to the kernel
    /// and over it (rows no window reads), a phase that reads an output row further on than ⌈kernel / stride⌉ − 1
    /// (3 × 3 at stride 3 padded by 1: a zero tap more), and a depth of 64 channels.
    /// </summary>
    public static TheoryData<Window2D> StridedWindows => new()
    {
        ConvolutionTests.Same(8, 12, 12, 3, 2, channelsLast: true),
        ConvolutionTests.Valid(8, 12, 12, 1, 2, channelsLast: true),
        ConvolutionTests.Same(3, 7, 6, 3, 2, channelsLast: true),
        ConvolutionTests.Same(4, 8, 7, 4, 2, channelsLast: true),
        ConvolutionTests.Valid(5, 9, 8, 3, 3, channelsLast: true),
        ConvolutionTests.Valid(2, 9, 10, 2, 3, channelsLast: true),
        ConvolutionTests.Same(2, 11, 9, 5, 2, channelsLast: true),
        new Window2D(2, 7, 8, 3, 3, PadTop: 1, PadLeft: 1, OutputHeight: 3, OutputWidth: 3, ChannelsLast: true),
        ConvolutionTests.Same(64, 10, 10, 3, 2, channelsLast: true),
    };

    [Theory]
    [MemberData(nameof(StridedWindows))]
    public void Strided_input_gradient_sums_each_windows_gradient_where_it_was_read(Window2D g)
    {
        Assert.True(Convolution.HasImplicitInputGradient(g));
        foreach (var (batch, filters) in Batches.Take(2).SelectMany(b => FilterCounts.Select(f => (b, f))))
        {
            var weights = GemmTests.Random(g.PatchSize * filters, 54);
            var gradient = GemmTests.Random(batch * g.Positions * filters, 55);
            var (expected, scale) = InputGradientReference(g, batch, filters, gradient, weights);
            var least = Convolution.InputGradientScratch(g, filters);
            foreach (var scratchLength in new[] { least, least + 1, 64 * least })
            {
                var actual = Enumerable.Repeat(float.NaN, batch * g.InputSize).ToArray();
                var scratch = Enumerable.Repeat(float.NaN, scratchLength).ToArray();
                Convolution.InputGradient(gradient, weights, actual, g, batch, scratch);
                AssertClose(expected, scale, actual, $"{g}, batch {batch}, {filters} filters, {scratchLength} floats of scratch");
            }
        }

        var tooShort = new float[Convolution.InputGradientScratch(g, 3) - 1];
        var error = Assert.Throws<ArgumentException>(() => Convolution.InputGradient(new float[g.Positions * 3], new float[g.PatchSize * 3], new float[g.InputSize], g, 1, tooShort));
        Assert.Contains($"at least {tooShort.Length + 1} floats", error.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void Input_gradient_gives_the_same_bits_on_one_thread_and_more(int threads)
    {
        var previous = KernelSettings.MaxThreads;
        try
        {
            const int batch = 16, filters = 32;
            foreach (var g in new[] { ConvolutionTests.Same(16, 14, 14, 3, 1, channelsLast: true), ConvolutionTests.Same(16, 14, 14, 3, 2, channelsLast: true) })
            {
                var weights = GemmTests.Random(g.PatchSize * filters, 52);
                var gradient = GemmTests.Random(batch * g.Positions * filters, 53);
                float[] Run(int count)
                {
                    KernelSettings.MaxThreads = count;
                    var dx = new float[batch * g.InputSize];
                    Convolution.InputGradient(gradient, weights, dx, g, batch, new float[Convolution.InputGradientScratch(g, filters) * 4]);
                    return dx;
                }

                Assert.Equal(Run(1), Run(threads));
            }
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    [Fact]
    public void Input_gradient_refuses_layouts_and_lengths_it_does_not_take()
    {
        var g = ConvolutionTests.Same(2, 5, 5, 3, 1, channelsLast: true);
        var (dz, weights, dx, scratch) = (new float[2 * 25 * 4], new float[18 * 4], new float[2 * 50], new float[18 * 4]);
        Convolution.InputGradient(dz, weights, dx, g, 2, scratch);
        Assert.False(Convolution.HasImplicitInputGradient(g with { ChannelsLast = false }));
        Assert.True(Convolution.HasImplicitInputGradient(ConvolutionTests.Same(2, 5, 5, 3, 2, channelsLast: true)));
        var error = Assert.Throws<ArgumentException>(() => Convolution.InputGradient(dz, weights, dx, g with { ChannelsLast = false }, 2, scratch));
        Assert.Contains("only on channels-last input", error.Message);
        error = Assert.Throws<ArgumentException>(() => Convolution.InputGradient(dz, weights, dx, g, 2, scratch.AsSpan(1)));
        Assert.Contains("at least 72 floats", error.Message);
        error = Assert.Throws<ArgumentException>(() => Convolution.InputGradient(dz.AsSpan(4), weights, dx, g, 2, scratch));
        Assert.Contains("2 × 25 × 4 output gradients", error.Message);
        Assert.Throws<ArgumentException>(() => Convolution.InputGradient(dz, weights, dx.AsSpan(1), g, 2, scratch));
        Assert.Throws<ArgumentException>(() => Convolution.InputGradient(dz, weights.AsSpan(1), dx, g, 2, scratch));
    }

    /// <summary>
    /// The input's gradient by its definition, in double precision: each window's dz·Wᵀ added where the window read its
    /// values; and for each value the sum of the magnitudes of its terms, the scale of its rounding.
    /// </summary>
    private static (double[] Gradient, double[] Scale) InputGradientReference(Window2D g, int batch, int filters, float[] dz, float[] weights)
    {
        var (gradient, scale) = (new double[batch * g.InputSize], new double[batch * g.InputSize]);
        for (var n = 0; n < batch; n++)
        {
            for (var p = 0; p < g.Positions; p++)
            {
                for (var k = 0; k < g.PatchSize; k++)
                {
                    var target = InputIndexOf(g, n, p, k);
                    for (var f = 0; f < filters && target >= 0; f++)
                    {
                        var term = (double)dz[(((n * g.Positions) + p) * filters) + f] * weights[(k * filters) + f];
                        gradient[target] += term;
                        scale[target] += Math.Abs(term);
                    }
                }
            }
        }

        return (gradient, scale);
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
            Convolution.InputGradient(output, weights, input, g, 4, weightGradient);
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
