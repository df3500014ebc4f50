using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// The 6 × 64 micro-kernel against the 8 × 32 one, interleaved call by call in one process so that the machine's
/// drifting speed hits both alike: every GEMM shape of <see cref="GemmShape.All"/> (plus the second layer's input
/// gradient, 64×128×256 with B transposed) on one thread and on two, then whole Fashion training steps (TrainStep +
/// Adam, batch 64). With the wide tiles switched off every product runs on 8 × 32; switched on, those whose width is a
/// whole number of 64-column panels run on 6 × 64 (the others are the same code either way).
/// Run: <c>dotnet run -c Release --project Benchmarks -- tiles [rounds]</c>.
/// </summary>
internal static class TileChoice
{
    public static void Run(int rounds)
    {
        GemmShape[] shapes = [.. GemmShape.All.Where(s => s.Flops < 100_000_000), new("input grad ∂Z·Wᵀ", 64, 128, 256, false, true, false)];
        Console.WriteLine($"Medians of {rounds} interleaved rounds; time per product or step in µs, 8×32 only against 6×64 where the width allows.");
        Console.WriteLine("| product | M×K×N | threads | 8×32 µs | 6×64 µs | 8×32 ÷ 6×64 |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|");
        foreach (var shape in shapes)
        {
            var operands = new GemmOperands(shape);
            var repeats = (int)Math.Max(1, 20_000_000 / shape.Flops);
            foreach (var threads in new[] { 1, 2 })
            {
                KernelSettings.MaxThreads = threads;
                var (narrow, wide) = Interleave(rounds, () =>
                {
                    for (var r = 0; r < repeats; r++)
                    {
                        operands.Run();
                    }
                });
                Print(shape.Name, $"{shape.M}×{shape.K}×{shape.N}", threads, narrow / repeats, wide / repeats);
            }
        }

        var training = new FashionTraining();
        foreach (var threads in new[] { 1, 2 })
        {
            KernelSettings.MaxThreads = threads;
            var (narrow, wide) = Interleave(rounds, () =>
            {
                // One step untimed, to leave the caches (and the helper) as a training run does.
                training.Step();
                training.NextBatch();
            }, () =>
            {
                training.TrainStep();
                training.Update();
            });
            Print("Fashion training step", "batch 64", threads, narrow, wide);
        }

        KernelSettings.MaxThreads = 1;
        Gemm.UseWideTiles = true;
    }

    /// <summary>Medians of <paramref name="timed"/> with the wide tiles off and on, alternating which goes first.</summary>
    private static (double Narrow, double Wide) Interleave(int rounds, Action timed) => Interleave(rounds, () => { }, timed);

    private static (double Narrow, double Wide) Interleave(int rounds, Action untimed, Action timed)
    {
        var times = new[] { new List<double>(), new List<double>() };
        for (var round = -3; round < rounds; round++)
        {
            foreach (var wide in round % 2 == 0 ? new[] { false, true } : new[] { true, false })
            {
                Gemm.UseWideTiles = wide;
                untimed();
                var start = Stopwatch.GetTimestamp();
                timed();
                if (round >= 0)
                {
                    times[wide ? 1 : 0].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }
        }

        return (Measurements.Median(times[0]), Measurements.Median(times[1]));
    }

    private static void Print(string name, string shape, int threads, double narrow, double wide) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {shape} | {threads} | {narrow:F1} | {wide:F1} | {narrow / wide:F3}× |"));
}
