using System;
using System.Globalization;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Batch-sized products on one thread with A packed against A read in place (<c>GemmTuning.ReadAInPlace</c>), interleaved
/// round by round in one process.
/// </summary>
internal static class InPlaceA
{
    public static void Run(int rounds)
    {
        var previousThreads = KernelSettings.MaxThreads;
        KernelSettings.MaxThreads = 1;
        ProductShape[] shapes =
            [new(64, 784, 256), new(64, 256, 128), new(64, 256, 784, TransposeB: true), new(784, 64, 256, TransposeA: true), new(256, 64, 128, TransposeA: true), new(256, 784, 256), new(256, 256, 128)];
        var random = new Random(1);
        Console.WriteLine($"One thread, medians of {rounds} interleaved rounds.");
        Console.WriteLine("| product | M×K×N | A packed µs | A in place µs | packed ÷ in place |");
        Console.WriteLine("|---|---|--:|--:|--:|");
        foreach (var shape in shapes)
        {
            var times = Measurements.MedianProductTimes(shape, random, rounds, variants: 2, v => Gemm.Tuning = GemmTuning.Default with { ReadAInPlace = v == 1 });
            Gemm.Tuning = GemmTuning.Default;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {shape.Role} | {shape.M}×{shape.K}×{shape.N} | {times[0]:F1} | {times[1]:F1} | {times[0] / times[1]:F3}× |"));
        }

        KernelSettings.MaxThreads = previousThreads;
    }
}
