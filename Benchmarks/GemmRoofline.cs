using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// GEMM throughput as a fraction of the FMA peak measured in the same process, interleaved round by round (peak,
/// then every shape on one thread and on two) so that the machine's drifting load hits all alike. Prints the median
/// GFLOP/s of each case. Run: <c>dotnet run -c Release --project Benchmarks -- roofline [rounds]</c>.
/// Then, one thread, the two baselines: a naive triple loop and one TensorPrimitives.Dot per element. The
/// BenchmarkDotNet classes <see cref="GemmBenchmarks"/> and <see cref="GemmBaselineBenchmarks"/> measure the same
/// shapes with BenchmarkDotNet's statistics, one process per case.
/// </summary>
public static class GemmRoofline
{
    public static void Run(int rounds)
    {
        var cases = GemmShape.All.Select(shape => (Shape: shape, Operands: new GemmOperands(shape))).ToArray();
        var peaks = new List<double>();
        var kernelOnly = new List<double>();
        var wideKernelOnly = new List<double>();
        var bothCores = new List<double>();
        var independentPair = new List<double>();
        var results = cases.Select(_ => new Dictionary<int, (List<double> Rate, List<double> OfPeak)> { [1] = ([], []), [2] = ([], []) }).ToArray();
        for (var round = -2; round < rounds; round++)
        {
            var kernelStart = Stopwatch.GetTimestamp();
            var kernelPeak = FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(kernelStart).TotalSeconds;
            var kernelRate = MicroKernel.Run<Tile8x2>(256);
            var wideKernelRate = MicroKernel.Run<Tile6x4>(128);
            var pairRate = FmaPeak.RunOnBothCores(500_000);
            var gemmPair = IndependentGemms.PairSpeedup();
            if (round >= 0)
            {
                kernelOnly.Add(kernelRate / kernelPeak);
                wideKernelOnly.Add(wideKernelRate / kernelPeak);
                bothCores.Add(pairRate / kernelPeak);
                independentPair.Add(gemmPair);
            }

            for (var c = 0; c < cases.Length; c++)
            {
                foreach (var threads in round % 2 == 0 ? new[] { 1, 2 } : new[] { 2, 1 })
                {
                    // The roof right before each measurement: the machine's speed drifts within seconds.
                    var start = Stopwatch.GetTimestamp();
                    var peak = FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(start).TotalSeconds;

                    KernelSettings.MaxThreads = threads;
                    var (shape, operands) = cases[c];
                    var repeats = Math.Max(3, (int)(50_000_000 / shape.Flops));
                    operands.Run();
                    start = Stopwatch.GetTimestamp();
                    for (var r = 0; r < repeats; r++)
                    {
                        operands.Run();
                    }

                    var rate = shape.Flops * repeats / Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (round >= 0)
                    {
                        peaks.Add(peak);
                        results[c][threads].Rate.Add(rate);
                        results[c][threads].OfPeak.Add(rate / peak);
                    }
                }
            }
        }

        // The baselines, one thread, three rounds each (the naive loop needs seconds on the large squares).
        KernelSettings.MaxThreads = 1;
        var naive = cases.Select(_ => new List<double>()).ToArray();
        var dot = cases.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < 3; round++)
        {
            for (var c = 0; c < cases.Length; c++)
            {
                var (shape, operands) = cases[c];
                var start = Stopwatch.GetTimestamp();
                var peak = FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(start).TotalSeconds;
                start = Stopwatch.GetTimestamp();
                operands.RunNaive();
                naive[c].Add(shape.Flops / Stopwatch.GetElapsedTime(start).TotalSeconds / peak);
                operands.RunDotPerElement();
                start = Stopwatch.GetTimestamp();
                operands.RunDotPerElement();
                dot[c].Add(shape.Flops / Stopwatch.GetElapsedTime(start).TotalSeconds / peak);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FMA peak, one core: median {Measurements.Median(peaks) / 1e9:F1} GFLOP/s over {peaks.Count} measurements (each taken just before one GEMM measurement); Vector512 accelerated: {Vector512.IsHardwareAccelerated}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Micro-kernels alone (panels in L1), median % of the peak measured just before them: 8×32 tile, 256 steps {100 * Measurements.Median(kernelOnly):F0}%; 6×64 tile, 128 steps {100 * Measurements.Median(wideKernelOnly):F0}%."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FMA peak on both cores at once: median {Measurements.Median(bothCores):F2}× one core's (the ceiling of any two-thread speed-up on this machine)."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Two independent one-thread 512³ GEMMs at once: median {Measurements.Median(independentPair):F2}× the throughput of one alone (below 2× when the vCPUs share caches or memory bandwidth, or one runs slower than the other)."));
        Console.WriteLine("| product | M×K×N | naive loop, % of peak | Dot per element, % of peak | ModelGen 1 thread GFLOP/s | % of peak | 2 threads GFLOP/s | % of 1-core peak | 2 vs 1 |");
        Console.WriteLine("|---|---|--:|--:|--:|--:|--:|--:|--:|");
        double sumOne = 0, sumTwo = 0;
        for (var c = 0; c < cases.Length; c++)
        {
            var (one, two) = (results[c][1], results[c][2]);
            var (g1, g2) = (Measurements.Median(one.Rate) / 1e9, Measurements.Median(two.Rate) / 1e9);
            var (p1, p2) = (Measurements.Median(one.OfPeak), Measurements.Median(two.OfPeak));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cases[c].Shape.Name} | {cases[c].Shape.M}×{cases[c].Shape.K}×{cases[c].Shape.N} | {100 * Measurements.Median(naive[c]):F1}% | {100 * Measurements.Median(dot[c]):F0}% | {g1:F1} | {100 * p1:F0}% | {g2:F1} | {100 * p2:F0}% | {g2 / g1:F2}× |"));
            if (cases[c].Shape.IsTrainingShape)
            {
                sumOne += p1;
                sumTwo += p2;
            }
        }

        var training = cases.Count(c => c.Shape.IsTrainingShape);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Mean % of peak over the {training} MLP training shapes: {100 * sumOne / training:F0}% on 1 thread, {100 * sumTwo / training:F0}% on 2."));
    }

}

