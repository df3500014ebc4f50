using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The im2col data movement of convolutions, max, average and global average pooling, against direct loops over the definition.</summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class ConvolutionTests
{
    /// <summary>Geometries with and without padding, strides 1–3, one and several channels, both input layouts, odd sizes.</summary>
    public static TheoryData<Window2D> Windows => new()
    {
        Same(1, 5, 5, 3, 1, channelsLast: false),
        Same(3, 7, 6, 3, 1, channelsLast: false),
        Same(4, 6, 7, 2, 2, channelsLast: true), // even kernel: one extra zero row and column at the bottom and right
        Same(2, 9, 8, 5, 3, channelsLast: true),
        Valid(1, 4, 4, 4, 1, channelsLast: false), // the kernel covers the whole input: one position
        Valid(5, 8, 7, 3, 2, channelsLast: true),
        Valid(17, 6, 5, 1, 1, channelsLast: true), // 1 × 1 kernel over more channels than a vector holds
        Valid(2, 1, 9, 1, 2, channelsLast: false),
    };

    /// <summary>The geometry a "same" layer gets from the generator: ⌈size / stride⌉ positions, the odd padding at the bottom and right.</summary>
    internal static Window2D Same(int channels, int height, int width, int kernel, int stride, bool channelsLast)
    {
        var (outputHeight, outputWidth) = ((height + stride - 1) / stride, (width + stride - 1) / stride);
        var padHeight = Math.Max(((outputHeight - 1) * stride) + kernel - height, 0);
        var padWidth = Math.Max(((outputWidth - 1) * stride) + kernel - width, 0);
        return new Window2D(channels, height, width, kernel, stride, padHeight / 2, padWidth / 2, outputHeight, outputWidth, channelsLast);
    }

    internal static Window2D Valid(int channels, int height, int width, int kernel, int stride, bool channelsLast) =>
        new(channels, height, width, kernel, stride, 0, 0, ((height - kernel) / stride) + 1, ((width - kernel) / stride) + 1, channelsLast);

    /// <summary>Input value (c, h, w) of sample n by the definition, 0 in the padding.</summary>
    private static float At(float[] input, Window2D g, int n, int c, int h, int w) =>
        h < 0 || h >= g.Height || w < 0 || w >= g.Width ? 0f
        : input[(n * g.InputSize) + (g.ChannelsLast ? (((h * g.Width) + w) * g.Channels) + c : (((c * g.Height) + h) * g.Width) + w)];

    /// <summary>
    /// The int8 convolutions quantize an image once and build its windows from the levels, padding with the zero point's
    /// level: that must give the bytes that quantizing the float windows gives (zero quantizes to the zero point).
    /// </summary>
    [Theory]
    [MemberData(nameof(Windows))]
    public void Windows_of_quantized_levels_are_the_quantized_windows(Window2D g)
    {
        const int batch = 3;
        var input = GemmTests.Random(batch * g.InputSize, 12);
        var columns = new float[batch * g.Positions * g.PatchSize];
        Convolution.ImageToColumns(input, columns, g, batch);
        var parameters = Quantization.QuantizationParameters.FromRange(input.Min(), input.Max());
        var expected = new byte[columns.Length];
        Quantization.ActivationQuantizer.Quantize(columns, parameters, expected);

        var imageLevels = new byte[input.Length];
        Quantization.ActivationQuantizer.Quantize(input, parameters, imageLevels);
        var actual = Enumerable.Repeat((byte)255, columns.Length).ToArray();
        Convolution.LevelsToColumns(imageLevels, actual, g, batch, (byte)parameters.ZeroPoint);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Windows))]
    public void Image_to_columns_copies_each_window_in_kernel_row_column_channel_order(Window2D g)
    {
        const int batch = 3;
        var input = GemmTests.Random(batch * g.InputSize, 11);
        var columns = Enumerable.Repeat(float.NaN, batch * g.Positions * g.PatchSize).ToArray();
        Convolution.ImageToColumns(input, columns, g, batch);

        var i = 0;
        for (var n = 0; n < batch; n++)
        {
            for (var oh = 0; oh < g.OutputHeight; oh++)
            {
                for (var ow = 0; ow < g.OutputWidth; ow++)
                {
                    for (var kh = 0; kh < g.Kernel; kh++)
                    {
                        for (var kw = 0; kw < g.Kernel; kw++)
                        {
                            for (var c = 0; c < g.Channels; c++)
                            {
                                var expected = At(input, g, n, c, (oh * g.Stride) - g.PadTop + kh, (ow * g.Stride) - g.PadLeft + kw);
                                Assert.Equal(expected, columns[i++]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for random x and c: col2im is exactly the adjoint, so it is the input gradient.</summary>
    [Theory]
    [MemberData(nameof(Windows))]
    public void Columns_to_image_is_the_adjoint_of_image_to_columns(Window2D g)
    {
        const int batch = 2;
        var x = GemmTests.Random(batch * g.InputSize, 5);
        var c = GemmTests.Random(batch * g.Positions * g.PatchSize, 6);
        var columns = new float[c.Length];
        Convolution.ImageToColumns(x, columns, g, batch);
        var image = Enumerable.Repeat(float.NaN, x.Length).ToArray(); // overwritten, not added to
        Convolution.ColumnsToImage(c, image, g, batch);

        double left = 0, right = 0;
        for (var i = 0; i < c.Length; i++)
        {
            left += (double)columns[i] * c[i];
        }

        for (var i = 0; i < x.Length; i++)
        {
            right += (double)x[i] * image[i];
        }

        Assert.Equal(left, right, 1e-3 * (1 + Math.Abs(left)));
    }

    /// <summary>A convolution as im2col times the kernels equals the direct sum over each window.</summary>
    [Theory]
    [MemberData(nameof(Windows))]
    public void Im2col_product_equals_the_direct_convolution(Window2D g)
    {
        const int batch = 2, filters = 3;
        var input = GemmTests.Random(batch * g.InputSize, 7);
        var kernels = GemmTests.Random(g.PatchSize * filters, 8); // [(kh, kw, c) × filter]
        var columns = new float[batch * g.Positions * g.PatchSize];
        var output = new float[batch * g.Positions * filters];
        Convolution.ImageToColumns(input, columns, g, batch);
        Gemm.Multiply(columns, kernels, output, batch * g.Positions, filters, g.PatchSize);

        for (var n = 0; n < batch; n++)
        {
            for (var p = 0; p < g.Positions; p++)
            {
                var (oh, ow) = Math.DivRem(p, g.OutputWidth);
                for (var f = 0; f < filters; f++)
                {
                    double sum = 0;
                    for (var kh = 0; kh < g.Kernel; kh++)
                    {
                        for (var kw = 0; kw < g.Kernel; kw++)
                        {
                            for (var c = 0; c < g.Channels; c++)
                            {
                                var weight = kernels[((((kh * g.Kernel) + kw) * g.Channels) + c) * filters + f];
                                sum += weight * (double)At(input, g, n, c, (oh * g.Stride) - g.PadTop + kh, (ow * g.Stride) - g.PadLeft + kw);
                            }
                        }
                    }

                    Assert.Equal(sum, output[(((n * g.Positions) + p) * filters) + f], 1e-4 * (1 + Math.Abs(sum)));
                }
            }
        }
    }

    /// <summary>First-layer geometries for the direct kernels, each with a number of filters that picks a different vector width (or none).</summary>
    public static TheoryData<Window2D, int> DirectWindows => new()
    {
        { Same(1, 28, 28, 3, 1, channelsLast: false), 16 }, // the Fashion CNN's first layer
        { Same(3, 9, 7, 3, 2, channelsLast: false), 32 },
        { Same(2, 6, 7, 2, 2, channelsLast: false), 8 }, // even kernel: the extra zero row and column at the bottom and right
        { Valid(1, 7, 9, 5, 1, channelsLast: false), 12 }, // 4-wide vectors only
        { Valid(3, 8, 7, 3, 2, channelsLast: false), 6 }, // no vector width divides 6: the scalar loops
        { Valid(2, 5, 5, 4, 3, channelsLast: false), 16 }, // remainder rows and columns dropped
        { Valid(1, 1, 3, 1, 1, channelsLast: false), 16 }, // fewer positions than one group of eight
    };

    /// <summary>
    /// The direct forward kernel reads each window where it lies and sums as im2col and the blocked product do: the same
    /// bits, with and without bias and ReLU.
    /// </summary>
    [Theory]
    [MemberData(nameof(DirectWindows))]
    public void Direct_forward_gives_the_bits_of_im2col_and_the_product(Window2D g, int filters)
    {
        const int batch = 3;
        Assert.True(Convolution.ComputesDirectly(g));
        var input = GemmTests.Random(batch * g.InputSize, 31);
        var weights = GemmTests.Random(g.PatchSize * filters, 32);
        var bias = GemmTests.Random(filters, 33);
        var columns = new float[batch * g.Positions * g.PatchSize];
        Convolution.ImageToColumns(input, columns, g, batch);
        foreach (var (withBias, activation) in new[] { (true, GemmActivation.Relu), (false, GemmActivation.None) })
        {
            var b = withBias ? bias : [];
            var expected = new float[batch * g.Positions * filters];
            Gemm.Multiply(columns, weights, expected, batch * g.Positions, filters, g.PatchSize, b, activation);
            var actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
            Convolution.DirectForward(input, weights, b, actual, g, batch, activation);
            Assert.Equal(expected, actual);
        }
    }

    /// <summary>The direct weight gradient against Σₙ Σₚ window ⊗ gradient in doubles, and the same bits on one thread and two.</summary>
    [Theory]
    [MemberData(nameof(DirectWindows))]
    public void Direct_weight_gradient_sums_every_window_times_its_outputs_gradient(Window2D g, int filters)
    {
        foreach (var batch in new[] { 1, 3, 11 })
        {
            var input = GemmTests.Random(batch * g.InputSize, 34);
            var gradient = GemmTests.Random(batch * g.Positions * filters, 35);
            var expected = new double[g.PatchSize * filters];
            for (var n = 0; n < batch; n++)
            {
                for (var p = 0; p < g.Positions; p++)
                {
                    var (oh, ow) = Math.DivRem(p, g.OutputWidth);
                    for (var k = 0; k < g.PatchSize; k++)
                    {
                        var (kh, rest) = Math.DivRem(k, g.Kernel * g.Channels);
                        var (kw, c) = Math.DivRem(rest, g.Channels);
                        var x = At(input, g, n, c, (oh * g.Stride) - g.PadTop + kh, (ow * g.Stride) - g.PadLeft + kw);
                        for (var f = 0; f < filters; f++)
                        {
                            expected[(k * filters) + f] += (double)x * gradient[(((n * g.Positions) + p) * filters) + f];
                        }
                    }
                }
            }

            var actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
            Convolution.DirectWeightGradient(input, gradient, actual, g, batch);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"batch {batch}, ∂W[{i}] = {actual[i]}, expected {expected[i]}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Direct_kernels_give_the_same_bits_on_one_thread_and_two(int threads)
    {
        var previous = KernelSettings.MaxThreads;
        try
        {
            const int batch = 64;
            var g = Same(1, 28, 28, 3, 1, channelsLast: false);
            var input = GemmTests.Random(batch * g.InputSize, 36);
            var weights = GemmTests.Random(g.PatchSize * 16, 37);
            var gradient = GemmTests.Random(batch * g.Positions * 16, 38);
            (float[] Output, float[] WeightGradient) Run(int count)
            {
                KernelSettings.MaxThreads = count;
                var output = new float[gradient.Length];
                Convolution.DirectForward(input, weights, weights.AsSpan(0, 16), output, g, batch, GemmActivation.Relu);
                var weightGradient = new float[weights.Length];
                Convolution.DirectWeightGradient(input, gradient, weightGradient, g, batch);
                return (output, weightGradient);
            }

            var one = Run(1);
            var split = Run(threads);
            Assert.Equal(one.Output, split.Output);
            Assert.Equal(one.WeightGradient, split.WeightGradient);
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    /// <summary>
    /// The fused first convolution and 2 × 2 max pooling give, bit for bit, the pooled values and indices of the direct
    /// convolution followed by max pooling: on the Fashion CNN's first layer, odd sizes (a last odd window, a row and a
    /// column no window covers), strided and unpadded convolutions, filter counts for every vector width and none, with
    /// and without ReLU, NaN inputs, batches on one thread and split over two.
    /// </summary>
    [Theory]
    [InlineData(1, 28, 28, 3, 1, 16, true)]
    [InlineData(1, 28, 28, 3, 1, 32, true)]
    [InlineData(3, 9, 7, 3, 1, 5, true)]
    [InlineData(2, 11, 10, 3, 1, 12, false)]
    [InlineData(2, 12, 13, 3, 2, 24, true)]
    [InlineData(1, 10, 9, 2, 1, 8, true)]
    [InlineData(3, 6, 6, 1, 1, 64, false)]
    public void Fused_direct_convolution_and_max_pooling_give_the_bits_of_the_two_passes(int channels, int height, int width, int kernel, int stride, int filters, bool relu)
    {
        var g = kernel == 2 ? Valid(channels, height, width, kernel, stride, channelsLast: false) : Same(channels, height, width, kernel, stride, channelsLast: false);
        var pool = Valid(filters, g.OutputHeight, g.OutputWidth, 2, 2, channelsLast: true);
        Assert.True(Convolution.PoolsDirectly(g, pool, filters));
        var activation = relu ? GemmActivation.Relu : GemmActivation.None;
        var previous = KernelSettings.MaxThreads;
        try
        {
            foreach (var (batch, threads) in new[] { (3, 1), (40, 1), (40, 2) })
            {
                KernelSettings.MaxThreads = threads;
                FusedForwardGivesTheTwoPasses(g, pool, filters, activation, batch);
            }
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    private static void FusedForwardGivesTheTwoPasses(Window2D g, Window2D pool, int filters, GemmActivation activation, int batch)
    {
        {
            var input = GemmTests.Random(batch * g.InputSize, 40 + batch);
            input.AsSpan(0, g.InputSize).Fill(float.NaN); // every output of sample 0 NaN: the first index kept
            input[g.InputSize + 5] = float.NaN; // some of sample 1's: a number always wins
            var weights = GemmTests.Random(g.PatchSize * filters, 41);
            var bias = GemmTests.Random(filters, 42);
            var outputs = new float[batch * g.Positions * filters];
            Convolution.DirectForward(input, weights, bias, outputs, g, batch, activation);
            var (expected, expectedIndices) = (new float[batch * pool.Positions * filters], new int[batch * pool.Positions * filters]);
            Pooling.MaxForward(outputs, expected, expectedIndices, pool, batch);

            var (pooled, indices) = (Enumerable.Repeat(float.NaN, expected.Length).ToArray(), new int[expected.Length]);
            Convolution.DirectForwardMaxPool(input, weights, bias, pooled, indices, g, pool, batch, activation);

            Assert.Equal(expected, pooled);
            Assert.Equal(expectedIndices, indices);
            Assert.Contains(pooled, float.IsNaN);
        }
    }

    /// <summary>
    /// The fused first-convolution weight gradient gives, bit for bit, the direct weight gradient of the output gradient
    /// that max pooling's backward makes, with and without the ReLU gate, over tiled and overlapping windows, on one
    /// thread and split over two.
    /// </summary>
    [Theory]
    [InlineData(1, 28, 28, 3, 16, 2, 2)]
    [InlineData(1, 28, 28, 3, 32, 2, 2)]
    [InlineData(3, 9, 7, 3, 5, 2, 2)]
    [InlineData(2, 11, 10, 3, 12, 3, 2)]
    [InlineData(2, 8, 8, 2, 8, 3, 3)]
    public void Fused_direct_weight_gradient_gives_the_bits_of_pooling_backward_then_the_weight_gradient(
        int channels, int height, int width, int kernel, int filters, int poolSize, int poolStride)
    {
        var g = Same(channels, height, width, kernel, 1, channelsLast: false);
        var pool = Valid(filters, g.OutputHeight, g.OutputWidth, poolSize, poolStride, channelsLast: true);
        Assert.True(Convolution.PoolsGradientDirectly(g, pool, filters));
        var previous = KernelSettings.MaxThreads;
        var biasBits = new List<float[]>();
        try
        {
            foreach (var (batch, threads) in new[] { (3, 1), (40, 1), (40, 2) })
            {
                KernelSettings.MaxThreads = threads;
                var input = GemmTests.Random(batch * g.InputSize, 50 + batch);
                var outputs = GemmTests.Random(batch * g.Positions * filters, 51).Select(v => v - 0.3f).ToArray();
                var (pooled, argmax) = (new float[batch * pool.Positions * filters], new int[batch * pool.Positions * filters]);
                Pooling.MaxForward(outputs, pooled, argmax, pool, batch);
                var dy = GemmTests.Random(pooled.Length, 52);
                foreach (var gate in new[] { null, pooled })
                {
                    var dz = new float[outputs.Length];
                    Pooling.MaxBackward(dy, argmax, dz, pool, batch, gate);
                    var expected = new float[g.PatchSize * filters];
                    Convolution.DirectWeightGradient(input, dz, expected, g, batch);

                    var actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
                    Convolution.DirectWeightGradientMaxPool(input, dy, argmax, gate, actual, default, g, pool, batch);
                    Assert.Equal(expected, actual);

                    // With the bias gradient: the same ∂W, and ∂b = Σ dz over every sample and position.
                    var bias = Enumerable.Repeat(float.NaN, filters).ToArray();
                    actual = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
                    Convolution.DirectWeightGradientMaxPool(input, dy, argmax, gate, actual, bias, g, pool, batch);
                    Assert.Equal(expected, actual);
                    for (var f = 0; f < filters; f++)
                    {
                        var sum = Enumerable.Range(0, batch * g.Positions).Sum(p => (double)dz[(p * filters) + f]);
                        Assert.True(Math.Abs(bias[f] - sum) <= 1e-5 * (1 + Math.Abs(sum)) * batch, $"∂b[{f}] = {bias[f]}, expected {sum}");
                    }

                    if (batch == 40)
                    {
                        biasBits.Add(bias);
                    }
                }
            }
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }

        // One thread and two give the same bias bits (without and with the gate).
        Assert.Equal(biasBits[0], biasBits[2]);
        Assert.Equal(biasBits[1], biasBits[3]);
        Assert.False(Convolution.PoolsGradientDirectly(g, pool with { OutputHeight = pool.OutputHeight + 1 }, filters)); // a window past the outputs
        var wrong = Assert.Throws<ArgumentException>(() => Convolution.DirectWeightGradientMaxPool(
            new float[g.InputSize], new float[pool.Positions * filters], new int[pool.Positions * filters], new float[1], new float[g.PatchSize * filters], default, g, pool, 1));
        Assert.Contains("pooled gradients, indices and (if any) gates", wrong.Message);
        Assert.Throws<ArgumentException>(() => Convolution.DirectWeightGradientMaxPool(
            new float[g.InputSize], new float[pool.Positions * filters], new int[pool.Positions * filters], default, new float[g.PatchSize * filters], new float[filters + 1], g, pool, 1));
        Assert.False(Convolution.PoolsGradientDirectly(g, pool with { Channels = filters + 1 }, filters));
    }

    [Fact]
    public void Fused_direct_convolution_and_max_pooling_refuse_other_pools_and_lengths()
    {
        var g = Same(1, 8, 8, 3, 1, channelsLast: false);
        var pool = Valid(4, 8, 8, 2, 2, channelsLast: true);
        var (input, weights, pooled, indices) = (new float[2 * 64], new float[9 * 4], new float[2 * 64], new int[2 * 64]);
        Convolution.DirectForwardMaxPool(input, weights, default, pooled, indices, g, pool, 2);
        Assert.False(Convolution.PoolsDirectly(g, Valid(4, 8, 8, 3, 3, channelsLast: true), 4));
        Assert.False(Convolution.PoolsDirectly(g, Valid(4, 8, 8, 2, 1, channelsLast: true), 4));
        Assert.False(Convolution.PoolsDirectly(g, Valid(5, 8, 8, 2, 2, channelsLast: true), 4));
        Assert.False(Convolution.PoolsDirectly(g with { ChannelsLast = true }, pool, 4));
        var error = Assert.Throws<ArgumentException>(() => Convolution.DirectForwardMaxPool(input, weights, default, pooled, indices, g, Valid(4, 8, 8, 2, 1, channelsLast: true), 2));
        Assert.Contains("pools 2 × 2 windows at stride 2", error.Message);
        error = Assert.Throws<ArgumentException>(() => Convolution.DirectForwardMaxPool(input, weights, default, pooled.AsSpan(1), indices, g, pool, 2));
        Assert.Contains("2 × 16 × 4 pooled values", error.Message);
        Assert.Throws<ArgumentException>(() => Convolution.DirectForwardMaxPool(input, weights, default, pooled, indices.AsSpan(1), g, pool, 2));
        Assert.Throws<ArgumentException>(() => Convolution.DirectForwardMaxPool(input.AsSpan(1), weights, default, pooled, indices, g, pool, 2));
        Assert.Throws<ArgumentException>(() => Convolution.DirectForwardMaxPool(input, weights, new float[3], pooled, indices, g, pool, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Convolution.DirectForwardMaxPool(input, weights, default, pooled, indices, g, pool, 2, (GemmActivation)7));
    }

    [Fact]
    public void Direct_kernels_refuse_what_they_do_not_take()
    {
        var g = Same(1, 6, 6, 3, 1, channelsLast: false);
        var error = Assert.Throws<ArgumentException>(() => Convolution.DirectForward(new float[36], new float[9 * 4], default, new float[35 * 4], g, 1));
        Assert.Contains("1 samples of 36 inputs", error.Message);
        Assert.Throws<ArgumentException>(() => Convolution.DirectWeightGradient(new float[36], new float[36 * 4], new float[10 * 4], g, 1));
        Assert.Throws<ArgumentException>(() => Convolution.DirectForward(new float[36], new float[36], new float[3], new float[36 * 4], g, 1));
        var channelsLast = g with { ChannelsLast = true };
        Assert.False(Convolution.ComputesDirectly(channelsLast));
        error = Assert.Throws<ArgumentException>(() => Convolution.DirectForward(new float[36], new float[36], default, new float[36 * 4], channelsLast, 1));
        Assert.Contains("channels-first", error.Message);
        Assert.False(Convolution.ComputesDirectly(Same(4, 6, 6, 3, 1, channelsLast: false))); // 36 values per window
        Assert.False(Convolution.ComputesDirectly(Same(1, 100, 100, 3, 1, channelsLast: false))); // 102 × 102 padded
    }

    public static TheoryData<Window2D> PoolWindows => new()
    {
        Valid(1, 4, 4, 2, 2, channelsLast: false),
        Valid(3, 5, 7, 2, 2, channelsLast: true), // a remainder row and column dropped
        Valid(2, 6, 6, 3, 1, channelsLast: true), // overlapping windows
        Valid(4, 7, 5, 3, 2, channelsLast: false),
        Valid(19, 2, 2, 2, 2, channelsLast: true),
        Valid(37, 6, 8, 2, 2, channelsLast: true), // tiled: whole vectors of channels and a remainder
        Valid(16, 5, 5, 2, 2, channelsLast: true), // tiled, the last row and column under no window
        Valid(9, 9, 9, 3, 3, channelsLast: true),
    };

    /// <summary>
    /// Max pooling against its definition, and its gradient routed back, plain and through a ReLU gate: with the pooled
    /// outputs as the gate, an output passes its gradient on only where it is &gt; 0 (the inputs are of both signs).
    /// </summary>
    [Theory]
    [MemberData(nameof(PoolWindows))]
    public void Max_pooling_takes_each_windows_largest_value_and_routes_its_gradient_back(Window2D g)
    {
        const int batch = 3;
        var input = GemmTests.Random(batch * g.InputSize, 9).Select(v => v - 0.7f).ToArray(); // windows whose largest value is ≤ 0 too
        var outputs = batch * g.Positions * g.Channels;
        var output = new float[outputs];
        var argmax = new int[outputs];
        Pooling.MaxForward(input, output, argmax, g, batch);

        var dy = GemmTests.Random(outputs, 10);
        var dx = Enumerable.Repeat(float.NaN, input.Length).ToArray();
        Pooling.MaxBackward(dy, argmax, dx, g, batch);
        var gated = Enumerable.Repeat(float.NaN, input.Length).ToArray();
        Pooling.MaxBackward(dy, argmax, gated, g, batch, gate: output);
        var expectedDx = new float[input.Length];
        var expectedGated = new float[input.Length];
        for (var n = 0; n < batch; n++)
        {
            for (var p = 0; p < g.Positions; p++)
            {
                var (oh, ow) = Math.DivRem(p, g.OutputWidth);
                for (var c = 0; c < g.Channels; c++)
                {
                    var (largest, at) = (float.NegativeInfinity, -1);
                    for (var kh = 0; kh < g.Kernel; kh++)
                    {
                        for (var kw = 0; kw < g.Kernel; kw++)
                        {
                            var (h, w) = ((oh * g.Stride) + kh, (ow * g.Stride) + kw);
                            var index = g.ChannelsLast ? (((h * g.Width) + w) * g.Channels) + c : (((c * g.Height) + h) * g.Width) + w;
                            if (input[(n * g.InputSize) + index] > largest)
                            {
                                (largest, at) = (input[(n * g.InputSize) + index], index);
                            }
                        }
                    }

                    var o = (((n * g.Positions) + p) * g.Channels) + c;
                    Assert.Equal(largest, output[o]);
                    Assert.Equal(at, argmax[o]);
                    expectedDx[(n * g.InputSize) + at] += dy[o];
                    expectedGated[(n * g.InputSize) + at] += output[o] > 0 ? dy[o] : 0;
                }
            }
        }

        Assert.Equal(expectedDx, dx);
        Assert.Equal(expectedGated, gated);
        Assert.Contains(output, value => value <= 0);
        Assert.Contains(output, value => value > 0);
    }

    /// <summary>
    /// Average pooling against its definition (the window's values added in row order, times 1 / kernel², bit for bit:
    /// the kernel promises that order on every path), and its backward pass as the exact adjoint of its forward pass,
    /// ⟨avg(x), dy⟩ = ⟨x, avg′(dy)⟩, with overlapping windows adding their shares.
    /// </summary>
    [Theory]
    [MemberData(nameof(PoolWindows))]
    public void Average_pooling_takes_each_windows_mean_and_shares_its_gradient_equally(Window2D g)
    {
        const int batch = 3;
        var input = GemmTests.Random(batch * g.InputSize, 11);
        var outputs = batch * g.Positions * g.Channels;
        var output = new float[outputs];
        Pooling.AverageForward(input, output, g, batch);

        var dy = GemmTests.Random(outputs, 12);
        var dx = Enumerable.Repeat(float.NaN, input.Length).ToArray();
        Pooling.AverageBackward(dy, dx, g, batch);
        var expectedDx = new double[input.Length];
        var scale = 1f / (g.Kernel * g.Kernel);
        for (var n = 0; n < batch; n++)
        {
            for (var p = 0; p < g.Positions; p++)
            {
                var (oh, ow) = Math.DivRem(p, g.OutputWidth);
                for (var c = 0; c < g.Channels; c++)
                {
                    var o = (((n * g.Positions) + p) * g.Channels) + c;
                    var sum = 0f;
                    for (var kh = 0; kh < g.Kernel; kh++)
                    {
                        for (var kw = 0; kw < g.Kernel; kw++)
                        {
                            var (h, w) = ((oh * g.Stride) + kh, (ow * g.Stride) + kw);
                            sum += At(input, g, n, c, h, w);
                            expectedDx[(n * g.InputSize) + g.InputIndex(c, h, w)] += dy[o] * scale;
                        }
                    }

                    Assert.Equal(sum * scale, output[o]);
                }
            }
        }

        for (var i = 0; i < dx.Length; i++)
        {
            Assert.True(Math.Abs(dx[i] - expectedDx[i]) <= 1e-6, $"dx[{i}] = {dx[i]}, expected {expectedDx[i]}");
        }

        var forward = output.Select((v, i) => (double)v * dy[i]).Sum();
        var backward = input.Select((v, i) => (double)v * dx[i]).Sum();
        Assert.True(Math.Abs(forward - backward) <= 1e-4 * Math.Max(1, Math.Abs(forward)), $"⟨avg x, dy⟩ = {forward}, ⟨x, avg′ dy⟩ = {backward}");
    }

    /// <summary>Global average pooling in both layouts: each channel's mean, added in position order; the gradient dy / positions everywhere.</summary>
    [Theory]
    [InlineData(3, 5, 7, true)]
    [InlineData(3, 5, 7, false)]
    [InlineData(19, 2, 3, true)] // more channels than a vector holds
    [InlineData(1, 1, 1, false)]
    public void Global_average_pooling_takes_each_channels_mean(int channels, int height, int width, bool channelsLast)
    {
        const int batch = 2;
        var positions = height * width;
        var g = new Window2D(channels, height, width, 1, 1, 0, 0, height, width, channelsLast);
        var input = GemmTests.Random(batch * channels * positions, 13);
        var output = new float[batch * channels];
        Pooling.GlobalAverageForward(input, output, channels, positions, channelsLast, batch);
        var dy = GemmTests.Random(output.Length, 14);
        var dx = Enumerable.Repeat(float.NaN, input.Length).ToArray();
        Pooling.GlobalAverageBackward(dy, dx, channels, positions, channelsLast, batch);
        for (var n = 0; n < batch; n++)
        {
            for (var c = 0; c < channels; c++)
            {
                var sum = 0f;
                for (var p = 0; p < positions; p++)
                {
                    var (h, w) = Math.DivRem(p, width);
                    sum += At(input, g, n, c, h, w);
                    Assert.Equal(dy[(n * channels) + c] * (1f / positions), dx[(n * g.InputSize) + g.InputIndex(c, h, w)]);
                }

                Assert.Equal(sum * (1f / positions), output[(n * channels) + c]);
            }
        }

        var error = Assert.Throws<ArgumentException>(() => Pooling.GlobalAverageForward(input, new float[output.Length - 1], channels, positions, channelsLast, batch));
        Assert.Contains($"{channels} outputs", error.Message);
        Assert.Throws<ArgumentException>(() => Pooling.GlobalAverageBackward(dy, new float[input.Length + 1], channels, positions, channelsLast, batch));
    }

    [Fact]
    public void Max_pooling_breaks_ties_to_the_first_value_and_never_picks_NaN_over_a_number()
    {
        var g = Valid(1, 2, 2, 2, 2, channelsLast: false);
        var output = new float[1];
        var argmax = new int[1];
        Pooling.MaxForward(new[] { 3f, 3f, 1f, 3f }, output, argmax, g, 1);
        Assert.Equal((3f, 0), (output[0], argmax[0]));
        Pooling.MaxForward(new[] { float.NaN, 2f, float.NaN, 5f }, output, argmax, g, 1);
        Assert.Equal((5f, 3), (output[0], argmax[0]));
    }

    [Fact]
    public void Wrong_lengths_and_impossible_geometries_are_refused_with_what_was_expected()
    {
        var g = Valid(2, 4, 4, 3, 1, channelsLast: true);
        var error = Assert.Throws<ArgumentException>(() => Convolution.ImageToColumns(new float[31], new float[2 * 4 * 18], g, 1));
        Assert.Contains("1 samples of 32 floats", error.Message);
        error = Assert.Throws<ArgumentException>(() => Convolution.ColumnsToImage(new float[143], new float[32], g, 1));
        Assert.Contains("1 × 4 windows of 18 floats", error.Message);
        Assert.Throws<ArgumentException>(() => Convolution.ImageToColumns(new float[32], new float[144], g with { OutputHeight = 3 }, 1));
        Assert.Throws<ArgumentException>(() => Convolution.ImageToColumns(new float[32], new float[72], g with { PadTop = 3 }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Convolution.ImageToColumns(ReadOnlySpan<float>.Empty, Span<float>.Empty, g, 0));

        var pool = Valid(1, 4, 4, 2, 2, channelsLast: false);
        Assert.Throws<ArgumentException>(() => Pooling.MaxForward(new float[16], new float[4], new int[3], pool, 1));
        Assert.Throws<ArgumentException>(() => Pooling.MaxForward(new float[16], new float[9], new int[9], pool with { OutputHeight = 3, OutputWidth = 3, PadTop = 1, PadLeft = 1 }, 1));
        error = Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(new float[4], new[] { 0, 1, 2, 16 }, new float[16], pool, 1));
        Assert.Contains("outside a sample of 16", error.Message);
        Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(new float[4], new[] { 0, 2, 8, 10 }, new float[16], pool, 1, gate: new float[3]));

        // Tiled windows (stride = kernel, channels-last) write each input once: an index in its sample but outside its
        // window would leave its gradient nowhere, so it is refused too, on the vector path and on the scalar one.
        foreach (var channels in new[] { 1, 32 })
        {
            var tiled = Valid(channels, 4, 4, 2, 2, channelsLast: true);
            var indices = new int[4 * channels];
            var image = GemmTests.Random(16 * channels, 30);
            Pooling.MaxForward(image, new float[indices.Length], indices, tiled, 1);
            indices[channels - 1] = (5 * channels) + channels - 1; // (1, 1): still in the first window, allowed
            Pooling.MaxBackward(new float[indices.Length], indices, new float[image.Length], tiled, 1);
            indices[channels - 1] = (3 * 4 * channels) + channels - 1; // row 3: the third window's
            error = Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(new float[indices.Length], indices, new float[image.Length], tiled, 1));
            Assert.Contains($"outside its window of channel {channels - 1} at (0, 0)", error.Message);
            if (channels > 1)
            {
                indices[0] = 1; // channel 1's value in the right window
                error = Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(new float[indices.Length], indices, new float[image.Length], tiled, 1));
                Assert.Contains("outside its window of channel 0", error.Message);
            }
        }
    }

    /// <summary>
    /// Batches large enough to be split over two threads (each sample whole on one of them) give, bit for bit, what
    /// one thread gives, in all four passes; a bad index found by either thread still throws.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Large_batches_split_over_the_threads_give_the_same_bits(int threads)
    {
        var previous = KernelSettings.MaxThreads;
        try
        {
            const int batch = 24;
            var conv = Same(3, 20, 18, 3, 1, channelsLast: false);
            var pool = Valid(5, 20, 18, 2, 2, channelsLast: true);
            var input = GemmTests.Random(batch * conv.InputSize, 21);
            var image = GemmTests.Random(batch * pool.InputSize, 22);
            Assert.True(batch * conv.Positions * conv.PatchSize >= WorkSplitter.MinParallelValues);
            Assert.True(image.Length >= WorkSplitter.MinParallelValues);

            (float[] Columns, float[] Image, float[] Pooled, int[] Argmax, float[] PoolGradient) Run(int count)
            {
                KernelSettings.MaxThreads = count;
                var columns = new float[batch * conv.Positions * conv.PatchSize];
                Convolution.ImageToColumns(input, columns, conv, batch);
                var back = new float[input.Length];
                Convolution.ColumnsToImage(columns, back, conv, batch);
                var pooled = new float[batch * pool.Positions * pool.Channels];
                var argmax = new int[pooled.Length];
                Pooling.MaxForward(image, pooled, argmax, pool, batch);
                var gradient = new float[image.Length];
                Pooling.MaxBackward(pooled, argmax, gradient, pool, batch);
                var averaged = new float[pooled.Length];
                Pooling.AverageForward(image, averaged, pool, batch);
                var averageGradient = new float[image.Length];
                Pooling.AverageBackward(averaged, averageGradient, pool, batch);
                return (columns, back, pooled.Concat(averaged).ToArray(), argmax, gradient.Concat(averageGradient).ToArray());
            }

            var one = Run(1);
            var split = Run(threads);
            Assert.Equal(one.Columns, split.Columns);
            Assert.Equal(one.Image, split.Image);
            Assert.Equal(one.Pooled, split.Pooled);
            Assert.Equal(one.Argmax, split.Argmax);
            Assert.Equal(one.PoolGradient, split.PoolGradient);

            // Each sample as a batch of its own: the same rows.
            var single = new float[conv.Positions * conv.PatchSize];
            Convolution.ImageToColumns(input.AsSpan((batch - 1) * conv.InputSize, conv.InputSize), single, conv, 1);
            Assert.Equal(single, one.Columns.AsSpan((batch - 1) * single.Length).ToArray());

            var pooledLength = batch * pool.Positions * pool.Channels;
            split.Argmax[^1] = pool.InputSize; // the last sample's, taken by the helper from the back
            var error = Assert.Throws<ArgumentException>(() => Pooling.MaxBackward(split.Pooled.AsSpan(0, pooledLength), split.Argmax, new float[image.Length], pool, batch));
            Assert.Contains("outside a sample", error.Message);
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    [Fact]
    public void The_kernels_allocate_nothing()
    {
        var g = Same(3, 8, 8, 3, 1, channelsLast: true);
        var input = GemmTests.Random(4 * g.InputSize, 1);
        var columns = new float[4 * g.Positions * g.PatchSize];
        var pool = Valid(3, 8, 8, 2, 2, channelsLast: true);
        var pooled = new float[4 * pool.Positions * 3];
        var argmax = new int[pooled.Length];
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            Convolution.ImageToColumns(input, columns, g, 4);
            Convolution.ColumnsToImage(columns, input, g, 4);
            Pooling.MaxForward(input, pooled, argmax, pool, 4);
            Pooling.MaxBackward(pooled, argmax, input, pool, 4);
            Pooling.AverageForward(input, pooled, pool, 4);
            Pooling.AverageBackward(pooled, input, pool, 4);
            Pooling.GlobalAverageForward(input, pooled.AsSpan(0, 4 * 3), 3, 64, channelsLast: true, 4);
            Pooling.GlobalAverageBackward(pooled.AsSpan(0, 4 * 3), input, 3, 64, channelsLast: true, 4);
        });

        var first = Same(1, 28, 28, 3, 1, channelsLast: false);
        var image = GemmTests.Random(16 * first.InputSize, 2);
        var (weights, output, weightGradient) = (GemmTests.Random(9 * 16, 3), new float[16 * 784 * 16], new float[9 * 16]);
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            Convolution.DirectForward(image, weights, weights.AsSpan(0, 16), output, first, 16, GemmActivation.Relu);
            Convolution.DirectWeightGradient(image, output, weightGradient, first, 16);
        });
    }
}
