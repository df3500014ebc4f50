using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Attributes;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>The Fashion-MNIST MLP of the issue: 784-256-128-10, ReLU, dropout 0.2, softmax cross-entropy.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionMlp;

/// <summary>
/// Training throughput of <see cref="FashionMlp"/> at batch 64 with Adam: one batch gathered, one <c>TrainStep</c> and
/// one <c>Adam.Step</c> per call, on shuffled real Fashion-MNIST batches. Samples/s = 64 / the median. Run:
/// <c>dotnet run -c Release --project Benchmarks -- --filter *TrainingThroughputBenchmarks*</c>.
/// </summary>
[MedianColumn]
public class TrainingThroughputBenchmarks
{
    public const int Batch = 64;

    private FashionTraining _training = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.MaxThreads = Threads;
        _training = new FashionTraining();
    }

    [Benchmark(Description = "TrainStep + Adam, batch 64")]
    public float Step() => _training.Step();
}

/// <summary>
/// The Fashion MLP as every training benchmark here trains it: batch 64, Adam at 1e-3, on shuffled
/// <see cref="TrainingBatches"/>, one batch gathered, one <c>TrainStep</c> and one <c>Adam.Step</c> per step, as in <c>Fit</c>.
/// </summary>
public sealed class FashionTraining
{
    private readonly AlignedBuffer _inputs = new(TrainingThroughputBenchmarks.Batch * FashionMlp.InputSize);
    private readonly float[] _labels = new float[TrainingThroughputBenchmarks.Batch];
    private readonly TrainingBatches _batches = TrainingBatches.Load();

    public FashionMlp Model { get; } = new(seed: 1);

    public Adam Adam { get; } = new(1e-3f);

    /// <summary>The current batch's images.</summary>
    public Span<float> Inputs => _inputs.Span;

    /// <summary>The current batch's labels.</summary>
    public ReadOnlySpan<float> Labels => _labels;

    /// <summary>Copies the next batch in.</summary>
    public void NextBatch() => _batches.Next(_inputs.Span, _labels);

    /// <summary>Forward and backward on the current batch; returns its loss.</summary>
    public float TrainStep() => Model.TrainStep(_inputs.Span, _labels);

    /// <summary>Adam's update from the gradients of the last <see cref="TrainStep"/>.</summary>
    public void Update() => Adam.Step(Model.Parameters, Model.Gradients);

    /// <summary>A whole step: the next batch, forward and backward, the update; returns the batch's loss.</summary>
    public float Step()
    {
        NextBatch();
        var loss = TrainStep();
        Update();
        return loss;
    }
}

/// <summary>
/// Real Fashion-MNIST batches, as <c>Fit</c> makes them: the 3,000 training images the sample embeds
/// (Samples/FashionMnist/Data), in an order shuffled again at each pass, each batch gathered by <c>RowGather</c> (on
/// both kernel threads when two are allowed) as <c>Fit</c> gathers it. Training one fixed batch over and over would
/// drive the loss, and with it every gradient, towards zero, which is neither realistic nor, on x86, fast (subnormal
/// arithmetic).
/// </summary>
public sealed class TrainingBatches
{
    private readonly float[] _pixels;
    private readonly byte[] _labels;
    private readonly int[] _order;
    private readonly Random _shuffle = new(1);
    private int _next;

    private TrainingBatches(float[] pixels, byte[] labels)
    {
        (_pixels, _labels) = (pixels, labels);
        _order = Enumerable.Range(0, labels.Length).ToArray();
        _shuffle.Shuffle(_order);
    }

    /// <summary>Every image's pixels, image after image.</summary>
    public float[] Pixels => _pixels;

    /// <summary>Every image's label.</summary>
    public byte[] Labels => _labels;

    public static TrainingBatches Load()
    {
        return new TrainingBatches(
            Idx.ReadImages(Measurements.FashionDataFile("train-images-idx3-ubyte.gz"), out _, out _),
            Idx.ReadLabels(Measurements.FashionDataFile("train-labels-idx1-ubyte.gz")));
    }