/// <summary>A Vector512 micro-kernel by itself, on packed panels that stay in L1: what the blocked loops could reach.</summary>
internal static unsafe class MicroKernel
{
    /// <summary>
    /// Runs 8 tiles of <typeparamref name="TTile"/> <paramref name="depth"/> steps deep, 2,000 times, and returns the
    /// FLOP/s. The B panel is depth × width floats: 32 KiB for the 8 × 32 tile at 256 steps and the 6 × 64 tile at 128.
    /// </summary>
    public static double Run<TTile>(int depth)
        where TTile : ITile
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            return double.NaN;
        }

        var (rows, width) = (TTile.Rows, TTile.Vectors * Vector512<float>.Count);
        var a = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(8 * rows * depth * sizeof(float)), 64);
        var b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(width * depth * sizeof(float)), 64);
        var c = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(8 * rows * width * sizeof(float)), 64);
        try
        {
            new Span<float>(a, 8 * rows * depth).Fill(0.001f);
            new Span<float>(b, width * depth).Fill(0.001f);
            const int repeats = 2_000;
            var start = Stopwatch.GetTimestamp();
            for (var r = 0; r < repeats; r++)
            {
                for (var t = 0; t < 8; t++)
                {
                    TTile.Run<Vector512<float>, Simd512>(depth, a + (t * rows * depth), b, width, c + (t * rows * width), width, accumulate: false, bias: null, relu: false);
                }
            }

            return repeats * 8 * 2.0 * rows * width * depth / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(a);
            System.Runtime.InteropServices.NativeMemory.AlignedFree(b);
            System.Runtime.InteropServices.NativeMemory.AlignedFree(c);
        }
    }
}

