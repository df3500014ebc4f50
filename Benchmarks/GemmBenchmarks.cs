using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// <see cref="Gemm"/> on the MLP 784-256-128-10's training products at batch 64 and on squares, on one thread and
/// on two. GFLOP/s = <see cref="GemmShape.Flops"/> / the median; compare with <see cref="FmaPeakBenchmark"/> measured
/// in the same process. Run: <c>dotnet run -c Release --project Benchmarks -- --filter *GemmBenchmarks* *FmaPeak*</c>.
/// </summary>
[MedianColumn]
public class GemmBenchmarks
{
    private GemmOperands _operands = null!;

    public static IEnumerable<GemmShape> Shapes => GemmShape.All;

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.All[0];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.MaxThreads = Threads;
        _operands = new GemmOperands(Shape);
    }

    [Benchmark]
    public void Blocked() => _operands.Run();
}

/// <summary>
/// The baselines on one thread, beside <see cref="Gemm"/>: a naive triple loop and one TensorPrimitives.Dot per
/// element. Squares of 512 and more are left out: the naive loop needs seconds per call there.
/// </summary>
[MedianColumn]
public class GemmBaselineBenchmarks
{
    private GemmOperands _operands = null!;

    public static IEnumerable<GemmShape> Shapes => GemmShape.All.Where(s => s.Flops < 100_000_000);

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.All[0];

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.MaxThreads = 1;
        _operands = new GemmOperands(Shape);
    }

    [Benchmark(Baseline = true)]
    public void Naive() => _operands.RunNaive();

    [Benchmark]
    public void DotPerElement() => _operands.RunDotPerElement();

    [Benchmark]
    public void Blocked() => _operands.Run();
}
