using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;
using ModelGen.Losses;

namespace ModelGen.Benchmarks;

/// <summary>
/// The Fashion MLP's training step (batch 64, Adam) cut into its kernel calls, each timed, on one thread and on two
/// in turn: which calls the second thread speeds up and which it slows down. The calls are those the generated
/// <c>TrainStep</c> makes (see its snapshot), made here on the model's own buffers so that the timestamps can sit
/// between them; the sum is checked against the real <c>TrainStep</c> + Adam measured in the same rounds.
/// </summary>
internal static class StepPhases
{
    private const int Batch = TrainingThroughputBenchmarks.Batch;

    public static void Run(int rounds)
    {
        var training = new FashionTraining();
        var names = new[]
        {
            "dense_1 forward (64×784×256 + bias + ReLU)", "dropout_1 forward", "dense_2 forward (64×256×128)", "dropout_2 forward",
            "dense_3 forward (64×128×10)", "softmax cross-entropy", "dense_3 backward (∂W, ∂b, ∂X ⊙ dropout_2 mask ⊙ ReLU′)",
            "dense_2 ∂W (256×64×128) + ∂b", "dense_2 ∂X (64×128×256) ⊙ dropout_1 mask ⊙ ReLU′", "dense_1 ∂W (784×64×256) + ∂b",
            "Adam", "whole step (the calls above)", "generated TrainStep + Adam",
        };
        // One and two threads, each with the dropout masks drawn by separate passes and by the products (as generated).
        (int Threads, bool Fused)[] variants = [(1, false), (2, false), (1, true), (2, true)];
        var times = variants.Select(_ => names.Select(_ => new List<double>()).ToArray()).ToArray();
        var stamps = new long[names.Length - 2];
        // The generated FashionMlp's workspace: 1,680 floats per sample, its regions at the offsets its snapshot lists.
        var workspace = new AlignedBuffer(Batch * 1680);
        for (var round = -100; round < rounds; round++)
        {
            foreach (var v in round % 2 == 0 ? new[] { 0, 1, 2, 3 } : new[] { 3, 2, 1, 0 })
            {
                KernelSettings.MaxThreads = variants[v].Threads;
                // One step untimed, so that the helper (asleep after the other thread count's step) is awake, as it is
                // from step to step in a training run.
                training.Step();
                training.NextBatch();
                var start = Stopwatch.GetTimestamp();
                Step(training, workspace.Span, stamps, variants[v].Fused);
                var step = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                training.NextBatch();
                var whole = Stopwatch.GetTimestamp();
                training.TrainStep();
                training.Update();
                var generated = Stopwatch.GetElapsedTime(whole).TotalMicroseconds;
                if (round >= 0)
                {
                    var previous = start;
                    for (var p = 0; p < stamps.Length; p++)
                    {
                        times[v][p].Add(Stopwatch.GetElapsedTime(previous, stamps[p]).TotalMicroseconds);
                        previous = stamps[p];
                    }

                    times[v][^2].Add(step);
                    times[v][^1].Add(generated);
                }
            }
        }

        KernelSettings.MaxThreads = 1;
        Console.WriteLine($"FashionMlp training step by kernel call, batch {Batch}; medians of {rounds} interleaved rounds");
        Console.WriteLine("(separate: each dropout mask drawn by a pass of its own, as before; fused: by the product before it, as generated now)");
        Console.WriteLine("| call | separate, 1 thread µs | 2 threads µs | 2 vs 1 | fused, 1 thread µs | 2 threads µs | 2 vs 1 |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|");
        for (var p = 0; p < names.Length; p++)
        {
            var median = times.Select(t => Measurements.Median(t[p])).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {names[p]} | {median[0]:F1} | {median[1]:F1} | {median[0] / median[1]:F2}× | {median[2]:F1} | {median[3]:F1} | {median[2] / median[3]:F2}× |"));
        }
    }