/// <summary>
/// Two single-threaded 512³ products on their own buffers, at the same time on two threads, against one alone:
/// unlike the FMA roof they share the caches and memory, so this is the most a split product can gain here.
/// </summary>
public static class IndependentGemms
{
    private const int Size = 512;
    private static readonly float[][] Buffers = [new float[Size * Size], new float[Size * Size], new float[Size * Size], new float[Size * Size], new float[Size * Size], new float[Size * Size]];

    public static double PairSpeedup()
    {
        var previous = KernelSettings.MaxThreads;
        KernelSettings.MaxThreads = 1;
        try
        {
            Run(0, 1);
            var alone = Run(0, 3);
            using var ready = new System.Threading.Barrier(2);
            double other = 0;
            var thread = new System.Threading.Thread(() =>
            {
                // A new thread's first product allocates and first touches its packing buffers: keep that untimed.
                Run(3, 1);
                ready.SignalAndWait();
                other = Run(3, 3);
            });
            thread.Start();
            ready.SignalAndWait();
            var mine = Run(0, 3);
            thread.Join();
            return (alone / mine) + (alone / other);
        }
        finally
        {
            KernelSettings.MaxThreads = previous;
        }
    }

    /// <summary>Seconds per product over <paramref name="count"/> products on the buffers from <paramref name="first"/>.</summary>
    private static double Run(int first, int count)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            Gemm.Multiply(Buffers[first], Buffers[first + 1], Buffers[first + 2], Size, Size, Size);
        }

        return Stopwatch.GetElapsedTime(start).TotalSeconds / count;
    }
}

/// <summary>The FMA roof: 12 independent Vector512 chains (Vector256 without AVX-512), no memory traffic.</summary>
public static class FmaPeak
{
    /// <summary>
    /// The chains on the calling thread and on a second one at the same time: the two cores' summed FLOP/s, which
    /// shows what a second vCPU really adds (a hyperthread sibling or a core shared with other tenants adds less than 1×).
    /// </summary>
    public static double RunOnBothCores(int iterations)
    {
        using var ready = new System.Threading.Barrier(2);
        double otherFlops = 0, otherSeconds = 0;
        var other = new System.Threading.Thread(() =>
        {
            ready.SignalAndWait();
            var begin = Stopwatch.GetTimestamp();
            otherFlops = Run(iterations);
            otherSeconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        });
        other.Start();
        ready.SignalAndWait();
        var start = Stopwatch.GetTimestamp();
        var flops = Run(iterations);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        other.Join();
        return (flops / seconds) + (otherFlops / otherSeconds);
    }

    /// <summary>One core's peak in GFLOP/s: the fastest of seven 1-ms runs of the chains on the calling thread.</summary>
    public static double Measure()
    {
        Run(500_000);
        var best = 0.0;
        for (var i = 0; i < 7; i++)
        {
            var start = Stopwatch.GetTimestamp();
            best = Math.Max(best, Run(500_000) / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
        }

        return best;
    }

    /// <summary>Runs the chains and returns the floating-point operations done.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static double Run(int iterations)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            return Run256(iterations);
        }

        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(0.001f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (var i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b);
            c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b);
            c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b);
            c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b);
            c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b);
            c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b);
            c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }

        Sink = Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        return iterations * 12.0 * 16 * 2;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static double Run256(int iterations)
    {
        var a = Vector256.Create(0.999f);
        var b = Vector256.Create(0.001f);
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a;
        for (var i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b);
            c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b);
            c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b);
            c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b);
            c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b);
            c9 = Vector256.FusedMultiplyAdd(c9, a, b);
        }

        Sink = Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9);
        return iterations * 10.0 * 8 * 2;
    }

    /// <summary>Keeps the result observable so the loop is not removed.</summary>
    public static float Sink { get; private set; }
}

/// <summary>A matrix product the benchmarks measure: the MLP 784-256-128-10's training products at batch 64, and squares.</summary>
public sealed record GemmShape(string Name, int M, int K, int N, bool TransposeA, bool TransposeB, bool Accumulate, bool IsTrainingShape = true)
{
    public double Flops => 2.0 * M * N * K;

