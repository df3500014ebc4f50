using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels;

/// <summary>The code paths of <see cref="Int8Gemm"/>, by the instructions that multiply.</summary>
internal enum Int8Path
{
    /// <summary>Plain loops.</summary>
    Scalar,

    /// <summary>128-bit <c>pmaddubsw</c> + <c>pmaddwd</c>.</summary>
    Ssse3,

    /// <summary>256-bit <c>vpmaddubsw</c> + <c>vpmaddwd</c>.</summary>
    Avx2,

    /// <summary>512-bit <c>vpmaddubsw</c> + <c>vpmaddwd</c> (AVX-512BW).</summary>
    Avx512,

    /// <summary>256-bit <c>vpdpbusd</c> (AVX-VNNI).</summary>
    Vnni,
}

/// <summary>
/// One way to add four u8×s8 products per int32 lane, per path, so that the micro-kernels are written once and the JIT
/// compiles a copy per struct type argument. Every implementation computes the same exact sums (see <see cref="Int8Gemm"/>).
/// </summary>
internal unsafe interface IInt8Dot<TVector>
    where TVector : struct
{
    /// <summary>Int32 lanes, each one column.</summary>
    static abstract int Lanes { get; }

    /// <summary>Rows of the micro-kernel tile: 4, 6 or 8.</summary>
    static abstract int TileRows { get; }

    static abstract TVector Zero { get; }

    /// <summary>One group of <see cref="Lanes"/> columns: four int8 weights per lane.</summary>
    static abstract TVector Load(sbyte* source);

    /// <summary>Four u8 activations (one int) in every lane.</summary>
    static abstract TVector Broadcast(int activations);

    /// <summary>sum + per lane the four products of the activation bytes by the weight bytes, exactly.</summary>
    static abstract TVector DotAdd(TVector sum, TVector activations, TVector weights);

    static abstract TVector Add(TVector left, TVector right);

    static abstract void Store(TVector value, int* destination);
}

/// <summary>AVX-VNNI: <c>vpdpbusd</c> on 256 bits, one instruction per step.</summary>
internal readonly unsafe struct VnniDot : IInt8Dot<Vector256<int>>
{
    public static int Lanes => Vector256<int>.Count;

    public static int TileRows => 6;

    public static Vector256<int> Zero => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(sbyte* source) => Vector256.Load((int*)source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Broadcast(int activations) => Vector256.Create(activations);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd(Vector256<int> sum, Vector256<int> activations, Vector256<int> weights) =>
        AvxVnni.MultiplyWideningAndAdd(sum, activations.AsByte(), weights.AsSByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Add(Vector256<int> left, Vector256<int> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<int> value, int* destination) => value.Store(destination);
}

/// <summary>AVX-512BW: <c>vpmaddubsw</c> (pairs into int16, never saturating on 7-bit activations), <c>vpmaddwd</c> by ones, add.</summary>
internal readonly unsafe struct Avx512Dot : IInt8Dot<Vector512<int>>
{
    public static int Lanes => Vector512<int>.Count;

    public static int TileRows => 8;

    public static Vector512<int> Zero => Vector512<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(sbyte* source) => Vector512.Load((int*)source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Broadcast(int activations) => Vector512.Create(activations);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> DotAdd(Vector512<int> sum, Vector512<int> activations, Vector512<int> weights) =>
        sum + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(activations.AsByte(), weights.AsSByte()), Vector512<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Add(Vector512<int> left, Vector512<int> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<int> value, int* destination) => value.Store(destination);
}

/// <summary>AVX2: <c>vpmaddubsw</c>, <c>vpmaddwd</c> by ones, add, on 256 bits.</summary>
internal readonly unsafe struct Avx2Dot : IInt8Dot<Vector256<int>>
{
    public static int Lanes => Vector256<int>.Count;

    public static int TileRows => 4;

    public static Vector256<int> Zero => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(sbyte* source) => Vector256.Load((int*)source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Broadcast(int activations) => Vector256.Create(activations);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd(Vector256<int> sum, Vector256<int> activations, Vector256<int> weights) =>
        sum + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(activations.AsByte(), weights.AsSByte()), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Add(Vector256<int> left, Vector256<int> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<int> value, int* destination) => value.Store(destination);
}

/// <summary>SSSE3: <c>pmaddubsw</c>, <c>pmaddwd</c> by ones, add, on 128 bits (processors, or runs, without AVX2).</summary>
internal readonly unsafe struct Ssse3Dot : IInt8Dot<Vector128<int>>
{
    public static int Lanes => Vector128<int>.Count;

    public static int TileRows => 4;

    public static Vector128<int> Zero => Vector128<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load(sbyte* source) => Vector128.Load((int*)source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Broadcast(int activations) => Vector128.Create(activations);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotAdd(Vector128<int> sum, Vector128<int> activations, Vector128<int> weights) =>
        sum + Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(activations.AsByte(), weights.AsSByte()), Vector128<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Add(Vector128<int> left, Vector128<int> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<int> value, int* destination) => value.Store(destination);
}
