using BenchmarkDotNet.Attributes;

namespace ModelGen.Benchmarks;

/// <summary>
/// The processor's single-core FP32 FMA ceiling, measured in the same run as the kernels so their GFLOP/s can be
/// quoted as a fraction of it: <see cref="FmaPeak"/>'s 12 independent Vector512 accumulators (enough to cover FMA
/// latency × throughput), no memory traffic. FLOPs per call: Iterations × 12 accumulators × 16 lanes × 2.
/// </summary>
[MedianColumn]
public class FmaPeakBenchmark
{
    public const int Iterations = 100_000;

    [Benchmark(Description = "FMA peak, Vector512, 12 chains")]
    public double Vector512Peak() => FmaPeak.Run(Iterations);
}
