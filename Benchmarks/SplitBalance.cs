using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Two-thread products cut in halves against cut where the threads' finishing times say (<c>WorkSplitter.AdaptiveSplit</c>),
/// interleaved round by round in one process, each against one thread measured in the same round.
/// </summary>
internal static class SplitBalance
{
    public static void Run(int rounds)
    {
        (int M, int K, int N, bool TransposeA, bool TransposeB)[] shapes =
            [(64, 784, 256, false, false), (64, 256, 128, false, false), (784, 64, 256, true, false), (256, 64, 128, true, false), (64, 256, 784, false, true), (1024, 1024, 1024, false, false)];
        (int Threads, bool Adaptive)[] variants = [(1, false), (2, false), (2, true)];
        var random = new Random(1);
        Console.WriteLine($"Medians of {rounds} interleaved rounds; 2 ÷ 1 is one thread's time over two threads'.");
        Console.WriteLine("| product | M×K×N | 1 thread µs | 2 threads, halves | 2 threads, adaptive cut | helper's share after |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|");
        foreach (var (m, k, n, transposeA, transposeB) in shapes)
        {
            var (a, b, c) = (Measurements.RandomValues(random, m * k), Measurements.RandomValues(random, k * n), new float[m * n]);
            var repeats = Math.Max(2, 20_000_000 / (m * n * k));
            var times = new List<double>[variants.Length];
            for (var v = 0; v < variants.Length; v++) times[v] = [];
            for (var round = 0; round < rounds; round++)
            {
                for (var v = 0; v < variants.Length; v++)
                {
                    KernelSettings.MaxThreads = variants[v].Threads;
                    WorkSplitter.AdaptiveSplit = variants[v].Adaptive;
                    Gemm.Compute(a, transposeA, b, transposeB, c, m, n, k, accumulate: false);
                    var start = Stopwatch.GetTimestamp();
                    for (var r = 0; r < repeats; r++)
                    {
                        Gemm.Compute(a, transposeA, b, transposeB, c, m, n, k, accumulate: false);
                    }

                    times[v].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / repeats);
                }
            }

            WorkSplitter.AdaptiveSplit = true;
            var one = Measurements.Median(times[0]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(transposeA ? "weight grad" : transposeB ? "input grad" : m == k ? "square" : "forward")} | {m}×{k}×{n} | {one:F1} | {one / Measurements.Median(times[1]):F2}× | {one / Measurements.Median(times[2]):F2}× | {WorkSplitter.HelperShare:F2} |"));
        }
    }
}
