using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels;

/// <summary>
/// Stores as zero the values too small to matter, before they reach the matrix products as subnormal floats: every
/// multiply-add with a subnormal operand takes a microcode assist of a hundred cycles and more on x86.
/// </summary>
internal static class Underflow
{
    /// <summary>
    /// The loss gradients' floor, 2⁻⁶⁴ (about 5·10⁻²⁰). A softmax or sigmoid probability underflows into the subnormal
    /// range once the model is sure enough of a sample (exp(z) for z below −87); whatever such a gradient adds to a
    /// weight's gradient is far below <see cref="OptimizerKernels.GradientFloor"/>, which the optimizers read as zero.
    /// </summary>
    public const float LossGradientFloor = 5.42101086e-20f;

    /// <summary>Sets every value whose magnitude is below <paramref name="threshold"/> (a positive normal number) to zero.</summary>
    public static void FlushBelow(Span<float> values, float threshold)
    {
        var loop = new FlushLoop(values, threshold);
        SimdWidth.Run(ref loop);
    }

    /// <summary>Whole vectors, then the rest one lane at a time through the same body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FlushBelow<TVector, TSimd>(Span<float> values, float threshold)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var done = FlushFrom<TVector, TSimd>(values, threshold, 0);
        FlushFrom<float, Simd1>(values, threshold, done);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FlushFrom<TVector, TSimd>(Span<float> values, float threshold, int start)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var first = ref MemoryMarshal.GetReference(values);
        var floor = TSimd.Broadcast(threshold);
        var i = start;
        for (; i + TSimd.Count <= values.Length; i += TSimd.Count)
        {
            TSimd.Store(TSimd.FlushBelow(TSimd.Load(ref first, (nuint)i), floor), ref first, (nuint)i);
        }

        return i;
    }

    /// <summary>The scalar <see cref="ISimd{TVector}.FlushBelow"/>: zero where |value| &lt; threshold, bit for bit as the vector lanes.</summary>
    public static float Flush(float value, float threshold) => MathF.Abs(value) < threshold ? 0f : value;

    private readonly ref struct FlushLoop(Span<float> values, float threshold) : IVectorLoop
    {
        private readonly Span<float> _values = values;

        public void Run<TVector, TSimd>()
            where TVector : struct
            where TSimd : ISimd<TVector> => FlushBelow<TVector, TSimd>(_values, threshold);
    }
}
