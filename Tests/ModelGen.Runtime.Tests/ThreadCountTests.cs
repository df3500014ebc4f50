using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// A convolutional classifier large enough that every kind of kernel splits at batch 32: two convolutions (the first
/// direct, the second through im2col), batch normalization per channel, max pooling, a dense layer with dropout.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm(Momentum = 0.9f)]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class ThreadedCnn;

/// <summary>
/// The kernels and whole training runs give the same bits on 1, 2, 3, 4 and 8 threads (more threads than this
/// machine's cores included), and the thread setting is validated and read from the environment.
/// </summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class ThreadCountTests : IDisposable
{
    private static readonly int[] ThreadCounts = [1, 2, 3, 4, 8];

    private readonly int _previous = KernelSettings.MaxThreads;

    public void Dispose() => KernelSettings.MaxThreads = _previous;

    [Theory]
    [InlineData("1", 1)]
    [InlineData("2", 2)]
    [InlineData("3", 3)]
    [InlineData("8", 8)]
    [InlineData("64", 64)]
    [InlineData(" 16 ", 16)]
    [InlineData("+4", 4)]
    public void The_environment_setting_is_read_as_given(string setting, int expected)
    {
        Assert.Equal(expected, WorkSplitter.ParseMaxThreads(setting));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("two")]
    [InlineData("2.5")]
    [InlineData("99999999999")]
    public void A_missing_or_invalid_environment_setting_means_one_thread_per_processor(string? setting)
    {
        Assert.Equal(Environment.ProcessorCount, WorkSplitter.ParseMaxThreads(setting));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Zero_or_negative_threads_are_rejected_and_the_setting_kept(int threads)
    {
        KernelSettings.MaxThreads = 3;
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelSettings.MaxThreads = threads);
        Assert.Equal(3, KernelSettings.MaxThreads);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(64)]
    public void Any_positive_number_of_threads_is_kept_as_set(int threads)
    {
        KernelSettings.MaxThreads = threads;
        Assert.Equal(threads, KernelSettings.MaxThreads);
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 8)]
    [InlineData(3, 12)]
    [InlineData(8, 32)]
    public void Streaming_kernels_get_four_parts_per_thread_and_at_least_eight(int threads, int parts)
    {
        KernelSettings.MaxThreads = threads;
        Assert.Equal(parts, WorkSplitter.StreamParts);
    }

    [Theory]
    [InlineData(3, 100, 8)]
    [InlineData(4, 1000, 32)]
    [InlineData(8, 235_146, 64)]
    [InlineData(8, 37, 1)]
    public unsafe void A_split_run_on_more_threads_covers_every_index_once(int threads, int count, int grain)
    {
        KernelSettings.MaxThreads = threads;
        var hits = new int[count];
        fixed (int* pHits = hits)
        {
            for (var repeat = 0; repeat < 20; repeat++)
            {
                Array.Clear(hits);
                WorkSplitter.Run(&Count, pHits, count, grain, work: WorkSplitter.MinParallelWork, reduction: WorkSplitter.MinParallelReduction);
                Assert.All(hits, h => Assert.Equal(1, h));
                Array.Clear(hits);
                WorkSplitter.Run(&Count, pHits, count, grain, work: WorkSplitter.MinParallelWork, reduction: WorkSplitter.MinParallelReduction, parts: WorkSplitter.StreamParts);
                Assert.All(hits, h => Assert.Equal(1, h));
            }
        }
    }

    [Fact]
    public unsafe void An_exception_in_a_part_reaches_the_caller_on_eight_threads_and_the_pool_stays_usable()
    {
        KernelSettings.MaxThreads = 8;
        const int count = 4096;
        var hits = new int[count];
        fixed (int* pHits = hits)
        {
            for (var repeat = 0; repeat < 50; repeat++)
            {
                Assert.Throws<InvalidOperationException>(() =>
                    WorkSplitter.Run(&Throw, null, count, grain: 8, work: WorkSplitter.MinParallelWork, reduction: WorkSplitter.MinParallelReduction));
            }

            WorkSplitter.Run(&Count, pHits, count, grain: 8, work: WorkSplitter.MinParallelWork, reduction: WorkSplitter.MinParallelReduction);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    private static unsafe void Throw(void* context, int from, int to) => throw new InvalidOperationException($"part {from}");

    [Fact]
    public void Concurrent_callers_on_four_threads_get_the_single_threaded_bits()
    {
        const int m = 48, n = 200, k = 160;
        var inputs = Enumerable.Range(0, 6).Select(i => (GemmTests.Random(m * k, 300 + i), GemmTests.Random(n * k, 400 + i))).ToArray();
        KernelSettings.MaxThreads = 1;
        var expected = inputs.Select(p =>
        {
            var c = new float[m * n];
            Gemm.MultiplyTransposed(p.Item1, p.Item2, c, m, n, k);
            return c;
        }).ToArray();

        KernelSettings.MaxThreads = 4;
        var results = new float[inputs.Length][];
        System.Threading.Tasks.Parallel.For(0, inputs.Length, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
        {
            for (var repeat = 0; repeat < 20; repeat++)
            {
                var c = new float[m * n];
                Gemm.MultiplyTransposed(inputs[i].Item1, inputs[i].Item2, c, m, n, k);
                results[i] = c;
            }
        });

        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(-1, FirstDifference(expected[i], results[i]));
        }
    }

    private static unsafe void Count(void* context, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            System.Threading.Interlocked.Increment(ref ((int*)context)[i]);
        }
    }

    /// <summary>Names of the kernel cases of <see cref="Kernel"/>.</summary>
    public static TheoryData<string> Kernels => new(KernelCases.Keys);

    [Theory]
    [MemberData(nameof(Kernels))]
    public void A_kernel_gives_the_same_bits_on_every_number_of_threads(string kernel)
    {
        AssertSameBitsOnEveryThreadCount(KernelCases[kernel], repeats: 3);
    }

    [Fact]
    public unsafe void The_helpers_take_part_on_more_threads_than_two()
    {
        KernelSettings.MaxThreads = 8;
        const int count = 1 << 20;
        var hits = new int[count];
        var before = WorkSplitter.PartsRunByHelpers;
        fixed (int* pHits = hits)
        {
            // The helpers sleep between calls when there are more threads than cores; one wakes in time sooner or later.
            for (var repeat = 0; repeat < 200 && WorkSplitter.PartsRunByHelpers == before; repeat++)
            {
                WorkSplitter.Run(&Count, pHits, count, grain: 64, work: WorkSplitter.MinParallelWork, reduction: WorkSplitter.MinParallelReduction);
            }
        }

        Assert.True(WorkSplitter.PartsRunByHelpers > before, "no helper ran a part");
    }

    [Fact]
    public void Training_a_dense_network_with_dropout_gives_the_same_bits_on_every_number_of_threads()
    {
        // The Fashion MLP at batch 64: its first product splits by depth (on up to four threads), the others by rows
        // or columns; Adam's update over 235,146 parameters splits in streaming parts.
        AssertSameBitsOnEveryThreadCount(() => TrainSteps(new FashionClassifier(seed: 2), batch: 64, steps: 3, seed: 3), repeats: 1);
    }

    [Fact]
    public void Training_a_convolutional_network_with_batch_norm_gives_the_same_bits_on_every_number_of_threads()
    {
        AssertSameBitsOnEveryThreadCount(() => TrainSteps(new ThreadedCnn(seed: 4), batch: 32, steps: 2, seed: 5), repeats: 1);
    }

    [Fact]
    public void A_training_step_on_four_threads_allocates_nothing_after_warm_up()
    {
        KernelSettings.MaxThreads = 4;
        AllocationAssert.TrainingStepAllocatesNothing(new FashionClassifier(seed: 1), batch: 64);
    }

    [Fact]
    public void Fit_gives_the_same_parameters_on_every_number_of_threads()
    {
        AssertSameBitsOnEveryThreadCount(() =>
        {
            var model = new WideMlp(seed: 3);
            var random = new Random(4);
            var features = Enumerable.Range(0, 512 * WideMlp.InputSize).Select(_ => random.NextSingle()).ToArray();
            var targets = Enumerable.Range(0, 512 * WideMlp.OutputSize).Select(_ => random.NextSingle()).ToArray();
            var history = model.Fit(
                new Dataset(features, WideMlp.InputSize, targets, WideMlp.OutputSize),
                new FitOptions { Epochs = 2, BatchSize = 128, Optimizer = new Adam(1e-3f), Shuffle = true, Seed = 5 });
            return [model.Parameters.ToArray(), history.Epochs.Select(e => e.Loss).ToArray()];
        }, repeats: 1);
    }

    /// <summary>
    /// <paramref name="steps"/> training steps with Adam on random inputs and labels: the parameters, the last
    /// gradients and the losses.
    /// </summary>
    private static float[][] TrainSteps(ITrainableModel model, int batch, int steps, int seed)
    {
        var optimizer = new Adam(1e-3f);
        var inputs = GemmTests.Random(batch * model.InputSize, seed);
        var labels = Enumerable.Range(0, batch).Select(i => (float)((i * 7) % 10)).ToArray();
        var losses = new float[steps];
        for (var step = 0; step < steps; step++)
        {
            losses[step] = model.TrainStep(inputs, labels);
            optimizer.Step(model.Parameters, model.Gradients);
        }

        return [model.Parameters.ToArray(), model.Gradients.ToArray(), losses];
    }

    /// <summary>
    /// Runs <paramref name="compute"/> on 1 thread, then <paramref name="repeats"/> times on each other thread count,
    /// and asserts that every array it returns has the same bits each time.
    /// </summary>
    private static void AssertSameBitsOnEveryThreadCount(Func<float[][]> compute, int repeats)
    {
        KernelSettings.MaxThreads = 1;
        var expected = compute();
        Assert.All(expected, e => Assert.NotEmpty(e));
        foreach (var threads in ThreadCounts.Skip(1))
        {
            KernelSettings.MaxThreads = threads;
            for (var repeat = 0; repeat < repeats; repeat++)
            {
                var actual = compute();
                Assert.Equal(expected.Length, actual.Length);
                for (var i = 0; i < expected.Length; i++)
                {
                    Assert.Equal(expected[i].Length, actual[i].Length);
                    var first = FirstDifference(expected[i], actual[i]);
                    Assert.True(first < 0, $"output {i} differs on {threads} threads at {first}: {(first < 0 ? 0 : expected[i][first]):R} vs {(first < 0 ? 0 : actual[i][first]):R}");
                }
            }
        }
    }

    /// <summary>The first index at which the two arrays' bits differ, or −1.</summary>
    private static int FirstDifference(float[] expected, float[] actual)
    {
        var want = MemoryMarshal.Cast<float, int>(expected);
        var got = MemoryMarshal.Cast<float, int>(actual);
        for (var i = 0; i < want.Length; i++)
        {
            if (want[i] != got[i])
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// One case per kernel family that splits its work, each at a size that splits, returning every output it writes.
    /// </summary>
    private static readonly Dictionary<string, Func<float[][]>> KernelCases = new()
    {
        // Matrix products: by columns (m ≤ n), by rows (a weight gradient, m > n), by depth (a first layer, k > m, n),
        // the narrow path, the gated input gradient and the product that draws dropout masks.
        ["product by columns"] = () => Product(64, 300, 256, transposeA: false, transposeB: false, accumulate: false, 1),
        ["product by rows"] = () => Product(784, 256, 64, transposeA: true, transposeB: false, accumulate: true, 2),
        ["product by depth"] = () => Product(64, 256, 784, transposeA: false, transposeB: false, accumulate: false, 3),
        ["product by depth, accumulated"] = () => Product(33, 130, 1100, transposeA: true, transposeB: false, accumulate: true, 4),
        ["product with B transposed"] = () => Product(200, 784, 256, transposeA: false, transposeB: true, accumulate: false, 5),
        ["narrow product"] = () => Product(4096, 10, 128, transposeA: false, transposeB: false, accumulate: false, 6),
        ["gated input gradient"] = () =>
        {
            const int m = 64, n = 784, k = 256;
            var mask = GemmTests.Random(m * n, 7).Select(v => v < -0.6f ? 0f : 1.25f).ToArray();
            var outputs = GemmTests.Random(m * n, 8).Select(v => Math.Max(v, 0f)).ToArray();
            var c = new float[m * n];
            Gemm.MultiplyTransposedGated(GemmTests.Random(m * k, 9), GemmTests.Random(n * k, 10), c, m, n, k, mask, outputs);
            return [c];
        },
        ["product drawing dropout masks"] = () =>
        {
            const int m = 64, n = 256, k = 784;
            var (c, mask, dropped) = (new float[m * n], new float[m * n], new float[m * n]);
            var random = new SeededRandom(11);
            Gemm.MultiplyDropout(GemmTests.Random(m * k, 12), GemmTests.Random(k * n, 13), c, m, n, k, GemmTests.Random(n, 14), GemmActivation.Relu, mask, dropped, 0.3f, ref random);
            return [c, mask, dropped, [BitConverter.Int32BitsToSingle((int)random.NextUInt32())]];
        },
        ["int8 product"] = () =>
        {
            const int m = 256, n = 320, k = 512;
            var random = new Random(15);
            var a = Enumerable.Range(0, m * k).Select(_ => (byte)random.Next(Int8Gemm.MaxActivation + 1)).ToArray();
            var b = Enumerable.Range(0, k * n).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();
            var (packed, sums, c) = (new sbyte[Int8Gemm.PackedLength(k, n)], new int[n], new int[m * n]);
            Int8Gemm.Pack(b, k, n, packed, sums);
            Int8Gemm.Multiply(a, packed, c, m, n, k);
            return [c.Select(BitConverter.Int32BitsToSingle).ToArray()];
        },

        // Convolutions: windows copied out and added back per sample, and the direct kernels, whose weight gradient
        // sums the batch in parts fixed by the batch size.
        ["im2col and col2im"] = () =>
        {
            const int batch = 32;
            var window = ConvolutionTests.Same(8, 28, 28, 3, 1, channelsLast: true);
            var columns = new float[batch * window.Positions * window.PatchSize];
            Convolution.ImageToColumns(GemmTests.Random(batch * window.InputSize, 16), columns, window, batch);
            var image = new float[batch * window.InputSize];
            Convolution.ColumnsToImage(GemmTests.Random(columns.Length, 17), image, window, batch);
            return [columns, image];
        },
        ["direct convolution"] = () =>
        {
            const int batch = 64, filters = 16;
            var window = ConvolutionTests.Same(1, 28, 28, 3, 1, channelsLast: false);
            var input = GemmTests.Random(batch * window.InputSize, 18);
            var output = new float[batch * window.Positions * filters];
            Convolution.DirectForward(input, GemmTests.Random(window.PatchSize * filters, 19), GemmTests.Random(filters, 20), output, window, batch, GemmActivation.Relu);
            var weightGradient = new float[window.PatchSize * filters];
            Convolution.DirectWeightGradient(input, GemmTests.Random(output.Length, 21), weightGradient, window, batch);
            return [output, weightGradient];
        },

        // Pooling, per sample.
        ["pooling"] = () =>
        {
            const int batch = 32;
            var window = new Window2D(16, 28, 28, 2, 2, 0, 0, 14, 14, ChannelsLast: true);
            var input = GemmTests.Random(batch * window.InputSize, 22);
            var (maxOutput, averageOutput) = (new float[batch * window.Positions * 16], new float[batch * window.Positions * 16]);
            var argmax = new int[maxOutput.Length];
            Pooling.MaxForward(input, maxOutput, argmax, window, batch);
            Pooling.AverageForward(input, averageOutput, window, batch);
            var (maxGradient, averageGradient) = (new float[input.Length], new float[input.Length]);
            var dy = GemmTests.Random(maxOutput.Length, 23);
            Pooling.MaxBackward(dy, argmax, maxGradient, window, batch);
            Pooling.AverageBackward(dy, averageGradient, window, batch);
            return [maxOutput, averageOutput, maxGradient, averageGradient];
        },

        // Batch normalization: statistics and parameter gradients summed in parts fixed by the shape. An image's
        // channels (few features, many rows) and a dense layer's (more features than one tile).
        ["batch norm over channels"] = () => BatchNorm(rows: 32 * 28 * 28, features: 16, seed: 24),
        ["batch norm over features"] = () => BatchNorm(rows: 512, features: 600, seed: 25),

        // Element-wise passes and streaming updates.
        ["element-wise"] = () =>
        {
            const int length = 300_001;
            var (x, y) = (GemmTests.Random(length, 26), GemmTests.Random(length, 27));
            var (sum, activated, gradient) = (new float[length], new float[length], GemmTests.Random(length, 28));
            Elementwise.Add(x, y, sum);
            Elementwise.Apply(x, activated, Activation.Gelu);
            Elementwise.ApplyDerivative(x, activated, gradient, Activation.Gelu);
            return [sum, activated, gradient];
        },
        ["adam"] = () =>
        {
            const int length = 300_001;
            var (parameters, m, v) = (GemmTests.Random(length, 29), new float[length], new float[length]);
            for (var step = 1; step <= 3; step++)
            {
                OptimizerKernels.Adam(parameters, GemmTests.Random(length, 29 + step), m, v, 0.9f, 0.999f, 1e-3f * step, 1e-7f, 0.01f);
            }

            return [parameters, m, v];
        },
        ["row gather"] = () =>
        {
            const int rowLength = 784;
            var source = GemmTests.Random(1000 * rowLength, 33);
            var rows = Enumerable.Range(0, 256).Select(i => (i * 389) % 1000).ToArray();
            var destination = new float[rows.Length * rowLength];
            RowGather.Gather(source, rowLength, rows, destination);
            return [destination];
        },
    };

    private static float[][] Product(int m, int n, int k, bool transposeA, bool transposeB, bool accumulate, int seed)
    {
        var c = accumulate ? GemmTests.Random(m * n, seed) : new float[m * n];
        Gemm.Compute(GemmTests.Random(m * k, seed + 100), transposeA, GemmTests.Random(k * n, seed + 200), transposeB, c, m, n, k, accumulate, GemmTests.Random(n, seed + 300), GemmActivation.Relu);
        return [c];
    }

    private static float[][] BatchNorm(int rows, int features, int seed)
    {
        var x = GemmTests.Random(rows * features, seed).Select(v => (3f * v) + 1.5f).ToArray();
        var (y, normalized, inverseDeviation) = (new float[x.Length], new float[x.Length], new float[features]);
        var (gamma, beta) = (GemmTests.Random(features, seed + 1), GemmTests.Random(features, seed + 2));
        var (runningMean, runningVariance) = (new float[features], Enumerable.Repeat(1f, features).ToArray());
        Normalization.BatchNormTraining(x, y, normalized, inverseDeviation, gamma, beta, runningMean, runningVariance, 0.9f, 1e-5f);
        var (gammaGradient, betaGradient, dx) = (new float[features], new float[features], new float[x.Length]);
        Normalization.BatchNormBackward(GemmTests.Random(x.Length, seed + 3), normalized, inverseDeviation, gamma, gammaGradient, betaGradient, dx);
        return [y, normalized, inverseDeviation, runningMean, runningVariance, gammaGradient, betaGradient, dx];
    }
}
