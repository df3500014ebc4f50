using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Batch-sized products on one thread with A packed against A read in place (<c>Gemm.ReadAInPlace</c>), interleaved
/// round by round in one process.
/// </summary>
internal static class InPlaceA
{
    public static void Run(int rounds)
    {
        var previousThreads = KernelSettings.MaxThreads;
        KernelSettings.MaxThreads = 1;
        (int M, int K, int N, bool TransposeA, bool TransposeB)[] shapes =
            [(64, 784, 256, false, false), (64, 256, 128, false, false), (64, 256, 784, false, true), (784, 64, 256, true, false), (256, 64, 128, true, false), (256, 784, 256, false, false), (256, 256, 128, false, false)];
        var random = new Random(1);
        Console.WriteLine($"One thread, medians of {rounds} interleaved rounds.");
        Console.WriteLine("| product | M×K×N | A packed µs | A in place µs | packed ÷ in place |");
        Console.WriteLine("|---|---|--:|--:|--:|");
        foreach (var (m, k, n, transposeA, transposeB) in shapes)
        {
            var (a, b, c) = (Measurements.RandomValues(random, m * k), Measurements.RandomValues(random, k * n), new float[m * n]);
            var repeats = Math.Max(2, 20_000_000 / (m * n * k));
            var times = new[] { new List<double>(), new List<double>() };
            for (var round = 0; round < rounds; round++)
            {
                for (var v = 0; v < 2; v++)
                {
                    Gemm.ReadAInPlace = v == 1;
                    Gemm.Compute(a, transposeA, b, transposeB, c, m, n, k, accumulate: false);
                    var start = Stopwatch.GetTimestamp();
                    for (var r = 0; r < repeats; r++)
                    {
                        Gemm.Compute(a, transposeA, b, transposeB, c, m, n, k, accumulate: false);
                    }

                    times[v].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / repeats);
                }
            }

            Gemm.ReadAInPlace = true;
            var (packed, inPlace) = (Measurements.Median(times[0]), Measurements.Median(times[1]));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(transposeA ? "weight grad" : transposeB ? "input grad" : "forward")} | {m}×{k}×{n} | {packed:F1} | {inPlace:F1} | {packed / inPlace:F3}× |"));
        }

        KernelSettings.MaxThreads = previousThreads;
    }
}
