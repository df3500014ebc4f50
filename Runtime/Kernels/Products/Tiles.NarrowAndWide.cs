using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

// The two tiles for particular shapes: 16 × 1 vector for products at most 16 columns wide, and 6 × 4 vectors for
// AVX-512 products that go by rows or depth over whole 64-column panels (the general tiles are in Tiles.cs).

/// <summary>
/// The micro-kernel for narrow products (at most 16 columns, such as a 10-class output layer): 16 rows × 1 vector,
/// 16 accumulators fed by one loaded B vector and 16 broadcast A elements per step, so a 10-column product wastes 6
/// lanes of 16 rather than 22 of a 32-column tile.
/// </summary>
internal readonly unsafe struct Tile16x1 : ITile
{
    public static int Rows => 16;

    public static int Vectors => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TVector, TSimd>(int depth, float* a, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, Rows, 1, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The tile over an A panel read in place: its 16 rows' values for one step side by side (as packed), and
    /// <paramref name="aStep"/> floats from one step to the next. A transposed (stored [k × m]) is read this way
    /// directly, with its row length as the step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunStrided<TVector, TSimd>(int depth, float* a, long aStep, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, aStep, 1, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The tile over 16 rows of a row-major A read in place: row r at <paramref name="a"/> + r·<paramref name="lda"/>,
    /// contiguous along the steps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRows<TVector, TSimd>(int depth, float* a, long lda, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        Loop<TVector, TSimd>(depth, a, 1, lda, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>
    /// The steps, with A's value for row r of step p at a[p·<paramref name="stepStride"/> + r·<paramref name="rowStride"/>]:
    /// one of the two strides is 1. Four row pointers and three multiples of the row stride address all sixteen rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop<TVector, TSimd>(int depth, float* a, long stepStride, long rowStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var start = bias != null ? TSimd.Load(bias) : TSimd.Zero;
        TVector c0 = start, c1 = start, c2 = start, c3 = start, c4 = start, c5 = start, c6 = start, c7 = start, c8 = start, c9 = start, c10 = start, c11 = start, c12 = start, c13 = start, c14 = start, c15 = start;
        var (rowStride2, rowStride3) = (2 * rowStride, 3 * rowStride);
        float* a4 = a + (4 * rowStride), a8 = a + (8 * rowStride), a12 = a + (12 * rowStride);
        for (var p = 0; p < depth; p++)
        {
            var b0 = TSimd.Load(b);
            c0 = TSimd.MultiplyAdd(TSimd.Broadcast(a[0]), b0, c0);
            c1 = TSimd.MultiplyAdd(TSimd.Broadcast(a[rowStride]), b0, c1);
            c2 = TSimd.MultiplyAdd(TSimd.Broadcast(a[rowStride2]), b0, c2);
            c3 = TSimd.MultiplyAdd(TSimd.Broadcast(a[rowStride3]), b0, c3);
            c4 = TSimd.MultiplyAdd(TSimd.Broadcast(a4[0]), b0, c4);
            c5 = TSimd.MultiplyAdd(TSimd.Broadcast(a4[rowStride]), b0, c5);
            c6 = TSimd.MultiplyAdd(TSimd.Broadcast(a4[rowStride2]), b0, c6);
            c7 = TSimd.MultiplyAdd(TSimd.Broadcast(a4[rowStride3]), b0, c7);
            c8 = TSimd.MultiplyAdd(TSimd.Broadcast(a8[0]), b0, c8);
            c9 = TSimd.MultiplyAdd(TSimd.Broadcast(a8[rowStride]), b0, c9);
            c10 = TSimd.MultiplyAdd(TSimd.Broadcast(a8[rowStride2]), b0, c10);
            c11 = TSimd.MultiplyAdd(TSimd.Broadcast(a8[rowStride3]), b0, c11);
            c12 = TSimd.MultiplyAdd(TSimd.Broadcast(a12[0]), b0, c12);
            c13 = TSimd.MultiplyAdd(TSimd.Broadcast(a12[rowStride]), b0, c13);
            c14 = TSimd.MultiplyAdd(TSimd.Broadcast(a12[rowStride2]), b0, c14);
            c15 = TSimd.MultiplyAdd(TSimd.Broadcast(a12[rowStride3]), b0, c15);
            a += stepStride;
            a4 += stepStride;
            a8 += stepStride;
            a12 += stepStride;
            b += bStride;
        }

        StoreAll<TVector, TSimd>(c, ldc, accumulate, relu, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreAll<TVector, TSimd>(
        float* c, int ldc, bool accumulate, bool relu,
        TVector c0, TVector c1, TVector c2, TVector c3, TVector c4, TVector c5, TVector c6, TVector c7,
        TVector c8, TVector c9, TVector c10, TVector c11, TVector c12, TVector c13, TVector c14, TVector c15)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        Tile.Store<TVector, TSimd>(c + (0L * ldc), c0, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (1L * ldc), c1, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (2L * ldc), c2, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (3L * ldc), c3, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (4L * ldc), c4, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (5L * ldc), c5, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (6L * ldc), c6, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (7L * ldc), c7, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (8L * ldc), c8, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (9L * ldc), c9, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (10L * ldc), c10, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (11L * ldc), c11, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (12L * ldc), c12, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (13L * ldc), c13, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (14L * ldc), c14, accumulate, relu);
        Tile.Store<TVector, TSimd>(c + (15L * ldc), c15, accumulate, relu);
    }
}

/// <summary>
/// The micro-kernel for 6 rows × 4 vectors: 24 accumulators, four loaded B vectors and one broadcast A element in the
/// 32 registers of AVX-512 (29 of them used). Each step loads ten values for 24 multiply-adds, where the 8 × 2 tile
/// loads ten for 16.
/// </summary>
internal readonly unsafe struct Tile6x4 : ITile
{
    public static int Rows => 6;

    public static int Vectors => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TVector, TSimd>(int depth, float* a, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        RunStrided<TVector, TSimd>(depth, a, Rows, b, bStride, c, ldc, accumulate, bias, relu);

    /// <summary>The tile over an A whose six values for a step lie side by side, <paramref name="stepStride"/> floats after the last step's.</summary>
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
    /// <remarks>
    /// One method for both layouts, compiled fully optimized on its own: marked for inlining instead, it was not inlined
    /// (too large) and its first calls ran tier-0 code, at 5 GFLOP/s.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop<TVector, TSimd>(int depth, float* a, long stepStride, long rowStride, float* b, int bStride, float* c, int ldc, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var count = TSimd.Count;
        var (bias0, bias1) = Tile.LoadBias<TVector, TSimd>(bias);
        var (bias2, bias3) = Tile.LoadBias<TVector, TSimd>(bias == null ? null : bias + (2 * count));

        TVector c00 = bias0, c01 = bias1, c02 = bias2, c03 = bias3, c10 = bias0, c11 = bias1, c12 = bias2, c13 = bias3;
        TVector c20 = bias0, c21 = bias1, c22 = bias2, c23 = bias3, c30 = bias0, c31 = bias1, c32 = bias2, c33 = bias3;
        TVector c40 = bias0, c41 = bias1, c42 = bias2, c43 = bias3, c50 = bias0, c51 = bias1, c52 = bias2, c53 = bias3;
        var a3 = a + (3 * rowStride);
        var rowStride2 = 2 * rowStride;
        for (var p = 0; p < depth; p++)
        {
            var b0 = TSimd.Load(b);
            var b1 = TSimd.Load(b + count);
            var b2 = TSimd.Load(b + (2 * count));
            var b3 = TSimd.Load(b + (3 * count));
            var r = TSimd.Broadcast(a[0]);
            c00 = TSimd.MultiplyAdd(r, b0, c00);
            c01 = TSimd.MultiplyAdd(r, b1, c01);
            c02 = TSimd.MultiplyAdd(r, b2, c02);
            c03 = TSimd.MultiplyAdd(r, b3, c03);
            r = TSimd.Broadcast(a[rowStride]);
            c10 = TSimd.MultiplyAdd(r, b0, c10);
            c11 = TSimd.MultiplyAdd(r, b1, c11);
            c12 = TSimd.MultiplyAdd(r, b2, c12);
            c13 = TSimd.MultiplyAdd(r, b3, c13);
            r = TSimd.Broadcast(a[rowStride2]);
            c20 = TSimd.MultiplyAdd(r, b0, c20);
            c21 = TSimd.MultiplyAdd(r, b1, c21);
            c22 = TSimd.MultiplyAdd(r, b2, c22);
            c23 = TSimd.MultiplyAdd(r, b3, c23);
            r = TSimd.Broadcast(a3[0]);
            c30 = TSimd.MultiplyAdd(r, b0, c30);
            c31 = TSimd.MultiplyAdd(r, b1, c31);
            c32 = TSimd.MultiplyAdd(r, b2, c32);
            c33 = TSimd.MultiplyAdd(r, b3, c33);
            r = TSimd.Broadcast(a3[rowStride]);
            c40 = TSimd.MultiplyAdd(r, b0, c40);
            c41 = TSimd.MultiplyAdd(r, b1, c41);
            c42 = TSimd.MultiplyAdd(r, b2, c42);
            c43 = TSimd.MultiplyAdd(r, b3, c43);
            r = TSimd.Broadcast(a3[rowStride2]);
            c50 = TSimd.MultiplyAdd(r, b0, c50);
            c51 = TSimd.MultiplyAdd(r, b1, c51);
            c52 = TSimd.MultiplyAdd(r, b2, c52);
            c53 = TSimd.MultiplyAdd(r, b3, c53);
            a += stepStride;
            a3 += stepStride;
            b += bStride;
        }

        StoreRow<TVector, TSimd>(c, c00, c01, c02, c03, accumulate, relu);
        StoreRow<TVector, TSimd>(c + ldc, c10, c11, c12, c13, accumulate, relu);
        StoreRow<TVector, TSimd>(c + (2L * ldc), c20, c21, c22, c23, accumulate, relu);
        StoreRow<TVector, TSimd>(c + (3L * ldc), c30, c31, c32, c33, accumulate, relu);
        StoreRow<TVector, TSimd>(c + (4L * ldc), c40, c41, c42, c43, accumulate, relu);
        StoreRow<TVector, TSimd>(c + (5L * ldc), c50, c51, c52, c53, accumulate, relu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TVector, TSimd>(float* row, TVector v0, TVector v1, TVector v2, TVector v3, bool accumulate, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        Tile.StoreRow<TVector, TSimd>(row, v0, v1, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(row + (2 * TSimd.Count), v2, v3, accumulate, relu);
    }
}
