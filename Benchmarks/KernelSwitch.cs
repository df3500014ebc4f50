using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// One of the GEMM's switches off against on, interleaved call by call in one process so that the machine's drifting
/// speed hits both alike: every GEMM shape of <see cref="GemmShape.All"/> (plus the second layer's input gradient,
/// 64×128×256 with B transposed) on one thread and on two, then whole Fashion training steps (TrainStep + Adam, batch
/// 64). Each switch changes how a product is computed, never its bits.
/// Run: <c>dotnet run -c Release --project Benchmarks -- tiles [rounds]</c> (the 6 × 64 micro-kernel where a product
/// goes by rows or depth, against 8 × 32 everywhere), <c>-- panels [rounds]</c> (B packed one panel at a time just
/// before its use, against a whole depth block first) or <c>-- edges [rounds]</c> (partial edge tiles written as masked
/// vectors, against a copy per row).
/// </summary>
internal static class KernelSwitch
{
    public static void Run(int rounds, string name, Action<bool> setSwitch)
    {
        GemmShape[] shapes = [.. GemmShape.All.Where(s => s.Flops < 100_000_000), new("input grad ∂Z·Wᵀ", 64, 128, 256, false, true, false)];
        Console.WriteLine($"{name}: medians of {rounds} interleaved rounds, µs per product or step; ratio > 1 when the switch on is faster.");
        Console.WriteLine("| product | M×K×N | threads | off µs | on µs | off ÷ on |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|");
        foreach (var shape in shapes)
        {
            var operands = new GemmOperands(shape);
            var repeats = (int)Math.Max(1, 20_000_000 / shape.Flops);
            foreach (var threads in new[] { 1, 2 })
            {
                KernelSettings.MaxThreads = threads;
                var (off, on) = Interleave(rounds, setSwitch, () => { }, () =>
                {
                    for (var r = 0; r < repeats; r++)
                    {
                        operands.Run();
                    }
                });
                Print(shape.Name, $"{shape.M}×{shape.K}×{shape.N}", threads, off / repeats, on / repeats);
            }
        }

        var training = new FashionTraining();
        foreach (var threads in new[] { 1, 2 })
        {
            KernelSettings.MaxThreads = threads;
            var (off, on) = Interleave(rounds, setSwitch, () =>
            {
                // One step untimed, to leave the caches (and the helper) as a training run does.
                training.Step();
                training.NextBatch();
            }, () =>
            {
                training.TrainStep();
                training.Update();
            });
            Print("Fashion training step", "batch 64", threads, off, on);
        }

        KernelSettings.MaxThreads = 1;
        setSwitch(true);
    }

    /// <summary>Medians of <paramref name="timed"/> with the switch off and on, alternating which goes first.</summary>
    private static (double Off, double On) Interleave(int rounds, Action<bool> setSwitch, Action untimed, Action timed)
    {
        var times = new[] { new List<double>(), new List<double>() };
        for (var round = -3; round < rounds; round++)
        {
            foreach (var on in round % 2 == 0 ? new[] { false, true } : new[] { true, false })
            {
                setSwitch(on);
                untimed();
                var start = Stopwatch.GetTimestamp();
                timed();
                if (round >= 0)
                {
                    times[on ? 1 : 0].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }
        }

        return (Measurements.Median(times[0]), Measurements.Median(times[1]));
    }

    private static void Print(string name, string shape, int threads, double off, double on) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {shape} | {threads} | {off:F1} | {on:F1} | {off / on:F3}× |"));
}
