using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Causal self-attention's forward and backward passes at the target GPT's shape (batch 32, 64 positions, D = 128,
/// 4 heads of 32), on one thread and on two, medians and the fastest of interleaved rounds after a second of warm-up, beside the FMA
/// peak measured in the same rounds. FLOPs counted: 4·B·H·T²·dₕ forward (Q·Kᵀ and P·V, the causal half not
/// discounted), twice that backward.
/// Run: <c>dotnet run -c Release --project Benchmarks -- attention [rounds]</c>.
/// </summary>
internal static class AttentionCost
{
    public static void Run(int rounds)
    {
        const int batch = 32, positions = 64, dim = 128, heads = 4;
        var random = new Random(1);
        var qkv = Measurements.RandomValues(random, batch * positions * 3 * dim);
        var outputGradient = Measurements.RandomValues(random, batch * positions * dim);
        var output = new float[batch * positions * dim];
        var lse = new float[Attention.LogSumExpLength(batch, positions, heads)];
        var workspace = new float[Attention.WorkspaceLength(batch, positions, dim, heads)];
        var gradient = new float[qkv.Length];
        Action[] cases =
        [
            () => Attention.Forward(qkv, output, lse, workspace, batch, positions, dim, heads, causal: true),
            () => Attention.Backward(qkv, output, lse, outputGradient, gradient, workspace, batch, positions, dim, heads, causal: true),
        ];

        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed < TimeSpan.FromSeconds(1))
        {
            foreach (var pass in cases)
            {
                pass();
            }
        }

        // Each round runs both passes on one thread and on two, the settings taking turns on which goes first. The
        // fastest round is printed beside the median: on a shared machine the median includes time other processes took.
        var times = new List<double>[2, 2];
        for (var c = 0; c < 2; c++)
        {
            times[c, 0] = [];
            times[c, 1] = [];
        }

        var helperParts = WorkSplitter.PartsRunByHelpers;
        for (var round = -3; round < rounds; round++)
        {
            foreach (var threads in round % 2 == 0 ? new[] { 1, 2 } : new[] { 2, 1 })
            {
                KernelSettings.MaxThreads = threads;
                for (var c = 0; c < cases.Length; c++)
                {
                    var start = Stopwatch.GetTimestamp();
                    cases[c]();
                    Measurements.AddIf(round >= 0, times[c, threads - 1], Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }
        }

        KernelSettings.MaxThreads = 1;
        helperParts = WorkSplitter.PartsRunByHelpers - helperParts;
        var peaks = Enumerable.Range(0, 5).Select(_ =>
        {
            var start = Stopwatch.GetTimestamp();
            return FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
        });
        var forwardFlops = 4.0 * batch * heads * positions * positions * (dim / heads);
        Console.WriteLine($"attention B={batch} T={positions} D={dim} H={heads} causal, {Measurements.CpuModel()}, FMA peak one core {Measurements.Median(peaks):F0} GFLOP/s");
        Console.WriteLine($"{rounds} rounds | 1 thread: median µs (GFLOP/s), fastest µs | 2 threads: median µs (GFLOP/s), fastest µs");
        foreach (var (c, name, flops) in new[] { (0, "forward", forwardFlops), (1, "backward", 2 * forwardFlops) })
        {
            var cells = Enumerable.Range(0, 2).Select(t =>
            {
                var median = Measurements.Median(times[c, t]);
                return $"{median:F0} ({flops / median / 1e3:F1}), {times[c, t].Min():F0}";
            });
            Console.WriteLine($"{name} | {string.Join(" | ", cells)}");
        }

        Console.WriteLine($"parts the helper thread ran: {helperParts} of {(rounds + 3) * 2 * 8} in the two-thread passes");
    }
}
