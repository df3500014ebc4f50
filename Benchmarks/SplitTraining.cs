using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Whole training steps of the Fashion MLP (TrainStep + Adam, batch 64, real batches) on one thread, on two with every
/// product cut in four parts taken greedily (the rule for more threads), on two with the adaptive cut
/// (<c>WorkSplitter.AdaptiveSplit</c>) but no product split by depth (<c>GemmTuning.SplitByDepth</c>), and on two as shipped:
/// five steps of each in turn.
/// </summary>
internal static class SplitTraining
{
    public static void Run(int rounds)
    {
        const int batch = TrainingThroughputBenchmarks.Batch;
        var training = new FashionTraining();
        (string Name, int Threads, bool Adaptive, bool Depth)[] variants =
        [
            ("1 thread", 1, true, true), ("2 threads, four greedy parts", 2, false, true), ("2 threads, adaptive cut, no depth split", 2, true, false),
            ("2 threads, adaptive cut", 2, true, true),
        ];
        var times = variants.Select(_ => new List<double>()).ToArray();
        for (var round = -100; round < rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                KernelSettings.MaxThreads = variants[v].Threads;
                WorkSplitter.AdaptiveSplit = variants[v].Adaptive;
                Gemm.Tuning = GemmTuning.Default with { SplitByDepth = variants[v].Depth };
                // One step untimed: after a one-thread variant the helper has gone to sleep (it spins for 200 µs), and
                // waking it would be charged to the first step; a training run keeps it awake from step to step.
                training.Step();
                var start = Stopwatch.GetTimestamp();
                for (var step = 0; step < 5; step++)
                {
                    training.Step();
                }

                if (round >= 0)
                {
                    times[v].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / 5);
                }
            }
        }

        WorkSplitter.AdaptiveSplit = true;
        Gemm.Tuning = GemmTuning.Default;
        var one = Measurements.Median(times[0]);
        Console.WriteLine($"FashionMlp, TrainStep + Adam, batch {batch}; medians of {rounds} interleaved rounds of 5 steps each");
        foreach (var (variant, i) in variants.Select((v, i) => (v, i)))
        {
            var median = Measurements.Median(times[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{variant.Name}: {median:F1} µs per step, {batch * 1e6 / median:N0} samples/s ({one / median:F2}×)"));
        }
    }
}
