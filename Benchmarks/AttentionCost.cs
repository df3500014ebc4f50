using System;
using System.Diagnostics;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Causal self-attention's forward and backward passes at the target GPT's shape (batch 32, 64 positions, D = 128,
/// 4 heads of 32), on one thread and on two, medians of interleaved rounds after a second of warm-up, beside the FMA
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

        var times = Measurements.MedianOnOneAndTwoThreads(cases, rounds, warmUp: 3);
        var peaks = Enumerable.Range(0, 5).Select(_ =>
        {
            var start = Stopwatch.GetTimestamp();
            return FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
        });
        var forwardFlops = 4.0 * batch * heads * positions * positions * (dim / heads);
        Console.WriteLine($"attention B={batch} T={positions} D={dim} H={heads} causal, {Measurements.CpuModel()}, FMA peak one core {Measurements.Median(peaks):F0} GFLOP/s");
        Console.WriteLine($"medians of {rounds} rounds | 1 thread µs (GFLOP/s) | 2 threads µs (GFLOP/s)");
        foreach (var (name, flops, (one, two)) in new[] { ("forward", forwardFlops, times[0]), ("backward", 2 * forwardFlops, times[1]) })
        {
            Console.WriteLine($"{name} | {one:F0} ({flops / one / 1e3:F1}) | {two:F0} ({flops / two / 1e3:F1})");
        }
    }
}
