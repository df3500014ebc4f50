using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// What limits Adam's update on one thread: the shipped kernel (Vector512) against the same pass without its square
/// root and division (the divider's share) and against a pass that only moves the same bytes (four arrays read, three
/// written: the memory's share), at the Fashion MLP's 235,146 parameters (3.8 MB, more than one core's L2) and over
/// 2,048 parameters (32 KB, in L1), repeated to the same number of elements. Interleaved, medians.
/// The two stand-in passes are compiled fully optimized from their first call, as the shipped kernel is: left to tiered
/// compilation, their first hundreds of calls ran unoptimized code, six to fifteen times slower.
/// Run: <c>dotnet run -c Release --project Benchmarks -- adam [rounds]</c>.
/// </summary>
internal static class AdamCost
{
    private const int Parameters = 235_146;
    private const int InL1 = 2_048;

    public static void Run(int rounds)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Console.WriteLine("adam: needs Vector512.");
            return;
        }

        KernelSettings.MaxThreads = 1;
        var random = new Random(1);
        var (p, g, m) = (Measurements.RandomValues(random, Parameters), Measurements.RandomValues(random, Parameters), Measurements.RandomValues(random, Parameters));
        var v = m.Select(x => 0.01f * MathF.Abs(x)).ToArray();
        var repeats = Parameters / InL1;
        var passes = new (string Name, Action<int> Run)[]
        {
            ("Adam as shipped", length => OptimizerKernels.Adam<Vector512<float>, Simd512>(p.AsSpan(0, length), g.AsSpan(0, length), m.AsSpan(0, length), v.AsSpan(0, length), 0.9f, 0.999f, 1e-3f, 1e-7f, 0f)),
            ("the same without √ and ÷", length => WithoutDivider(p.AsSpan(0, length), g.AsSpan(0, length), m.AsSpan(0, length), v.AsSpan(0, length))),
            ("the same bytes moved, nothing computed", length => BytesOnly(p.AsSpan(0, length), g.AsSpan(0, length), m.AsSpan(0, length), v.AsSpan(0, length))),
        };
        var times = new List<double>[passes.Length, 2];
        for (var i = 0; i < passes.Length; i++)
        {
            (times[i, 0], times[i, 1]) = ([], []);
        }

        for (var round = -3; round < rounds; round++)
        {
            for (var i = 0; i < passes.Length; i++)
            {
                // Each round starts with the next pass, so that none always runs right after the same other.
                var pass = (i + round + (3 * passes.Length)) % passes.Length;
                var start = Stopwatch.GetTimestamp();
                passes[pass].Run(Parameters);
                Measurements.AddIf(round >= 0, times[pass, 0], Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                start = Stopwatch.GetTimestamp();
                for (var r = 0; r < repeats; r++)
                {
                    passes[pass].Run(InL1);
                }

                Measurements.AddIf(round >= 0, times[pass, 1], Stopwatch.GetElapsedTime(start).TotalMicroseconds * Parameters / (repeats * InL1));
            }
        }

        Console.WriteLine($"Adam on one thread, medians of {rounds} interleaved rounds, µs per {Parameters:N0} parameters");
        Console.WriteLine("| pass | all at once (3.8 MB) | 2,048 at a time (32 KB, in L1) |");
        Console.WriteLine("|---|--:|--:|");
        for (var i = 0; i < passes.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {passes[i].Name} | {Measurements.Median(times[i, 0]):F1} | {Measurements.Median(times[i, 1]):F1} |"));
        }
    }

    /// <summary>Adam's pass with the update m·α·(v + ε) instead of α·m / (√v + ε): every other operation, load and store kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WithoutDivider(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v)
    {
        var (b1, oneMinusB1, b2, oneMinusB2) = (Vector512.Create(0.9f), Vector512.Create(0.1f), Vector512.Create(0.999f), Vector512.Create(0.001f));
        var (alpha, epsilon) = (Vector512.Create(1e-3f), Vector512.Create(1e-7f));
        var (stateFloor, gradientFloor) = (Vector512.Create(OptimizerKernels.StateFloor), Vector512.Create(OptimizerKernels.GradientFloor));
        for (var i = 0; i + 16 <= parameters.Length; i += 16)
        {
            var gradient = Simd512.FlushBelow(Vector512.Create(gradients.Slice(i, 16)), gradientFloor);
            var first = Simd512.FlushBelow((b1 * Vector512.Create((ReadOnlySpan<float>)m.Slice(i, 16))) + (oneMinusB1 * gradient), stateFloor);
            var second = Simd512.FlushBelow((b2 * Vector512.Create((ReadOnlySpan<float>)v.Slice(i, 16))) + (oneMinusB2 * gradient * gradient), stateFloor);
            first.CopyTo(m.Slice(i, 16));
            second.CopyTo(v.Slice(i, 16));
            (Vector512.Create((ReadOnlySpan<float>)parameters.Slice(i, 16)) - (alpha * first * (second + epsilon))).CopyTo(parameters.Slice(i, 16));
        }
    }

    /// <summary>
    /// Reads the four arrays and writes three, as Adam does, with one operation per value stored. The values it stores
    /// stay within those it read (a maximum, a minimum, θ itself), so the passes that follow it on the same arrays see
    /// ordinary numbers, never overflowed or subnormal ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BytesOnly(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v)
    {
        for (var i = 0; i + 16 <= parameters.Length; i += 16)
        {
            var theta = Vector512.Create((ReadOnlySpan<float>)parameters.Slice(i, 16));
            Vector512.Max(Vector512.Create(gradients.Slice(i, 16)), Vector512.Create((ReadOnlySpan<float>)m.Slice(i, 16))).CopyTo(m.Slice(i, 16));
            Vector512.Min(Vector512.Create((ReadOnlySpan<float>)v.Slice(i, 16)), Vector512.Abs(theta)).CopyTo(v.Slice(i, 16));
            theta.CopyTo(parameters.Slice(i, 16));
        }
    }
}