    /// <summary>
    /// Gathers the next batch of the shuffled order into <paramref name="inputs"/> and <paramref name="labels"/>,
    /// shuffling again when the order runs out.
    /// </summary>
    public void Next(Span<float> inputs, Span<float> labels)
    {
        var batch = labels.Length;
        if ((_next + batch) > _order.Length)
        {
            _shuffle.Shuffle(_order);
            _next = 0;
        }

        var rows = _order.AsSpan(_next, batch);
        RowGather.Gather(_pixels, FashionMlp.InputSize, rows, inputs);
        for (var i = 0; i < batch; i++)
        {
            labels[i] = _labels[rows[i]];
        }

        _next += batch;
    }
}

/// <summary>
/// The same training step timed part by part, 1 and 2 threads interleaved, so that one run shows where the time goes
/// and what the second thread buys. Run: <c>dotnet run -c Release --project Benchmarks -- training</c>.
/// </summary>
public static class TrainingBreakdown
{
    /// <summary>The matrix products of one FashionMlp training step at batch 64, on buffers of their own.</summary>
    private static Action StepGemms()
    {
        const int n = TrainingThroughputBenchmarks.Batch;
        var shapes = new (int M, int K, int N, bool TransposeA, bool TransposeB)[]
        {
            (n, 784, 256, false, false), (n, 256, 128, false, false), (n, 128, 10, false, false), // forward
            (128, n, 10, true, false), (n, 10, 128, false, true),                                // dense 3: ∂W, ∂X
            (256, n, 128, true, false), (n, 128, 256, false, true),                              // dense 2: ∂W, ∂X
            (784, n, 256, true, false),                                                          // dense 1: ∂W
        };
        var buffers = shapes.Select(s => (A: new float[s.M * s.K], B: new float[s.K * s.N], C: new float[s.M * s.N])).ToArray();
        foreach (var (a, b, _) in buffers)
        {
            for (var i = 0; i < a.Length; i++)
            {
                a[i] = (i % 13) * 0.01f;
            }

            for (var i = 0; i < b.Length; i++)
            {
                b[i] = (i % 7) * 0.01f;
            }
        }

        return () =>
        {
            for (var i = 0; i < shapes.Length; i++)
            {
                var (m, k, columns, ta, tb) = shapes[i];
                Gemm.Compute(buffers[i].A, ta, buffers[i].B, tb, buffers[i].C, m, columns, k, accumulate: false);
            }
        };
    }

    public static void Run(int rounds)
    {
        const int batch = TrainingThroughputBenchmarks.Batch;
        var training = new FashionTraining();
        var outputs = new float[batch * FashionMlp.OutputSize];
        var cases = new (string Name, Action Body)[]
        {
            ("TrainStep (forward + backward)", () =>
            {
                training.NextBatch();
                training.TrainStep();
            }),
            ("Adam.Step over 235,146 parameters", training.Update),
            ("PredictBatch (inference forward)", () => training.Model.PredictBatch(training.Inputs, outputs)),
            ("the step's 8 GEMMs alone (what TrainStep adds is elementwise work)", StepGemms()),
        };

        var medians = Measurements.MedianOnOneAndTwoThreads(cases.Select(c => c.Body).ToArray(), rounds, warmUp: 50);
        Console.WriteLine($"FashionMlp 784-256-128-10, batch {batch}; medians of {rounds} interleaved rounds");
        Console.WriteLine("| part | 1 thread µs | 2 threads µs | 2 vs 1 |");
        Console.WriteLine("|---|--:|--:|--:|");
        double step1 = 0, step2 = 0;
        for (var c = 0; c < cases.Length; c++)
        {
            var (one, two) = medians[c];
            if (c < 2)
            {
                (step1, step2) = (step1 + one, step2 + two);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {cases[c].Name} | {one:F1} | {two:F1} | {one / two:F2}× |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training step (TrainStep + Adam): {batch * 1e6 / step1:N0} samples/s on 1 thread, {batch * 1e6 / step2:N0} on 2 ({step1 / step2:F2}×)."));
    }
}
