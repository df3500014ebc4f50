using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels;

/// <summary>An element-wise operation dy ← op(y, dy), written once for every width through <see cref="ISimd{TVector}"/>.</summary>
internal interface IGradientOperator
{
    static abstract TVector Invoke<TVector, TSimd>(TVector y, TVector dy)
        where TVector : struct
        where TSimd : ISimd<TVector>;
}

/// <summary>
/// Drives an <see cref="IGradientOperator"/> over two spans with the widest vectors the processor accelerates
/// (<see cref="SimdWidth"/>), the last elements one lane at a time through the same operator. Each width is also
/// callable on its own so tests can check every path.
/// </summary>
internal static class GradientKernel
{
    public static void Apply<TOperator>(ReadOnlySpan<float> outputs, Span<float> gradient)
        where TOperator : IGradientOperator
    {
        if (outputs.Length != gradient.Length)
        {
            throw new ArgumentException($"The outputs hold {outputs.Length} floats but the gradient {gradient.Length}.", nameof(gradient));
        }

        var loop = new Loop<TOperator>(outputs, gradient);
        SimdWidth.Run(ref loop);
    }

    /// <summary>The whole span at one width: whole vectors, then the rest one lane at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<TOperator, TVector, TSimd>(ReadOnlySpan<float> outputs, Span<float> gradient)
        where TOperator : IGradientOperator
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var done = ApplyFrom<TOperator, TVector, TSimd>(outputs, gradient, 0);
        ApplyFrom<TOperator, float, Simd1>(outputs, gradient, done);
    }

    /// <summary>Whole vectors from <paramref name="start"/> on; returns the first element left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ApplyFrom<TOperator, TVector, TSimd>(ReadOnlySpan<float> outputs, Span<float> gradient, int start)
        where TOperator : IGradientOperator
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var y = ref MemoryMarshal.GetReference(outputs);
        ref var dy = ref MemoryMarshal.GetReference(gradient);
        var i = start;
        for (; i + TSimd.Count <= gradient.Length; i += TSimd.Count)
        {
            var offset = (nuint)i;
            TSimd.Store(TOperator.Invoke<TVector, TSimd>(TSimd.Load(ref y, offset), TSimd.Load(ref dy, offset)), ref dy, offset);
        }

        return i;
    }

    private readonly ref struct Loop<TOperator>(ReadOnlySpan<float> outputs, Span<float> gradient) : IVectorLoop
        where TOperator : IGradientOperator
    {
        private readonly ReadOnlySpan<float> _outputs = outputs;
        private readonly Span<float> _gradient = gradient;

        public void Run<TVector, TSimd>()
            where TVector : struct
            where TSimd : ISimd<TVector> => Apply<TOperator, TVector, TSimd>(_outputs, _gradient);
    }
}
