using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>An element-wise operation dy ← op(y, dy), written once per vector width.</summary>
internal interface IGradientOperator
{
    static abstract float Invoke(float y, float dy);

    static abstract Vector128<float> Invoke(Vector128<float> y, Vector128<float> dy);

    static abstract Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy);

    static abstract Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy);
}

/// <summary>
/// Drives an <see cref="IGradientOperator"/> over two spans with the widest vectors the processor accelerates,
/// 512 → 256 → 128 bits, then scalar. Each width is also callable on its own so tests can check every path.
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

        if (Vector512.IsHardwareAccelerated && gradient.Length >= Vector512<float>.Count)
        {
            ApplyVector512<TOperator>(outputs, gradient);
        }
        else if (Vector256.IsHardwareAccelerated && gradient.Length >= Vector256<float>.Count)
        {
            ApplyVector256<TOperator>(outputs, gradient);
        }
        else if (Vector128.IsHardwareAccelerated && gradient.Length >= Vector128<float>.Count)
        {
            ApplyVector128<TOperator>(outputs, gradient);
        }
        else
        {
            ApplyScalar<TOperator>(outputs, gradient);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyScalar<TOperator>(ReadOnlySpan<float> outputs, Span<float> gradient)
        where TOperator : IGradientOperator
    {
        for (var i = 0; i < gradient.Length; i++)
        {
            gradient[i] = TOperator.Invoke(outputs[i], gradient[i]);
        }
    }

    // Each vector path needs length ≥ one vector. The last, possibly overlapping vector is loaded before the loop
    // writes anything and stored after it: recomputed elements get the same value, not the operation applied twice.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyVector512<TOperator>(ReadOnlySpan<float> outputs, Span<float> gradient)
        where TOperator : IGradientOperator
    {
        ref var y = ref MemoryMarshal.GetReference(outputs);
        ref var dy = ref MemoryMarshal.GetReference(gradient);
        var count = (nuint)Vector512<float>.Count;
        var tail = (nuint)gradient.Length - count;
        var lastResult = TOperator.Invoke(Vector512.LoadUnsafe(ref y, tail), Vector512.LoadUnsafe(ref dy, tail));
        for (nuint i = 0; i < tail; i += count)
        {
            TOperator.Invoke(Vector512.LoadUnsafe(ref y, i), Vector512.LoadUnsafe(ref dy, i)).StoreUnsafe(ref dy, i);
        }

        lastResult.StoreUnsafe(ref dy, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyVector256<TOperator>(ReadOnlySpan<float> outputs, Span<float> gradient)
        where TOperator : IGradientOperator
    {
        ref var y = ref MemoryMarshal.GetReference(outputs);
        ref var dy = ref MemoryMarshal.GetReference(gradient);
        var count = (nuint)Vector256<float>.Count;
        var tail = (nuint)gradient.Length - count;
        var lastResult = TOperator.Invoke(Vector256.LoadUnsafe(ref y, tail), Vector256.LoadUnsafe(ref dy, tail));
        for (nuint i = 0; i < tail; i += count)
        {
            TOperator.Invoke(Vector256.LoadUnsafe(ref y, i), Vector256.LoadUnsafe(ref dy, i)).StoreUnsafe(ref dy, i);
        }

        lastResult.StoreUnsafe(ref dy, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyVector128<TOperator>(ReadOnlySpan<float> outputs, Span<float> gradient)
        where TOperator : IGradientOperator
    {
        ref var y = ref MemoryMarshal.GetReference(outputs);
        ref var dy = ref MemoryMarshal.GetReference(gradient);
        var count = (nuint)Vector128<float>.Count;
        var tail = (nuint)gradient.Length - count;
        var lastResult = TOperator.Invoke(Vector128.LoadUnsafe(ref y, tail), Vector128.LoadUnsafe(ref dy, tail));
        for (nuint i = 0; i < tail; i += count)
        {
            TOperator.Invoke(Vector128.LoadUnsafe(ref y, i), Vector128.LoadUnsafe(ref dy, i)).StoreUnsafe(ref dy, i);
        }

        lastResult.StoreUnsafe(ref dy, tail);
    }
}
