using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// A register-blocked micro-kernel: C[Rows × Vectors·width] (+)= Σₚ a[p]·b[p] over packed panels, where a holds Rows
/// floats per step p (contiguous) and b holds Vectors vectors per step, <c>bStride</c> floats apart. Accumulators start from the bias (or zero),
/// take one multiply-add per step, and are stored once: added to C when accumulating, clamped at zero for ReLU.
/// </summary>
internal unsafe interface ITile
{
    static abstract int Rows { get; }

    static abstract int Vectors { get; }

    static abstract void Run<TVector, TSimd>(int depth, float* a, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>;

    /// <summary><see cref="Run"/> over an A whose Rows values for a step lie side by side, <paramref name="stepStride"/> floats after the last step's (a transposed A, read in place).</summary>
    static abstract void RunStrided<TVector, TSimd>(int depth, float* a, long stepStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>;

    /// <summary><see cref="Run"/> over a row-major A read in place, rows <paramref name="lda"/> floats apart.</summary>
    static abstract void RunRows<TVector, TSimd>(int depth, float* a, long lda, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>;
}

/// <summary>The bias loads and stores shared by the micro-kernels.</summary>
internal static unsafe class Tile
{
    /// <summary>The two bias vectors a two-vector tile's accumulators start from: zero without a bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (TVector First, TVector Second) LoadBias<TVector, TSimd>(float* bias)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        bias == null ? (TSimd.Zero, TSimd.Zero) : (TSimd.Load(bias), TSimd.Load(bias + TSimd.Count));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TVector, TSimd>(float* destination, TVector value, bool accumulate, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        if (accumulate)
        {
            value = TSimd.Add(value, TSimd.Load(destination));
        }

        if (relu)
        {
            value = TSimd.Max(value, TSimd.Zero);
        }

        TSimd.Store(value, destination);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRow<TVector, TSimd>(float* row, TVector v0, TVector v1, bool accumulate, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var count = TSimd.Count;
        if (accumulate)
        {
            v0 = TSimd.Add(v0, TSimd.Load(row));
            v1 = TSimd.Add(v1, TSimd.Load(row + count));
        }

        if (relu)
        {
            v0 = TSimd.Max(v0, TSimd.Zero);
            v1 = TSimd.Max(v1, TSimd.Zero);
        }

        TSimd.Store(v0, row);
        TSimd.Store(v1, row + count);
    }
}

/// <summary>
/// The micro-kernel for 8 rows × 2 vectors: 16 accumulators, two loaded B vectors and one broadcast A element
/// in the 32 registers of AVX-512.
/// </summary>
internal readonly unsafe struct Tile8x2 : ITile
{
    public static int Rows => 8;

    public static int Vectors => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TVector, TSimd>(int depth, float* a, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, Rows, 1, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The tile over an A panel whose eight values for a step lie side by side, <paramref name="stepStride"/> floats
    /// after the last step's: a packed panel (stride 8), or a transposed A read in place (a weight gradient's: the
    /// layer's input, stored [batch × inputs], with its row length as the stride).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunStrided<TVector, TSimd>(int depth, float* a, long stepStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, stepStride, 1, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The same tile with A read where it lies, row-major with rows <paramref name="lda"/> floats apart, instead of from
    /// a packed panel: a batch-sized A then needs no copy. Eight row streams, each advancing one float per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRows<TVector, TSimd>(int depth, float* a, long lda, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, 1, lda, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The steps, with A's value for row r of step p at a[p·<paramref name="stepStride"/> + r·<paramref name="rowStride"/>]:
    /// one of the two strides is 1 (a packed or transposed A, or a row-major one).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop<TVector, TSimd>(int depth, float* a, long stepStride, long rowStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var count = TSimd.Count;
        var (bias0, bias1) = Tile.LoadBias<TVector, TSimd>(bias);

        TVector c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1, c60 = bias0, c61 = bias1, c70 = bias0, c71 = bias1;
        var (rowStride2, rowStride3) = (2 * rowStride, 3 * rowStride);
        var a4 = a + (4 * rowStride);
        for (var p = 0; p < depth; p++)
        {
            var b0 = TSimd.Load(b);
            var b1 = TSimd.Load(b + count);
            var r = TSimd.Broadcast(a[0]);
            c00 = TSimd.MultiplyAdd(r, b0, c00);
            c01 = TSimd.MultiplyAdd(r, b1, c01);
            r = TSimd.Broadcast(a[rowStride]);
            c10 = TSimd.MultiplyAdd(r, b0, c10);
            c11 = TSimd.MultiplyAdd(r, b1, c11);
            r = TSimd.Broadcast(a[rowStride2]);
            c20 = TSimd.MultiplyAdd(r, b0, c20);
            c21 = TSimd.MultiplyAdd(r, b1, c21);
            r = TSimd.Broadcast(a[rowStride3]);
            c30 = TSimd.MultiplyAdd(r, b0, c30);
            c31 = TSimd.MultiplyAdd(r, b1, c31);
            r = TSimd.Broadcast(a4[0]);
            c40 = TSimd.MultiplyAdd(r, b0, c40);
            c41 = TSimd.MultiplyAdd(r, b1, c41);
            r = TSimd.Broadcast(a4[rowStride]);
            c50 = TSimd.MultiplyAdd(r, b0, c50);
            c51 = TSimd.MultiplyAdd(r, b1, c51);
            r = TSimd.Broadcast(a4[rowStride2]);
            c60 = TSimd.MultiplyAdd(r, b0, c60);
            c61 = TSimd.MultiplyAdd(r, b1, c61);
            r = TSimd.Broadcast(a4[rowStride3]);
            c70 = TSimd.MultiplyAdd(r, b0, c70);
            c71 = TSimd.MultiplyAdd(r, b1, c71);
            a += stepStride;
            a4 += stepStride;
            b += bStride;
        }

        StoreAll<TVector, TSimd>(c, ldc, accumulate, relu, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreAll<TVector, TSimd>(
        float* c, int ldc, bool accumulate, bool relu,
        TVector c00, TVector c01, TVector c10, TVector c11, TVector c20, TVector c21, TVector c30, TVector c31,
        TVector c40, TVector c41, TVector c50, TVector c51, TVector c60, TVector c61, TVector c70, TVector c71)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        Tile.StoreRow<TVector, TSimd>(c + (0L * ldc), c00, c01, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (1L * ldc), c10, c11, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (2L * ldc), c20, c21, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (3L * ldc), c30, c31, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (4L * ldc), c40, c41, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (5L * ldc), c50, c51, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (6L * ldc), c60, c61, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (7L * ldc), c70, c71, accumulate, relu);
    }
}

/// <summary>
/// The micro-kernel for 6 rows × 2 vectors: 12 accumulators, two loaded B vectors and one broadcast A element
/// in the 16 registers of AVX2 or SSE (15 of them used).
/// </summary>
internal readonly unsafe struct Tile6x2 : ITile
{
    public static int Rows => 6;

    public static int Vectors => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TVector, TSimd>(int depth, float* a, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, Rows, 1, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>The tile over an A panel whose six values for a step lie side by side, <paramref name="stepStride"/> floats after the last step's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunStrided<TVector, TSimd>(int depth, float* a, long stepStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, stepStride, 1, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>The tile with a row-major A read where it lies, rows <paramref name="lda"/> floats apart: six row streams.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRows<TVector, TSimd>(int depth, float* a, long lda, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, 1, lda, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The steps, with A's value for row r of step p at a[p·<paramref name="stepStride"/> + r·<paramref name="rowStride"/>]:
    /// one of the two strides is 1 (a packed or transposed A, or a row-major one).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop<TVector, TSimd>(int depth, float* a, long stepStride, long rowStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var count = TSimd.Count;
        var (bias0, bias1) = Tile.LoadBias<TVector, TSimd>(bias);

        TVector c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1;
        var rowStride2 = 2 * rowStride;
        var a3 = a + (3 * rowStride);
        for (var p = 0; p < depth; p++)
        {
            var b0 = TSimd.Load(b);
            var b1 = TSimd.Load(b + count);
            var r = TSimd.Broadcast(a[0]);
            c00 = TSimd.MultiplyAdd(r, b0, c00);
            c01 = TSimd.MultiplyAdd(r, b1, c01);
            r = TSimd.Broadcast(a[rowStride]);
            c10 = TSimd.MultiplyAdd(r, b0, c10);
            c11 = TSimd.MultiplyAdd(r, b1, c11);
            r = TSimd.Broadcast(a[rowStride2]);
            c20 = TSimd.MultiplyAdd(r, b0, c20);
            c21 = TSimd.MultiplyAdd(r, b1, c21);
            r = TSimd.Broadcast(a3[0]);
            c30 = TSimd.MultiplyAdd(r, b0, c30);
            c31 = TSimd.MultiplyAdd(r, b1, c31);
            r = TSimd.Broadcast(a3[rowStride]);
            c40 = TSimd.MultiplyAdd(r, b0, c40);
            c41 = TSimd.MultiplyAdd(r, b1, c41);
            r = TSimd.Broadcast(a3[rowStride2]);
            c50 = TSimd.MultiplyAdd(r, b0, c50);
            c51 = TSimd.MultiplyAdd(r, b1, c51);
            a += stepStride;
            a3 += stepStride;
            b += bStride;
        }

        StoreAll<TVector, TSimd>(c, ldc, accumulate, relu, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreAll<TVector, TSimd>(
        float* c, int ldc, bool accumulate, bool relu,
        TVector c00, TVector c01, TVector c10, TVector c11, TVector c20, TVector c21, TVector c30, TVector c31, TVector c40, TVector c41, TVector c50, TVector c51)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        Tile.StoreRow<TVector, TSimd>(c + (0L * ldc), c00, c01, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (1L * ldc), c10, c11, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (2L * ldc), c20, c21, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (3L * ldc), c30, c31, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (4L * ldc), c40, c41, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (5L * ldc), c50, c51, accumulate, relu);
    }
}
