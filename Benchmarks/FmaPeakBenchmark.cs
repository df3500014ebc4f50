using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace ModelGen.Benchmarks;

/// <summary>
/// The processor's single-core FP32 FMA ceiling, measured in the same run as the kernels so their GFLOP/s can be
/// quoted as a fraction of it: 12 independent Vector512 accumulators (enough to cover FMA latency × throughput),
/// no memory traffic. FLOPs per call: Iterations × 12 accumulators × 16 lanes × 2.
/// </summary>
[MedianColumn]
public class FmaPeakBenchmark
{
    public const int Iterations = 100_000;

    [Benchmark(Description = "FMA peak, Vector512, 12 chains")]
    public float Vector512Peak()
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(0.001f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (var i = 0; i < Iterations; i++)
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

        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
