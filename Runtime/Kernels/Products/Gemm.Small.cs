using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

// Shapes the blocked loops serve badly: products of a few rows (one sample's Predict) and products at most 16
// columns wide (a classifier's output layer).
public static unsafe partial class Gemm
{
    /// <summary>
    /// Products of at most this many rows with a row-major B (one sample's forward pass, <c>Predict</c>) skip the
    /// blocked loops: packing B (a whole weight matrix) cost 25 times the multiply-adds of a single row.
    /// </summary>
    internal const int SmallRowCount = 4;

    /// <summary>Vectors of a C row the few-rows path computes at once: one accumulator chain each.</summary>
    private const int SmallRowVectors = 4;

    private static bool UsesSmallRows(GemmTuning tuning, int m, bool transposeB) => tuning.SmallRows && m <= SmallRowCount && !transposeB;

    /// <summary>
    /// A product of at most <see cref="SmallRowCount"/> rows, row by row: four vectors of C's row are accumulated over
    /// B's rows read where they lie (each a contiguous run of the block's columns), so B is read once per row and
    /// never copied. The arithmetic is the blocked path's, element for element: the same depth blocks, each a chain of
    /// fused multiply-adds from the bias (first block) or zero, added to C as a tile's store adds it, ReLU at the last.
    /// So a sample predicted alone gets the bits it gets inside a batch. Columns past the last whole four vectors go
    /// through a zero-padded copy of that strip of B and a scratch row, as the blocked path's edge tiles do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallRows<TVector, TSimd>(Problem* x)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var width = SmallRowVectors * TSimd.Count;
        var strip = PackingBuffers.ForCurrentThread().B;
        var packedRow = PackingBuffers.ForCurrentThread().A;
        var scratch = stackalloc float[width];
        var edgeBias = stackalloc float[width];
        for (var jb = 0; jb < x->N; jb += width)
        {
            var nr = Math.Min(width, x->N - jb);
            var whole = nr == width;
            var bias = PaddedBias(x->Bias == null ? null : x->Bias + jb, nr, width, edgeBias);

            var depthStep = DepthStep(x->K);
            for (var pc = 0; pc < x->K || pc == 0; pc += depthStep)
            {
                var kc = Math.Min(depthStep, x->K - pc);
                var first = pc == 0;
                var last = pc + kc >= x->K;
                var accumulate = !first || x->Accumulate;
                var relu = last && x->Relu;
                var b = x->B.Data + ((long)pc * x->B.RowStride) + jb;
                long bStride = x->B.RowStride;
                if (!whole)
                {
                    // The strip's last columns as one zero-padded panel, which is what packing B makes of them.
                    Packing.PackB(x->B, pc, jb, kc, nr, width, strip);
                    b = strip;
                    bStride = width;
                }

                for (var i = 0; i < x->M; i++)
                {
                    var a = x->A.Data + ((long)i * x->A.RowStride) + ((long)pc * x->A.ColumnStride);
                    var aStep = (long)x->A.ColumnStride;
                    if (!x->A.InMemory)
                    {
                        // A window operand's row, packed as a panel of one row: its values side by side.
                        Packing.PackA(x->A, i, pc, 1, kc, 1, packedRow);
                        a = packedRow;
                        aStep = 1;
                    }

                    var row = x->C + ((long)i * x->N) + jb;
                    var blockBias = first ? bias : null;
                    if (whole)
                    {
                        SmallRowStrip<TVector, TSimd>(kc, a, aStep, b, bStride, row, accumulate, blockBias, relu);
                    }
                    else
                    {
                        SmallRowStrip<TVector, TSimd>(kc, a, aStep, b, bStride, scratch, accumulate: false, blockBias, relu: false);
                        WriteEdge(scratch, width, row, x->N, 1, nr, accumulate, relu, x->Tuning.MaskedEdges);
                    }
                }

                if (x->K == 0)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// One row's <see cref="SmallRowVectors"/> vectors of C over <paramref name="depth"/> steps:
    /// c (+)= Σₚ a[p·aStep]·b[p·bStride ..]. The row is bound by reading B (eight chains instead of four measured the same).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallRowStrip<TVector, TSimd>(int depth, float* a, long aStep, float* b, long bStride, float* c, bool accumulate, float* bias, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var n = TSimd.Count;
        TVector c0 = TSimd.Zero, c1 = TSimd.Zero, c2 = TSimd.Zero, c3 = TSimd.Zero;
        if (bias != null)
        {
            (c0, c1, c2, c3) = (TSimd.Load(bias), TSimd.Load(bias + n), TSimd.Load(bias + (2 * n)), TSimd.Load(bias + (3 * n)));
        }

        for (var p = 0; p < depth; p++)
        {
            var value = TSimd.Broadcast(*a);
            c0 = TSimd.MultiplyAdd(value, TSimd.Load(b), c0);
            c1 = TSimd.MultiplyAdd(value, TSimd.Load(b + n), c1);
            c2 = TSimd.MultiplyAdd(value, TSimd.Load(b + (2 * n)), c2);
            c3 = TSimd.MultiplyAdd(value, TSimd.Load(b + (3 * n)), c3);
            a += aStep;
            b += bStride;
        }

        Tile.StoreRow<TVector, TSimd>(c, c0, c1, accumulate, relu);
        Tile.StoreRow<TVector, TSimd>(c + (2 * n), c2, c3, accumulate, relu);
    }

    /// <summary>
    /// Rows [<paramref name="from"/>, <paramref name="to"/>) of a product at most 16 columns wide (a classifier's
    /// output layer), with Vector512: B is packed once per depth block into one 16-wide panel, and A is read where it
    /// lies. Packing A cost more than the product itself at these sizes (64×128×10: 1.4 µs to pack A and 2.6 µs to
    /// pack B, against about 1.5 µs of multiply-adds), and a 16-row tile reads A well in place: 16 rows of a row-major
    /// A are 16 sequential streams, and a transposed A already holds each step's 16 values side by side. Only a last,
    /// partial group of rows is packed (in place it would read past the matrix), and a window operand's rows (no matrix).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow(void* context, int from, int to)
    {
        const int Rows = 16, Width = 16;
        var x = (Problem*)context;
        var buffers = PackingBuffers.ForCurrentThread();
        var scratch = stackalloc float[Rows * Width];
        var biasBuffer = stackalloc float[Width];
        var bias = PaddedBias(x->Bias, x->N, Width, biasBuffer);

        var rowMajor = x->A.ColumnStride == 1;
        // The depth blocks every other path sums in (DepthStep), so that a narrow product has the bits the AVX2 and
        // scalar paths give it: deeper products (a convolution's weight gradient sums thousands of windows) once
        // summed in blocks of 4096 here and so differed from them in the last bits.
        var depthStep = DepthStep(x->K);
        for (var pc = 0; pc < x->K || pc == 0; pc += depthStep)
        {
            var kc = Math.Min(depthStep, x->K - pc);
            var accumulate = pc > 0 || x->Accumulate;
            var blockBias = pc == 0 ? bias : null;
            var relu = pc + kc >= x->K && x->Relu;
            PackNarrowB(x->B, pc, kc, x->N, x->K, buffers.B);
            for (var i = from; i < to; i += Rows)
            {
                var mr = Math.Min(Rows, to - i);
                var origin = x->A.Data + ((long)i * x->A.RowStride) + ((long)pc * x->A.ColumnStride);
                if (mr < Rows || !x->A.InMemory)
                {
                    Packing.PackA(x->A, i, pc, mr, kc, Rows, buffers.A);
                    Tile16x1.Run<Vector512<float>, Simd512>(kc, buffers.A, buffers.B, Width, scratch, Width, accumulate: false, blockBias, relu: false);
                }
                else if (rowMajor)
                {
                    Tile16x1.RunRows<Vector512<float>, Simd512>(kc, origin, x->A.RowStride, buffers.B, Width, scratch, Width, accumulate: false, blockBias, relu: false);
                }
                else
                {
                    Tile16x1.RunStrided<Vector512<float>, Simd512>(kc, origin, x->A.ColumnStride, buffers.B, Width, scratch, Width, accumulate: false, blockBias, relu: false);
                }

                WriteEdge(scratch, Width, x->C + ((long)i * x->N), x->N, mr, x->N, accumulate, relu, x->Tuning.MaskedEdges);
            }

            if (x->K == 0)
            {
                break;
            }
        }
    }

    /// <summary>
    /// B[pc.., 0..n) (kc × n, n ≤ 16) as one panel of 16 columns, zero beyond n. A row-major B is copied one step at a
    /// time as a masked vector (where a whole vector can be read without passing the end of B), anything else
    /// through the general packing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackNarrowB(Operand b, int pc, int kc, int n, int k, float* destination)
    {
        if (b.ColumnStride != 1)
        {
            Packing.PackB(b, pc, 0, kc, n, Vector512<float>.Count, destination);
            return;
        }

        var keep = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();
        var total = (long)k * b.RowStride;
        for (var p = 0; p < kc; p++)
        {
            var start = (long)(pc + p) * b.RowStride;
            var target = destination + (p * Vector512<float>.Count);
            if (start + Vector512<float>.Count <= total)
            {
                Vector512.ConditionalSelect(keep, Vector512.Load(b.Data + start), Vector512<float>.Zero).Store(target);
            }
            else
            {
                Vector512<float>.Zero.Store(target);
                new ReadOnlySpan<float>(b.Data + start, n).CopyTo(new Span<float>(target, n));
            }
        }
    }
}