    /// <summary>
    /// The generated TrainStep's calls, in its order, then Adam; stamps[i] is taken after call i. With
    /// <paramref name="fused"/> the products draw the dropout masks (the dropout rows then time nothing), else passes of their own.
    /// </summary>
    private static void Step(FashionTraining training, Span<float> workspace, long[] stamps, bool fused)
    {
        const int n = Batch;
        var model = training.Model;
        var parameters = model.Parameters;
        var gradients = model.Gradients;
        var random = model.TrainingRandom;
        Span<float> Region(Span<float> buffer, int offset, int perSample) => buffer.Slice(offset * n, perSample * n);
        ReadOnlySpan<float> x = training.Inputs;
        var a1 = Region(workspace, 0, 256);
        var a2 = Region(workspace, 256, 256);
        var mask1 = Region(workspace, 512, 256);
        var a3 = Region(workspace, 768, 128);
        var a4 = Region(workspace, 896, 128);
        var mask2 = Region(workspace, 1024, 128);
        var a5 = Region(workspace, 1152, 10);
        var ga = Region(workspace, 1168, 256);
        var gb = Region(workspace, 1424, 256);
        // The model's tensors in layer order, W₁, b₁, W₂, b₂, W₃, b₃: each a slice of the parameters and of the gradients.
        var tensors = model.ParameterTensors;
        var w1 = tensors[0].Slice(parameters);
        var b1 = tensors[1].Slice(parameters);
        var w2 = tensors[2].Slice(parameters);
        var b2 = tensors[3].Slice(parameters);
        var w3 = tensors[4].Slice(parameters);
        var b3 = tensors[5].Slice(parameters);
        var s = 0;

        if (fused)
        {
            Gemm.MultiplyDropout(x, w1, a1, n, 256, 784, b1, GemmActivation.Relu, mask1, a2, 0.2f, ref random);
            stamps[s++] = Stopwatch.GetTimestamp();
            stamps[s++] = Stopwatch.GetTimestamp();
            Gemm.MultiplyDropout(a2, w2, a3, n, 128, 256, b2, GemmActivation.Relu, mask2, a4, 0.2f, ref random);
            stamps[s++] = Stopwatch.GetTimestamp();
            stamps[s++] = Stopwatch.GetTimestamp();
        }
        else
        {
            Gemm.Multiply(x, w1, a1, n, 256, 784, b1, GemmActivation.Relu);
            stamps[s++] = Stopwatch.GetTimestamp();
            Dropout.Forward(a1, a2, mask1, 0.2f, ref random);
            stamps[s++] = Stopwatch.GetTimestamp();
            Gemm.Multiply(a2, w2, a3, n, 128, 256, b2, GemmActivation.Relu);
            stamps[s++] = Stopwatch.GetTimestamp();
            Dropout.Forward(a3, a4, mask2, 0.2f, ref random);
            stamps[s++] = Stopwatch.GetTimestamp();
        }

        Gemm.Multiply(a4, w3, a5, n, 10, 128, b3);
        stamps[s++] = Stopwatch.GetTimestamp();
        SoftmaxCrossEntropy.ValueAndGradient(a5, training.Labels, ga.Slice(0, n * 10), 10);
        stamps[s++] = Stopwatch.GetTimestamp();
        Gemm.MultiplyTransposedA(a4, ga.Slice(0, n * 10), tensors[4].Slice(gradients), 128, 10, n);
        Reductions.ColumnSums(ga.Slice(0, n * 10), tensors[5].Slice(gradients));
        Gemm.MultiplyTransposedGated(ga.Slice(0, n * 10), w3, gb.Slice(0, n * 128), n, 128, 10, mask2, a3);
        stamps[s++] = Stopwatch.GetTimestamp();
        Gemm.MultiplyTransposedA(a2, gb.Slice(0, n * 128), tensors[2].Slice(gradients), 256, 128, n);
        Reductions.ColumnSums(gb.Slice(0, n * 128), tensors[3].Slice(gradients));
        stamps[s++] = Stopwatch.GetTimestamp();
        Gemm.MultiplyTransposedGated(gb.Slice(0, n * 128), w2, ga.Slice(0, n * 256), n, 256, 128, mask1, a1);
        stamps[s++] = Stopwatch.GetTimestamp();
        Gemm.MultiplyTransposedA(x, ga.Slice(0, n * 256), tensors[0].Slice(gradients), 784, 256, n);
        Reductions.ColumnSums(ga.Slice(0, n * 256), tensors[1].Slice(gradients));
        stamps[s++] = Stopwatch.GetTimestamp();
        training.Update();
        stamps[s] = Stopwatch.GetTimestamp();
    }
}
