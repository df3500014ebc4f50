using System;
using System.Collections.Generic;
using System.Diagnostics;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Whether the helper spinning for its next call (for 200 µs after each two-thread call) slows a one-thread product on
/// the other vCPU, as it would if the two vCPUs shared a core: the same one-thread product timed with the helper asleep
/// and right after a two-thread call. Run: <c>dotnet run -c Release --project Benchmarks -- spin</c>.
/// </summary>
internal static class SpinEffect
{
    public static void Run(int rounds)
    {
        const int m = 64, k = 256, n = 784;
        var random = new Random(1);
        var (a, b, c) = (Measurements.RandomValues(random, m * k), Measurements.RandomValues(random, k * n), new float[m * n]);
        var asleep = new List<double>();
        var spinning = new List<double>();
        for (var round = -20; round < rounds; round++)
        {
            // Helper asleep: one-thread products for a millisecond first.
            KernelSettings.MaxThreads = 1;
            var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 1000);
            while (Stopwatch.GetTimestamp() < until) { Gemm.MultiplyTransposed(a, b, c, m, n, k); }
            var start = Stopwatch.GetTimestamp();
            Gemm.MultiplyTransposed(a, b, c, m, n, k);
            Measurements.AddIf(round >= 0, asleep, Stopwatch.GetElapsedTime(start).TotalMicroseconds);

            // Helper spinning: a two-thread product just before.
            KernelSettings.MaxThreads = 2;
            Gemm.MultiplyTransposed(a, b, c, m, n, k);
            KernelSettings.MaxThreads = 1;
            start = Stopwatch.GetTimestamp();
            Gemm.MultiplyTransposed(a, b, c, m, n, k);
            Measurements.AddIf(round >= 0, spinning, Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        Console.WriteLine($"one-thread 64×256×784 (medians of {rounds} rounds): helper asleep {Measurements.Median(asleep):F1} µs, helper spinning {Measurements.Median(spinning):F1} µs");
    }
}
