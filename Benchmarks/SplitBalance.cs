using System;
using System.Globalization;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Two-thread products cut in four parts taken greedily (the rule for more threads) against cut in two where the
/// threads' finishing times say (<c>WorkSplitter.AdaptiveSplit</c>), interleaved round by round in one process, each
/// against one thread measured in the same round.
/// </summary>
internal static class SplitBalance
{
    public static void Run(int rounds)
    {
        ProductShape[] shapes =
            [new(64, 784, 256), new(64, 256, 128), new(784, 64, 256, TransposeA: true), new(256, 64, 128, TransposeA: true), new(64, 256, 784, TransposeB: true), new(1024, 1024, 1024)];
        (int Threads, bool Adaptive)[] variants = [(1, false), (2, false), (2, true)];
        var random = new Random(1);
        Console.WriteLine($"Medians of {rounds} interleaved rounds; 2 ÷ 1 is one thread's time over two threads'.");
        Console.WriteLine("| product | M×K×N | 1 thread µs | 2 threads, four greedy parts | 2 threads, adaptive cut | helper's share after |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|");
        foreach (var shape in shapes)
        {
            var times = Measurements.MedianProductTimes(shape, random, rounds, variants.Length, v =>
            {
                KernelSettings.MaxThreads = variants[v].Threads;
                WorkSplitter.AdaptiveSplit = variants[v].Adaptive;
            });
            WorkSplitter.AdaptiveSplit = true;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {shape.Role} | {shape.M}×{shape.K}×{shape.N} | {times[0]:F1} | {times[0] / times[1]:F2}× | {times[0] / times[2]:F2}× | {WorkSplitter.HelperShare:F2} |"));
        }
    }
}
