using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// Matrix products for dense layers over a whole batch, row-major throughout. A dense layer needs three shapes:
/// forward Y = X·Wᵀ (<see cref="MultiplyTransposed"/>), backward ∂W += ∂Zᵀ·X (<see cref="MultiplyAddTransposedA"/>)
/// and ∂X = ∂Z·W (<see cref="Multiply"/>). Each is register-blocked over 4×4 tiles so that every loaded vector feeds
/// four multiply-adds, and each is written once, generic over the vector width (512, 256 or 128 bits), plus a plain
/// scalar version that is both the fallback and the reference the tests hold the vector code to.
/// </summary>
/// <remarks>
/// No packing or cache blocking yet: the loop orders keep the reused operand small (four rows of W, one column strip
/// of X) so it stays in L1 while the other streams from L2, which suits the layer sizes of this project's models.
/// Large products are split by columns between two threads (<see cref="WorkSplitter"/>); every element is computed
/// the same way on either thread, so the result does not depend on the split.
/// </remarks>
public static unsafe class Gemm
{
    /// <summary>c = a·bᵀ, with a [m×k], b [n×k], c [m×n]: every c[i, j] is the dot product of row i of a and row j of b.</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        CheckShapes(a.Length, m * k, b.Length, n * k, c.Length, m * n, m, n, k);
        if (Vector512.IsHardwareAccelerated && k >= Vector512<float>.Count)
        {
            RunTransposed<Vector512<float>, Simd512>(a, b, c, m, n, k);
        }
        else if (Vector256.IsHardwareAccelerated && k >= Vector256<float>.Count)
        {
            RunTransposed<Vector256<float>, Simd256>(a, b, c, m, n, k);
        }
        else if (Vector128.IsHardwareAccelerated && k >= Vector128<float>.Count)
        {
            RunTransposed<Vector128<float>, Simd128>(a, b, c, m, n, k);
        }
        else
        {
            MultiplyTransposedScalar(a, b, c, m, n, k);
        }
    }

    /// <summary>c += aᵀ·b, with a [k×m], b [k×n], c [m×n].</summary>
    public static void MultiplyAddTransposedA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        CheckShapes(a.Length, k * m, b.Length, k * n, c.Length, m * n, m, n, k);
        MultiplyAdd(a, rowStride: 1, columnStride: m, b, c, m, n, k);
    }

    /// <summary>c = a·b, with a [m×k], b [k×n], c [m×n].</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        CheckShapes(a.Length, m * k, b.Length, k * n, c.Length, m * n, m, n, k);
        c.Clear();
        MultiplyAdd(a, rowStride: k, columnStride: 1, b, c, m, n, k);
    }

    /// <summary>c += A·b where A(i, p) = a[i·rowStride + p·columnStride], so one kernel serves a and aᵀ.</summary>
    private static void MultiplyAdd(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            RunMultiplyAdd<Vector512<float>, Simd512>(a, rowStride, columnStride, b, c, m, n, k);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            RunMultiplyAdd<Vector256<float>, Simd256>(a, rowStride, columnStride, b, c, m, n, k);
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            RunMultiplyAdd<Vector128<float>, Simd128>(a, rowStride, columnStride, b, c, m, n, k);
        }
        else
        {
            MultiplyAddScalar(a, rowStride, columnStride, b, c, m, n, k);
        }
    }

    private static void RunTransposed<TVector, TSimd>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            var arguments = new Arguments { A = pa, B = pb, C = pc, M = m, N = n, K = k };
            WorkSplitter.Run(&TransposedColumns<TVector, TSimd>, &arguments, n, grain: 4, work: (long)m * n * k, reduction: k);
        }
    }

    private static void TransposedColumns<TVector, TSimd>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var x = (Arguments*)context;
        MultiplyTransposed<TVector, TSimd>(
            new ReadOnlySpan<float>(x->A, x->M * x->K), new ReadOnlySpan<float>(x->B, x->N * x->K), new Span<float>(x->C, x->M * x->N),
            x->M, x->N, x->K, from, to);
    }

    private static void RunMultiplyAdd<TVector, TSimd>(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            var arguments = new Arguments { A = pa, B = pb, C = pc, M = m, N = n, K = k, RowStride = rowStride, ColumnStride = columnStride, ALength = a.Length };
            WorkSplitter.Run(&MultiplyAddColumns<TVector, TSimd>, &arguments, n, grain: 4 * TSimd.Count, work: (long)m * n * k, reduction: k);
        }
    }

    private static void MultiplyAddColumns<TVector, TSimd>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var x = (Arguments*)context;
        MultiplyAdd<TVector, TSimd>(
            new ReadOnlySpan<float>(x->A, x->ALength), x->RowStride, x->ColumnStride, new ReadOnlySpan<float>(x->B, x->K * x->N),
            new Span<float>(x->C, x->M * x->N), x->M, x->N, x->K, from, to);
    }

    /// <summary>A product's operands, for the thread that computes part of it: pinned pointers and shapes.</summary>
    private struct Arguments
    {
        public float* A;
        public float* B;
        public float* C;
        public int M;
        public int N;
        public int K;
        public int RowStride;
        public int ColumnStride;
        public int ALength;
    }

    internal static void MultiplyTransposedScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0f;
                for (var p = 0; p < k; p++)
                {
                    sum += a[(i * k) + p] * b[(j * k) + p];
                }

                c[(i * n) + j] = sum;
            }
        }
    }

    internal static void MultiplyAddScalar(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
    {
        for (var i = 0; i < m; i++)
        {
            for (var p = 0; p < k; p++)
            {
                var scale = a[(i * rowStride) + (p * columnStride)];
                for (var j = 0; j < n; j++)
                {
                    c[(i * n) + j] += scale * b[(p * n) + j];
                }
            }
        }
    }

    // c = a·bᵀ. Tiles of 4 rows of a × 4 rows of b: 16 accumulators, each loaded vector used four times. The b
    // tile (four rows) is the outer loop, so it stays in L1 while the rows of a stream past it.
    internal static void MultiplyTransposed<TVector, TSimd>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        MultiplyTransposed<TVector, TSimd>(a, b, c, m, n, k, 0, n);

    /// <summary>Columns [<paramref name="from"/>, <paramref name="to"/>) of c = a·bᵀ; <paramref name="from"/> is a multiple of 4.</summary>
    private static void MultiplyTransposed<TVector, TSimd>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        ref var rc = ref MemoryMarshal.GetReference(c);
        var j = from;
        for (; j + 4 <= to; j += 4)
        {
            var i = 0;
            for (; i + 4 <= m; i += 4)
            {
                DotTile4x4<TVector, TSimd>(ref ra, ref rb, ref rc, i, j, n, k);
            }

            for (; i < m; i++)
            {
                for (var jj = j; jj < j + 4; jj++)
                {
                    Unsafe.Add(ref rc, (i * n) + jj) = Dot<TVector, TSimd>(ref Unsafe.Add(ref ra, i * k), ref Unsafe.Add(ref rb, jj * k), k);
                }
            }
        }

        for (; j < to; j++)
        {
            for (var i = 0; i < m; i++)
            {
                Unsafe.Add(ref rc, (i * n) + j) = Dot<TVector, TSimd>(ref Unsafe.Add(ref ra, i * k), ref Unsafe.Add(ref rb, j * k), k);
            }
        }
    }

    private static void DotTile4x4<TVector, TSimd>(ref float ra, ref float rb, ref float rc, int i, int j, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var a0 = ref Unsafe.Add(ref ra, i * k);
        ref var a1 = ref Unsafe.Add(ref a0, k);
        ref var a2 = ref Unsafe.Add(ref a1, k);
        ref var a3 = ref Unsafe.Add(ref a2, k);
        ref var b0 = ref Unsafe.Add(ref rb, j * k);
        ref var b1 = ref Unsafe.Add(ref b0, k);
        ref var b2 = ref Unsafe.Add(ref b1, k);
        ref var b3 = ref Unsafe.Add(ref b2, k);

        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c02 = TSimd.Zero, c03 = TSimd.Zero;
        TVector c10 = TSimd.Zero, c11 = TSimd.Zero, c12 = TSimd.Zero, c13 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c22 = TSimd.Zero, c23 = TSimd.Zero;
        TVector c30 = TSimd.Zero, c31 = TSimd.Zero, c32 = TSimd.Zero, c33 = TSimd.Zero;
        var p = 0;
        for (; p + TSimd.Count <= k; p += TSimd.Count)
        {
            var offset = (nuint)p;
            var x0 = TSimd.Load(ref a0, offset);
            var x1 = TSimd.Load(ref a1, offset);
            var x2 = TSimd.Load(ref a2, offset);
            var x3 = TSimd.Load(ref a3, offset);

            var y = TSimd.Load(ref b0, offset);
            c00 = TSimd.MultiplyAdd(x0, y, c00);
            c10 = TSimd.MultiplyAdd(x1, y, c10);
            c20 = TSimd.MultiplyAdd(x2, y, c20);
            c30 = TSimd.MultiplyAdd(x3, y, c30);
            y = TSimd.Load(ref b1, offset);
            c01 = TSimd.MultiplyAdd(x0, y, c01);
            c11 = TSimd.MultiplyAdd(x1, y, c11);
            c21 = TSimd.MultiplyAdd(x2, y, c21);
            c31 = TSimd.MultiplyAdd(x3, y, c31);
            y = TSimd.Load(ref b2, offset);
            c02 = TSimd.MultiplyAdd(x0, y, c02);
            c12 = TSimd.MultiplyAdd(x1, y, c12);
            c22 = TSimd.MultiplyAdd(x2, y, c22);
            c32 = TSimd.MultiplyAdd(x3, y, c32);
            y = TSimd.Load(ref b3, offset);
            c03 = TSimd.MultiplyAdd(x0, y, c03);
            c13 = TSimd.MultiplyAdd(x1, y, c13);
            c23 = TSimd.MultiplyAdd(x2, y, c23);
            c33 = TSimd.MultiplyAdd(x3, y, c33);
        }

        ref var row0 = ref Unsafe.Add(ref rc, (i * n) + j);
        ref var row1 = ref Unsafe.Add(ref row0, n);
        ref var row2 = ref Unsafe.Add(ref row1, n);
        ref var row3 = ref Unsafe.Add(ref row2, n);
        row0 = TSimd.Sum(c00) + Tail(ref a0, ref b0, p, k);
        Unsafe.Add(ref row0, 1) = TSimd.Sum(c01) + Tail(ref a0, ref b1, p, k);
        Unsafe.Add(ref row0, 2) = TSimd.Sum(c02) + Tail(ref a0, ref b2, p, k);
        Unsafe.Add(ref row0, 3) = TSimd.Sum(c03) + Tail(ref a0, ref b3, p, k);
        row1 = TSimd.Sum(c10) + Tail(ref a1, ref b0, p, k);
        Unsafe.Add(ref row1, 1) = TSimd.Sum(c11) + Tail(ref a1, ref b1, p, k);
        Unsafe.Add(ref row1, 2) = TSimd.Sum(c12) + Tail(ref a1, ref b2, p, k);
        Unsafe.Add(ref row1, 3) = TSimd.Sum(c13) + Tail(ref a1, ref b3, p, k);
        row2 = TSimd.Sum(c20) + Tail(ref a2, ref b0, p, k);
        Unsafe.Add(ref row2, 1) = TSimd.Sum(c21) + Tail(ref a2, ref b1, p, k);
        Unsafe.Add(ref row2, 2) = TSimd.Sum(c22) + Tail(ref a2, ref b2, p, k);
        Unsafe.Add(ref row2, 3) = TSimd.Sum(c23) + Tail(ref a2, ref b3, p, k);
        row3 = TSimd.Sum(c30) + Tail(ref a3, ref b0, p, k);
        Unsafe.Add(ref row3, 1) = TSimd.Sum(c31) + Tail(ref a3, ref b1, p, k);
        Unsafe.Add(ref row3, 2) = TSimd.Sum(c32) + Tail(ref a3, ref b2, p, k);
        Unsafe.Add(ref row3, 3) = TSimd.Sum(c33) + Tail(ref a3, ref b3, p, k);
    }

    private static float Dot<TVector, TSimd>(ref float x, ref float y, int k)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var sum = TSimd.Zero;
        var p = 0;
        for (; p + TSimd.Count <= k; p += TSimd.Count)
        {
            sum = TSimd.MultiplyAdd(TSimd.Load(ref x, (nuint)p), TSimd.Load(ref y, (nuint)p), sum);
        }

        return TSimd.Sum(sum) + Tail(ref x, ref y, p, k);
    }

    /// <summary>Σ x[p]·y[p] for p from <paramref name="start"/> to k: the elements after the last whole vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(ref float x, ref float y, int start, int k)
    {
        var sum = 0f;
        for (var p = start; p < k; p++)
        {
            sum += Unsafe.Add(ref x, p) * Unsafe.Add(ref y, p);
        }

        return sum;
    }

    // c += A·b. Tiles of 4 rows of c × 4 vectors of columns: per step p, four vectors of row p of b and four
    // broadcast elements of A feed 16 multiply-adds into accumulators that live in registers for the whole k loop.
    internal static void MultiplyAdd<TVector, TSimd>(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector> =>
        MultiplyAdd<TVector, TSimd>(a, rowStride, columnStride, b, c, m, n, k, 0, n);

    /// <summary>Columns [<paramref name="from"/>, <paramref name="to"/>) of c += A·b; <paramref name="from"/> is a multiple of 4 vectors.</summary>
    private static void MultiplyAdd<TVector, TSimd>(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        ref var rc = ref MemoryMarshal.GetReference(c);
        var count = TSimd.Count;
        var j = from;
        for (; j + (4 * count) <= to; j += 4 * count)
        {
            var i = 0;
            for (; i + 4 <= m; i += 4)
            {
                BroadcastTile4x4<TVector, TSimd>(ref ra, rowStride, columnStride, ref rb, ref rc, i, j, n, k);
            }

            for (; i < m; i++)
            {
                for (var v = 0; v < 4; v++)
                {
                    BroadcastRow<TVector, TSimd>(ref ra, rowStride, columnStride, ref rb, ref rc, i, j + (v * count), n, k);
                }
            }
        }

        for (; j + count <= to; j += count)
        {
            for (var i = 0; i < m; i++)
            {
                BroadcastRow<TVector, TSimd>(ref ra, rowStride, columnStride, ref rb, ref rc, i, j, n, k);
            }
        }

        for (; j < to; j++)
        {
            for (var i = 0; i < m; i++)
            {
                var sum = 0f;
                for (var p = 0; p < k; p++)
                {
                    sum += Unsafe.Add(ref ra, (i * rowStride) + (p * columnStride)) * Unsafe.Add(ref rb, (p * n) + j);
                }

                Unsafe.Add(ref rc, (i * n) + j) += sum;
            }
        }
    }

    private static void BroadcastTile4x4<TVector, TSimd>(ref float ra, int rowStride, int columnStride, ref float rb, ref float rc, int i, int j, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var count = (nuint)TSimd.Count;
        ref var a0 = ref Unsafe.Add(ref ra, i * rowStride);
        ref var a1 = ref Unsafe.Add(ref a0, rowStride);
        ref var a2 = ref Unsafe.Add(ref a1, rowStride);
        ref var a3 = ref Unsafe.Add(ref a2, rowStride);

        TVector c00 = TSimd.Zero, c01 = TSimd.Zero, c02 = TSimd.Zero, c03 = TSimd.Zero;
        TVector c10 = TSimd.Zero, c11 = TSimd.Zero, c12 = TSimd.Zero, c13 = TSimd.Zero;
        TVector c20 = TSimd.Zero, c21 = TSimd.Zero, c22 = TSimd.Zero, c23 = TSimd.Zero;
        TVector c30 = TSimd.Zero, c31 = TSimd.Zero, c32 = TSimd.Zero, c33 = TSimd.Zero;
        for (var p = 0; p < k; p++)
        {
            ref var bp = ref Unsafe.Add(ref rb, (p * n) + j);
            var y0 = TSimd.Load(ref bp, 0);
            var y1 = TSimd.Load(ref bp, count);
            var y2 = TSimd.Load(ref bp, 2 * count);
            var y3 = TSimd.Load(ref bp, 3 * count);
            var column = p * columnStride;

            var x = TSimd.Broadcast(Unsafe.Add(ref a0, column));
            c00 = TSimd.MultiplyAdd(x, y0, c00);
            c01 = TSimd.MultiplyAdd(x, y1, c01);
            c02 = TSimd.MultiplyAdd(x, y2, c02);
            c03 = TSimd.MultiplyAdd(x, y3, c03);
            x = TSimd.Broadcast(Unsafe.Add(ref a1, column));
            c10 = TSimd.MultiplyAdd(x, y0, c10);
            c11 = TSimd.MultiplyAdd(x, y1, c11);
            c12 = TSimd.MultiplyAdd(x, y2, c12);
            c13 = TSimd.MultiplyAdd(x, y3, c13);
            x = TSimd.Broadcast(Unsafe.Add(ref a2, column));
            c20 = TSimd.MultiplyAdd(x, y0, c20);
            c21 = TSimd.MultiplyAdd(x, y1, c21);
            c22 = TSimd.MultiplyAdd(x, y2, c22);
            c23 = TSimd.MultiplyAdd(x, y3, c23);
            x = TSimd.Broadcast(Unsafe.Add(ref a3, column));
            c30 = TSimd.MultiplyAdd(x, y0, c30);
            c31 = TSimd.MultiplyAdd(x, y1, c31);
            c32 = TSimd.MultiplyAdd(x, y2, c32);
            c33 = TSimd.MultiplyAdd(x, y3, c33);
        }

        ref var row = ref Unsafe.Add(ref rc, (i * n) + j);
        AddRow<TVector, TSimd>(ref row, c00, c01, c02, c03);
        AddRow<TVector, TSimd>(ref Unsafe.Add(ref row, n), c10, c11, c12, c13);
        AddRow<TVector, TSimd>(ref Unsafe.Add(ref row, 2 * n), c20, c21, c22, c23);
        AddRow<TVector, TSimd>(ref Unsafe.Add(ref row, 3 * n), c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow<TVector, TSimd>(ref float row, TVector v0, TVector v1, TVector v2, TVector v3)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var count = (nuint)TSimd.Count;
        TSimd.Store(TSimd.Add(TSimd.Load(ref row, 0), v0), ref row, 0);
        TSimd.Store(TSimd.Add(TSimd.Load(ref row, count), v1), ref row, count);
        TSimd.Store(TSimd.Add(TSimd.Load(ref row, 2 * count), v2), ref row, 2 * count);
        TSimd.Store(TSimd.Add(TSimd.Load(ref row, 3 * count), v3), ref row, 3 * count);
    }

    /// <summary>One row of c, one vector of columns starting at <paramref name="j"/>: the edges the 4×4 tiles leave.</summary>
    private static void BroadcastRow<TVector, TSimd>(ref float ra, int rowStride, int columnStride, ref float rb, ref float rc, int i, int j, int n, int k)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var ai = ref Unsafe.Add(ref ra, i * rowStride);
        var sum = TSimd.Zero;
        for (var p = 0; p < k; p++)
        {
            sum = TSimd.MultiplyAdd(TSimd.Broadcast(Unsafe.Add(ref ai, p * columnStride)), TSimd.Load(ref rb, (nuint)((p * n) + j)), sum);
        }

        ref var destination = ref Unsafe.Add(ref rc, (i * n) + j);
        TSimd.Store(TSimd.Add(TSimd.Load(ref destination, 0), sum), ref destination, 0);
    }

    private static void CheckShapes(int aLength, int aExpected, int bLength, int bExpected, int cLength, int cExpected, int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (aLength != aExpected || bLength != bExpected || cLength != cExpected)
        {
            throw new ArgumentException(
                $"Matrix shapes disagree: a holds {aLength} floats (expected {aExpected}), b {bLength} (expected {bExpected}), c {cLength} (expected {cExpected}).");
        }
    }
}
