using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        if (Vector512.IsHardwareAccelerated)
        {
            FlushBelow<Vector512<float>, Simd512>(values, threshold);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            FlushBelow<Vector256<float>, Simd256>(values, threshold);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            FlushBelow<Vector128<float>, Simd128>(values, threshold);
        }
        else
        {
            FlushTail(values, threshold, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FlushBelow<TVector, TSimd>(Span<float> values, float threshold)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var start = ref MemoryMarshal.GetReference(values);
        var floor = TSimd.Broadcast(threshold);
        var i = 0;
        for (; i + TSimd.Count <= values.Length; i += TSimd.Count)
        {
            TSimd.Store(TSimd.FlushBelow(TSimd.Load(ref start, (nuint)i), floor), ref start, (nuint)i);
        }

        FlushTail(values, threshold, i);
    }

    private static void FlushTail(Span<float> values, float threshold, int start)
    {
        for (var i = start; i < values.Length; i++)
        {
            values[i] = Flush(values[i], threshold);
        }
    }

    /// <summary>The scalar <see cref="ISimd{TVector}.FlushBelow"/>: zero where |value| &lt; threshold, bit for bit as the vector lanes.</summary>
    public static float Flush(float value, float threshold) => MathF.Abs(value) < threshold ? 0f : value;
}