    /// <summary>
    /// The training products of an MLP 784-256-128-10 at batch 64 in M×K×N, in the form the generated code runs
    /// them (weights stored [inputs × units]): forward X·W; weight gradient Xᵀ·∂Z, accumulated; input gradient
    /// ∂Z·Wᵀ (needed from the second layer on; 64×256×784 is the shape). Then squares.
    /// </summary>
    public static readonly GemmShape[] All =
    [
        new("forward X·W", 64, 784, 256, false, false, false),
        new("forward X·W", 64, 256, 128, false, false, false),
        new("forward X·W", 64, 128, 10, false, false, false),
        new("weight grad Xᵀ·∂Z", 784, 64, 256, true, false, true),
        new("weight grad Xᵀ·∂Z", 256, 64, 128, true, false, true),
        new("input grad ∂Z·Wᵀ", 64, 256, 784, false, true, false),
        new("square A·B", 256, 256, 256, false, false, false, false),
        new("square A·B", 512, 512, 512, false, false, false, false),
        new("square A·B", 1024, 1024, 1024, false, false, false, false),
    ];

    public override string ToString() => $"{M}x{K}x{N}";
}

/// <summary>Random operands for one <see cref="GemmShape"/>.</summary>
public sealed class GemmOperands
{
    private readonly GemmShape _shape;

    public GemmOperands(GemmShape shape)
    {
        _shape = shape;
        var random = new Random(shape.M + shape.N + shape.K);
        A = Enumerable.Range(0, shape.M * shape.K).Select(_ => random.NextSingle() - 0.5f).ToArray();
        B = Enumerable.Range(0, shape.K * shape.N).Select(_ => random.NextSingle() - 0.5f).ToArray();
        C = new float[shape.M * shape.N];
    }

    public float[] A { get; }

    public float[] B { get; }

    public float[] C { get; }

    public void Run() => Gemm.Compute(A, _shape.TransposeA, B, _shape.TransposeB, C, _shape.M, _shape.N, _shape.K, _shape.Accumulate);

    /// <summary>The same product as three plain nested loops (i, j, then p innermost): the baseline of no effort.</summary>
    public void RunNaive()
    {
        var (m, n, k) = (_shape.M, _shape.N, _shape.K);
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = _shape.Accumulate ? C[(i * n) + j] : 0f;
                for (var p = 0; p < k; p++)
                {
                    var a = _shape.TransposeA ? A[(p * m) + i] : A[(i * k) + p];
                    var b = _shape.TransposeB ? B[(j * k) + p] : B[(p * n) + j];
                    sum += a * b;
                }

                C[(i * n) + j] = sum;
            }
        }
    }

    /// <summary>
    /// The same product as one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> per
    /// element, over rows of A and of Bᵀ laid out contiguously beforehand (the layout such code keeps): how a C# MLP
    /// built on TensorPrimitives computes a layer.
    /// </summary>
    public void RunDotPerElement()
    {
        var (m, n, k) = (_shape.M, _shape.N, _shape.K);
        for (var i = 0; i < m; i++)
        {
            var row = RowsOfA.AsSpan(i * k, k);
            for (var j = 0; j < n; j++)
            {
                var dot = TensorPrimitives.Dot(row, ColumnsOfB.AsSpan(j * k, k));
                C[(i * n) + j] = _shape.Accumulate ? C[(i * n) + j] + dot : dot;
            }
        }
    }

    private float[] RowsOfA => _rowsOfA ??= Enumerable.Range(0, _shape.M * _shape.K)
        .Select(e => _shape.TransposeA ? A[((e % _shape.K) * _shape.M) + (e / _shape.K)] : A[e]).ToArray();

    private float[] ColumnsOfB => _columnsOfB ??= Enumerable.Range(0, _shape.N * _shape.K)
        .Select(e => _shape.TransposeB ? B[e] : B[((e % _shape.K) * _shape.N) + (e / _shape.K)]).ToArray();

    private float[]? _rowsOfA;
    private float[]? _columnsOfB;
}
