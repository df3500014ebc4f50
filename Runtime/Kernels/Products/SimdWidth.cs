using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>A loop written once for every vector width through <see cref="ISimd{TVector}"/>, started by <see cref="SimdWidth.Run"/>.</summary>
internal interface IVectorLoop
{
    void Run<TVector, TSimd>()
        where TVector : struct
        where TSimd : ISimd<TVector>;
}

/// <summary>The one place an element-wise kernel's vector width is chosen.</summary>
internal static class SimdWidth
{
    /// <summary>
    /// Runs <paramref name="loop"/> at the widest width the processor accelerates, 512 → 256 → 128 bits, and one lane at
    /// a time (<see cref="Simd1"/>) without vector hardware. The JIT folds the tests to the one branch taken.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TLoop>(ref TLoop loop)
        where TLoop : IVectorLoop, allows ref struct
    {
        if (Vector512.IsHardwareAccelerated)
        {
            loop.Run<Vector512<float>, Simd512>();
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            loop.Run<Vector256<float>, Simd256>();
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            loop.Run<Vector128<float>, Simd128>();
        }
        else
        {
            loop.Run<float, Simd1>();
        }
    }
}
