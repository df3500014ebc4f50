using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Tests that change the process-wide thread setting run alone, never beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelThreadsCollection
{
    public const string Name = "Kernel threads";
}

/// <summary>
/// Products split between the caller and one helper thread: the same bits as one thread, safe with concurrent
/// callers, and no allocation. Each test enables two threads and restores the setting it found; more threads are
/// tested in <see cref="ThreadCountTests"/>.
/// </summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class ThreadingTests : IDisposable
{
    private readonly int _previous = KernelSettings.MaxThreads;

    public ThreadingTests() => KernelSettings.MaxThreads = 2;

    public void Dispose() => KernelSettings.MaxThreads = _previous;

    [Theory]
    [InlineData(64, 256, 300)]
    [InlineData(33, 130, 517)]
    [InlineData(32, 784, 128)]
    [InlineData(300, 64, 128)] // more rows than columns: split by rows
    [InlineData(784, 256, 64)]
    [InlineData(520, 100, 300)] // split by rows over two depth blocks, with a partial panel
    [InlineData(64, 1000, 784)] // split by columns over four depth blocks
    public void Split_products_equal_the_single_threaded_kernel_bit_for_bit(int m, int n, int k)
    {
        Assert.True((long)m * n * k >= WorkSplitter.MinParallelWork && k >= WorkSplitter.MinParallelReduction, "the shape would not be split");
        var (a, b, bt) = (GemmTests.Random(m * k, 8), GemmTests.Random(n * k, 9), GemmTests.Random(k * n, 10));
        var start = GemmTests.Random(m * n, 11);

        var transposed = new float[m * n];
        Gemm.MultiplyTransposed(a, b, transposed, m, n, k);
        var accumulated = start.ToArray();
        Gemm.MultiplyAddTransposedA(GemmTests.Random(k * m, 12), bt, accumulated, m, n, k);
        var product = new float[m * n];
        Gemm.Multiply(a, bt, product, m, n, k);

        Assert.Equal(SingleThreaded(nameof(Gemm.MultiplyTransposed), a, b, null, m, n, k), transposed);
        Assert.Equal(SingleThreaded(nameof(Gemm.MultiplyAddTransposedA), GemmTests.Random(k * m, 12), bt, start, m, n, k), accumulated);
        Assert.Equal(SingleThreaded(nameof(Gemm.Multiply), a, bt, null, m, n, k), product);
    }

    [Theory]
    [InlineData(64, 256, 784, false)] // a first layer's forward pass: four blocks of 196
    [InlineData(33, 130, 517, true)] // three blocks, the last two steps shorter; A transposed
    [InlineData(16, 64, 1100, false)] // five blocks
    public void Products_split_by_depth_equal_the_single_threaded_kernel_bit_for_bit(int m, int n, int k, bool transposeA)
    {
        var (a, b, bias, start) = (GemmTests.Random(m * k, 30), GemmTests.Random(k * n, 31), GemmTests.Random(n, 32), GemmTests.Random(m * n, 33));
        foreach (var accumulate in new[] { false, true })
        {
            float[] Product()
            {
                var c = accumulate ? start.ToArray() : new float[m * n];
                Gemm.Compute(a, transposeA, b, transposeB: false, c, m, n, k, accumulate, bias, GemmActivation.Relu);
                return c;
            }

            KernelSettings.MaxThreads = 1;
            var expected = Product();
            KernelSettings.MaxThreads = 2;

            // The helper takes blocks only when it wakes in time: repeat until it has (the partial sums' path), at least
            // 5 times. Without vector instructions the plain loop computes the product, unsplit.
            var splits = GemmTuning.Default.Path != GemmPath.Scalar;
            var before = Gemm.ProductsWithPartials;
            for (var repeat = 0; repeat < 5 || (splits && Gemm.ProductsWithPartials == before && repeat < 500); repeat++)
            {
                Assert.Equal(expected, Product());
            }

            Assert.True(!splits || Gemm.ProductsWithPartials > before, "the helper never summed a block of its own");
        }
    }

    [Theory]
    [InlineData(64, 256, 128)] // the Fashion MLP's ∂X of its second layer, split by columns on two threads
    [InlineData(300, 40, 70)] // more rows than columns: split by rows
    [InlineData(9, 33, 513)] // edge tiles, several depth blocks (never split by depth when gated)
    [InlineData(64, 10, 128)] // the narrow path: gated after the product
    [InlineData(3, 5, 7)]
    public void A_gated_input_gradient_equals_the_product_then_dropout_then_relu_backward_bit_for_bit(int m, int n, int k)
    {
        var (a, b) = (GemmTests.Random(m * k, 50), GemmTests.Random(n * k, 51));
        // A dropout mask (0 or 1.25) and ReLU outputs with zeros in them, as training makes them.
        var mask = GemmTests.Random(m * n, 52).Select(v => v < -0.6f ? 0f : 1.25f).ToArray();
        var outputs = GemmTests.Random(m * n, 53).Select(v => Math.Max(v, 0f)).ToArray();
        foreach (var (withMask, withOutputs) in new[] { (true, true), (true, false), (false, true), (false, false) })
        {
            var expected = new float[m * n];
            Gemm.MultiplyTransposed(a, b, expected, m, n, k);
            if (withMask)
            {
                Dropout.Backward(mask, expected.ToArray(), expected);
            }

            if (withOutputs)
            {
                Activations.ReluBackward(outputs, expected);
            }

            foreach (var threads in new[] { 1, 2 })
            {
                KernelSettings.MaxThreads = threads;
                var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
                Gemm.MultiplyTransposedGated(a, b, c, m, n, k, withMask ? mask : default, withOutputs ? outputs : default);
                Assert.Equal(expected, c);
            }
        }
    }

    [Theory]
    [InlineData(64, 256, 784, true)] // the Fashion MLP's first layer: split by depth, masked as the rows are finished
    [InlineData(64, 128, 256, false)] // its second layer: split by columns, masked row block by row block
    [InlineData(300, 70, 64, false)] // more rows than columns: split by rows
    [InlineData(33, 130, 517, true)] // edge tiles, three depth blocks
    [InlineData(64, 10, 128, false)] // the narrow path: masked after the product
    [InlineData(3, 40, 50, false)] // the few-rows path
    public void A_product_with_dropout_equals_the_product_then_dropout_bit_for_bit(int m, int n, int k, bool splitsByDepth)
    {
        var (a, b, bias) = (GemmTests.Random(m * k, 60), GemmTests.Random(k * n, 61), GemmTests.Random(n, 62));
        var expected = new float[m * n];
        var (expectedMask, expectedDropped) = (new float[m * n], new float[m * n]);
        var separate = new SeededRandom(7);
        Gemm.Multiply(a, b, expected, m, n, k, bias, GemmActivation.Relu);
        Dropout.Forward(expected, expectedDropped, expectedMask, 0.3f, ref separate);
        Assert.Contains(0f, expectedMask);
        var nextDraw = separate.NextUInt32(); // the fused product must leave the stream where Dropout.Forward does

        // On two threads the helper sums depth blocks only when it wakes in time: repeat until it has, at least 3 times.
        splitsByDepth &= GemmTuning.Default.Path != GemmPath.Scalar;
        foreach (var threads in new[] { 1, 2 })
        {
            KernelSettings.MaxThreads = threads;
            var before = Gemm.ProductsWithPartials;
            for (var repeat = 0; repeat < 3 || (threads == 2 && splitsByDepth && Gemm.ProductsWithPartials == before && repeat < 500); repeat++)
            {
                var (c, mask, dropped) = (new float[m * n], new float[m * n], new float[m * n]);
                var fused = new SeededRandom(7);
                Gemm.MultiplyDropout(a, b, c, m, n, k, bias, GemmActivation.Relu, mask, dropped, 0.3f, ref fused);
                Assert.Equal(expected, c);
                Assert.Equal(expectedMask, mask);
                Assert.Equal(expectedDropped, dropped);
                Assert.Equal(nextDraw, fused.NextUInt32());
            }

            Assert.True(threads == 1 || !splitsByDepth || Gemm.ProductsWithPartials > before, "the helper never summed a block of its own");
        }
    }

    [Fact]
    public void A_product_with_dropout_rejects_a_mask_or_output_of_the_wrong_length_and_a_rate_of_one()
    {
        var (a, b, c) = (new float[4 * 3], new float[3 * 5], new float[4 * 5]);
        var random = new SeededRandom(1);
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyDropout(a, b, c, 4, 5, 3, default, GemmActivation.None, new float[19], new float[20], 0.5f, ref random));
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyDropout(a, b, c, 4, 5, 3, default, GemmActivation.None, new float[20], new float[21], 0.5f, ref random));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MultiplyDropout(a, b, c, 4, 5, 3, default, GemmActivation.None, new float[20], new float[20], 1f, ref random));
    }

    [Fact]
    public void A_gated_input_gradient_rejects_a_mask_or_outputs_of_the_wrong_length()
    {
        var (a, b, c) = (new float[4 * 3], new float[5 * 3], new float[4 * 5]);
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyTransposedGated(a, b, c, 4, 5, 3, new float[19], default));
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyTransposedGated(a, b, c, 4, 5, 3, default, new float[21]));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.27)]
    [InlineData(0.9)]
    public void Products_cut_unevenly_between_the_threads_equal_the_single_threaded_kernel_bit_for_bit(double helperShare)
    {
        var previous = WorkSplitter.HelperShare;
        var previousAdaptive = WorkSplitter.AdaptiveSplit;
        try
        {
            // Held where it is set: the cut would otherwise move after every product.
            WorkSplitter.AdaptiveSplit = true;
            foreach (var (m, n, k) in new[] { (64, 256, 300), (300, 64, 128), (33, 130, 517) })
            {
                var (a, b) = (GemmTests.Random(m * k, 20), GemmTests.Random(k * n, 21));
                var expected = SingleThreaded(nameof(Gemm.Multiply), a, b, null, m, n, k);
                for (var repeat = 0; repeat < 5; repeat++)
                {
                    WorkSplitter.HelperShare = helperShare;
                    var product = new float[m * n];
                    Gemm.Multiply(a, b, product, m, n, k);
                    Assert.Equal(expected, product);
                }
            }
        }
        finally
        {
            WorkSplitter.HelperShare = previous;
            WorkSplitter.AdaptiveSplit = previousAdaptive;
        }
    }

    [Fact]
    public void The_helper_share_stays_within_its_bounds()
    {
        var previous = WorkSplitter.HelperShare;
        WorkSplitter.HelperShare = 0;
        Assert.Equal(0.1, WorkSplitter.HelperShare, 6);
        WorkSplitter.HelperShare = 5;
        Assert.Equal(0.9, WorkSplitter.HelperShare, 6);
        WorkSplitter.HelperShare = previous;
    }

    [Theory]
    [InlineData(16, 8, 2)]
    [InlineData(17, 8, 8)]
    [InlineData(100, 8, 8)]
    [InlineData(100, 8, 2)]
    [InlineData(1000, 32, 8)]
    [InlineData(235_146, 64, 8)]
    public unsafe void A_split_run_covers_every_index_once_in_parts_of_whole_grains(int count, int grain, int parts)
    {
        var hits = new int[count];
        var starts = new int[count + 1];
        fixed (int* pHits = hits, pStarts = starts)
        {
            var record = new Recorder { Hits = pHits, Starts = pStarts };
            for (var repeat = 0; repeat < 50; repeat++)
            {
                Array.Clear(hits);
                Array.Clear(starts);
                WorkSplitter.Run(&Record, &record, count, grain, work: WorkSplitter.MinParallelWork, reduction: WorkSplitter.MinParallelReduction, parts);
                Assert.All(hits, h => Assert.Equal(1, h));
                var partStarts = Enumerable.Range(0, count).Where(i => starts[i] != 0).ToArray();
                Assert.Equal(0, partStarts[0]);
                Assert.All(partStarts, s => Assert.Equal(0, s % grain));
                // One call when the helper was busy with another test's product; else the parts asked for.
                Assert.Contains(partStarts.Length, new[] { 1, Math.Min(parts, count / grain) });
            }
        }
    }

    [Fact]
    public unsafe void An_exception_in_any_part_reaches_the_caller_and_the_splitter_stays_usable()
    {
        const int count = 800, grain = 8;
        var hits = new int[count];
        fixed (int* pHits = hits)
        {
            for (var failing = 0; failing < count; failing += 97)
            {
                var context = new Failing { Hits = pHits, FailAt = failing };
                InvalidOperationException? error = null;
                try
                {
                    WorkSplitter.Run(&Fail, &context, count, grain, WorkSplitter.MinParallelWork, WorkSplitter.MinParallelReduction, WorkSplitter.StreamParts);
                }
                catch (InvalidOperationException exception)
                {
                    error = exception;
                }

                Assert.NotNull(error);
                Assert.Contains($"index {failing}", error.Message);
            }

            Array.Clear(hits);
            var record = new Recorder { Hits = pHits, Starts = null };
            WorkSplitter.Run(&Record, &record, count, grain, WorkSplitter.MinParallelWork, WorkSplitter.MinParallelReduction);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    private unsafe struct Recorder
    {
        public int* Hits;
        public int* Starts;
    }

    private unsafe struct Failing
    {
        public int* Hits;
        public int FailAt;
    }

    private static unsafe void Record(void* context, int from, int to)
    {
        var recorder = (Recorder*)context;
        if (recorder->Starts != null)
        {
            recorder->Starts[from] = 1;
        }

        for (var i = from; i < to; i++)
        {
            System.Threading.Interlocked.Increment(ref recorder->Hits[i]);
        }
    }

    private static unsafe void Fail(void* context, int from, int to)
    {
        var failing = (Failing*)context;
        if (failing->FailAt >= from && failing->FailAt < to)
        {
            throw new InvalidOperationException($"index {failing->FailAt}");
        }
    }

    [Fact]
    public void Concurrent_callers_get_correct_results()
    {
        const int m = 48, n = 200, k = 160;
        var inputs = Enumerable.Range(0, 8).Select(i => (GemmTests.Random(m * k, 100 + i), GemmTests.Random(n * k, 200 + i))).ToArray();
        var expected = inputs.Select(p => SingleThreaded(nameof(Gemm.MultiplyTransposed), p.Item1, p.Item2, null, m, n, k)).ToArray();

        var results = new float[inputs.Length][];
        System.Threading.Tasks.Parallel.For(0, inputs.Length, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
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
            Assert.Equal(expected[i], results[i]);
        }
    }

    /// <summary>The same product through the public entry point with the kernels held to one thread.</summary>
    private static float[] SingleThreaded(string product, float[] a, float[] b, float[]? start, int m, int n, int k)
    {
        var c = start?.ToArray() ?? new float[m * n];
        KernelSettings.MaxThreads = 1;
        try
        {
            switch (product)
            {
                case nameof(Gemm.MultiplyTransposed):
                    Gemm.MultiplyTransposed(a, b, c, m, n, k);
                    break;
                case nameof(Gemm.Multiply):
                    Gemm.Multiply(a, b, c, m, n, k);
                    break;
                default:
                    Gemm.MultiplyAddTransposedA(a, b, c, m, n, k);
                    break;
            }
        }
        finally
        {
            KernelSettings.MaxThreads = 2;
        }

        return c;
    }

    [Fact]
    public void A_training_step_split_across_threads_allocates_nothing_after_warm_up()
    {
        AllocationAssert.TrainingStepAllocatesNothing(new WideMlp(seed: 1), batch: 32);
    }

    [Fact]
    public void A_training_step_whose_products_draw_the_dropout_masks_allocates_nothing_after_warm_up()
    {
        // The Fashion MLP at batch 64: its first product is split by depth and finished on both threads with the mask.
        AllocationAssert.TrainingStepAllocatesNothing(new FashionClassifier(seed: 1), batch: 64);
    }

    [Fact]
    public void Training_gives_the_same_parameters_on_one_thread_and_on_two()
    {
        float[] Train(int threads)
        {
            KernelSettings.MaxThreads = threads;
            var model = new WideMlp(seed: 3);
            var random = new Random(4);
            var features = Enumerable.Range(0, 96 * WideMlp.InputSize).Select(_ => random.NextSingle()).ToArray();
            var targets = Enumerable.Range(0, 96 * WideMlp.OutputSize).Select(_ => random.NextSingle()).ToArray();
            model.Fit(new Dataset(features, WideMlp.InputSize, targets, WideMlp.OutputSize), new FitOptions { Epochs = 2, Seed = 5 });
            return model.Parameters.ToArray();
        }

        Assert.Equal(Train(1), Train(2));
    }
}
