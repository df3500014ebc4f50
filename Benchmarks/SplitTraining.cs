using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Whole training steps of the Fashion MLP (TrainStep + Adam, batch 64, real batches) on one thread, on two with every
/// split cut in halves, and on two with the adaptive cut (<c>WorkSplitter.AdaptiveSplit</c>), five steps of each in turn.
/// </summary>
internal static class SplitTraining
{
    public static void Run(int rounds)
    {
        const int batch = TrainingThroughputBenchmarks.Batch;
        var model = new FashionMlp(seed: 1);
        var adam = new Adam(1e-3f);
        var inputs = new AlignedBuffer(batch * FashionMlp.InputSize);
        var labels = new float[batch];
        var batches = TrainingBatches.Load();
        (string Name, int Threads, bool Adaptive)[] variants = [("1 thread", 1, true), ("2 threads, halves", 2, false), ("2 threads, adaptive cut", 2, true)];
        var times = variants.Select(_ => new List<double>()).ToArray();
        for (var round = -100; round < rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                KernelSettings.MaxThreads = variants[v].Threads;
                WorkSplitter.AdaptiveSplit = variants[v].Adaptive;
                var start = Stopwatch.GetTimestamp();
                for (var step = 0; step < 5; step++)
                {
                    batches.Next(inputs.Span, labels);
                    model.TrainStep(inputs.Span, labels);
                    adam.Step(model.Parameters, model.Gradients);
                }

                if (round >= 0)
                {
                    times[v].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / 5);
                }
            }
        }

        WorkSplitter.AdaptiveSplit = true;
        var one = Measurements.Median(times[0]);
        Console.WriteLine($"FashionMlp, TrainStep + Adam, batch {batch}; medians of {rounds} interleaved rounds of 5 steps each");
        foreach (var (variant, i) in variants.Select((v, i) => (v, i)))
        {
            var median = Measurements.Median(times[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{variant.Name}: {median:F1} µs per step, {batch * 1e6 / median:N0} samples/s ({one / median:F2}×)"));
        }
    }
}
