using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// <c>Fit</c> itself on the Fashion MLP (batch 64, Adam, shuffled): one thread, two threads with each shuffled batch
/// copied on the calling thread alone, and two as shipped (the copy split over both, <c>RowGather.Splits</c>), one epoch
/// of each in turn; and the copy of one batch alone, the same three ways. On the full training set when it is installed
/// (60,000 images, 188 MB, so a batch's rows come from memory), else on the sample's 3,000 embedded images.
/// </summary>
internal static class FitGather
{
    public static void Run(int rounds)
    {
        var data = Load(out var source);
        (string Name, int Threads, bool Split)[] variants = [("1 thread", 1, true), ("2 threads, batch copied on one", 2, false), ("2 threads, batch copied on both", 2, true)];
        var model = new FashionMlp(seed: 1);
        var options = new FitOptions { Epochs = 1, BatchSize = TrainingThroughputBenchmarks.Batch, Optimizer = new Adam(1e-3f), Seed = 1 };
        var steps = (data.Count + options.BatchSize - 1) / options.BatchSize;
        var fitTimes = variants.Select(_ => new List<double>()).ToArray();
        var copyTimes = variants.Select(_ => new List<double>()).ToArray();
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random(2).Shuffle(order);
        var batch = new float[options.BatchSize * data.FeatureSize];
        for (var round = -1; round < rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                KernelSettings.MaxThreads = variants[v].Threads;
                RowGather.Splits = variants[v].Split;
                var start = Stopwatch.GetTimestamp();
                model.Fit(data, options);
                Measurements.AddIf(round >= 0, fitTimes[v], Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps);

                // The copy alone, right after the epoch (the helper still awake), over 200 batches of the shuffled order.
                var copies = new List<double>();
                for (var b = 0; b < 200; b++)
                {
                    var rows = order.AsSpan(b * options.BatchSize % (data.Count - options.BatchSize), options.BatchSize);
                    var copyStart = Stopwatch.GetTimestamp();
                    RowGather.Gather(data.Features, data.FeatureSize, rows, batch);
                    copies.Add(Stopwatch.GetElapsedTime(copyStart).TotalMicroseconds);
                }

                Measurements.AddIf(round >= 0, copyTimes[v], Measurements.Median(copies));
            }
        }

        RowGather.Splits = true;
        var one = Measurements.Median(fitTimes[0]);
        Console.WriteLine($"Fit, FashionMlp, batch {options.BatchSize}, Adam, {source}: medians of {rounds} interleaved epochs of {steps} steps each");
        Console.WriteLine("| variant | µs per step | samples/s | vs 1 thread | one batch's copy alone, µs |");
        Console.WriteLine("|---|--:|--:|--:|--:|");
        for (var v = 0; v < variants.Length; v++)
        {
            var median = Measurements.Median(fitTimes[v]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {variants[v].Name} | {median:F1} | {options.BatchSize * 1e6 / median:N0} | {one / median:F2}× | {Measurements.Median(copyTimes[v]):F1} |"));
        }
    }

    private static Dataset Load(out string source)
    {
        const string installed = "/usr/share/datasets/fashion-mnist";
        foreach (var name in new[] { "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz" })
        {
            var images = Path.Combine(installed, name);
            var labels = Path.Combine(installed, name.Replace("images-idx3", "labels-idx1", StringComparison.Ordinal));
            if (File.Exists(images) && File.Exists(labels))
            {
                source = "the full training set (60,000 images)";
                return Dataset.FromLabels(Idx.ReadImages(images, out _, out _), FashionMlp.InputSize, Idx.ReadLabels(labels));
            }
        }

        source = "the 3,000 embedded images (the full set is not installed)";
        var embedded = TrainingBatches.Load();
        return Dataset.FromLabels(embedded.Pixels, FashionMlp.InputSize, embedded.Labels);
    }
}
