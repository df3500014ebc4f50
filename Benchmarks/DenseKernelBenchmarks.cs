using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// One dense layer's three products (784 → 128, batch 32), computed the two ways the generator can emit them: row
/// kernels (a dot product or axpy per row, the "vector loops" strategy) against the register-blocked GEMM. Each
/// category's baseline is the row version, measured in the same run.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MedianColumn]
public class DenseKernelBenchmarks
{
    private const int Batch = 32;
    private const int Inputs = 784;
    private const int Units = 128;

    /// <summary>Threads the GEMM may use (<see cref="KernelSettings.MaxThreads"/>); the row kernels always use one.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private readonly float[] _x = new float[Batch * Inputs];
    private readonly float[] _w = new float[Units * Inputs];
    private readonly float[] _y = new float[Batch * Units];
    private readonly float[] _dz = new float[Batch * Units];
    private readonly float[] _dw = new float[Units * Inputs];
    private readonly float[] _dx = new float[Batch * Inputs];

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.MaxThreads = Threads;
        var random = new Random(3);
        foreach (var array in new[] { _x, _w, _dz })
        {
            for (var i = 0; i < array.Length; i++)
            {
                array[i] = random.NextSingle() - 0.5f;
            }
        }
    }

    [Benchmark(Baseline = true, Description = "rows: y[n,o] = x[n,:]·W[o,:]")]
    [BenchmarkCategory("forward X·Wᵀ")]
    public void ForwardRows()
    {
        for (var n = 0; n < Batch; n++)
        {
            var xn = _x.AsSpan(n * Inputs, Inputs);
            for (var o = 0; o < Units; o++)
            {
                _y[(n * Units) + o] = Blas.Dot(xn, _w.AsSpan(o * Inputs, Inputs));
            }
        }
    }

    [Benchmark(Description = "GEMM MultiplyTransposed")]
    [BenchmarkCategory("forward X·Wᵀ")]
    public void ForwardGemm() => Gemm.MultiplyTransposed(_x, _w, _y, Batch, Units, Inputs);

    [Benchmark(Baseline = true, Description = "rows: dW[o,:] += dz[n,o]·x[n,:]")]
    [BenchmarkCategory("weights ∂Zᵀ·X")]
    public void WeightGradientRows()
    {
        for (var n = 0; n < Batch; n++)
        {
            var xn = _x.AsSpan(n * Inputs, Inputs);
            for (var o = 0; o < Units; o++)
            {
                Blas.Axpy(_dz[(n * Units) + o], xn, _dw.AsSpan(o * Inputs, Inputs));
            }
        }
    }

    [Benchmark(Description = "GEMM MultiplyAddTransposedA")]
    [BenchmarkCategory("weights ∂Zᵀ·X")]
    public void WeightGradientGemm() => Gemm.MultiplyAddTransposedA(_dz, _x, _dw, Units, Inputs, Batch);

    [Benchmark(Baseline = true, Description = "rows: dx[n,:] += dz[n,o]·W[o,:]")]
    [BenchmarkCategory("inputs ∂Z·W")]
    public void InputGradientRows()
    {
        for (var n = 0; n < Batch; n++)
        {
            var dxn = _dx.AsSpan(n * Inputs, Inputs);
            dxn.Clear();
            for (var o = 0; o < Units; o++)
            {
                Blas.Axpy(_dz[(n * Units) + o], _w.AsSpan(o * Inputs, Inputs), dxn);
            }
        }
    }

    [Benchmark(Description = "GEMM Multiply")]
    [BenchmarkCategory("inputs ∂Z·W")]
    public void InputGradientGemm() => Gemm.Multiply(_dz, _w, _dx, Batch, Inputs, Units);
}
