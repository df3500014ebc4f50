using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>The int8 products' inner loops: the vector micro-kernels (a tile of rows, one row) and the scalar path.</summary>
public static unsafe partial class Int8Gemm
{
    /// <summary>
    /// The micro-kernel: <c>TDot.TileRows</c> rows × 2 vectors of sums over all groups, rows read in place
    /// <paramref name="lda"/> bytes apart (then, if <paramref name="hasTail"/>, one more group from the zero-padded
    /// <paramref name="tails"/>), stored to <paramref name="c"/> as rows of 2·Lanes int32. Written for 8 rows; the
    /// rows a path does not use are constant-false branches the JIT removes, with their accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TVector, TDot>(int groups, bool hasTail, byte* a, long lda, byte* tails, sbyte* b0, sbyte* b1, int* c)
        where TVector : struct
        where TDot : IInt8Dot<TVector>
    {
        var rows = TDot.TileRows;
        TVector c00 = TDot.Zero, c01 = TDot.Zero, c10 = TDot.Zero, c11 = TDot.Zero, c20 = TDot.Zero, c21 = TDot.Zero, c30 = TDot.Zero, c31 = TDot.Zero;
        TVector c40 = TDot.Zero, c41 = TDot.Zero, c50 = TDot.Zero, c51 = TDot.Zero, c60 = TDot.Zero, c61 = TDot.Zero, c70 = TDot.Zero, c71 = TDot.Zero;
        for (var pass = 0; pass < 2; pass++)
        {
            if (pass == 1)
            {
                if (!hasTail)
                {
                    break;
                }

                // The partial last group: the same steps over the padded copy, rows four bytes apart.
                a = tails;
                lda = GroupDepth;
                groups = 1;
            }

            var lda3 = 3 * lda;
            var a4 = a + (4 * lda);
            for (var g = 0; g < groups; g++)
            {
                var w0 = TDot.Load(b0);
                var w1 = TDot.Load(b1);
                var x0 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a));
                c00 = TDot.DotAdd(c00, x0, w0);
                c01 = TDot.DotAdd(c01, x0, w1);
                var x1 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a + lda));
                c10 = TDot.DotAdd(c10, x1, w0);
                c11 = TDot.DotAdd(c11, x1, w1);
                var x2 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a + (2 * lda)));
                c20 = TDot.DotAdd(c20, x2, w0);
                c21 = TDot.DotAdd(c21, x2, w1);
                var x3 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a + lda3));
                c30 = TDot.DotAdd(c30, x3, w0);
                c31 = TDot.DotAdd(c31, x3, w1);
                if (rows > 4)
                {
                    var x4 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a4));
                    c40 = TDot.DotAdd(c40, x4, w0);
                    c41 = TDot.DotAdd(c41, x4, w1);
                    var x5 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a4 + lda));
                    c50 = TDot.DotAdd(c50, x5, w0);
                    c51 = TDot.DotAdd(c51, x5, w1);
                }

                if (rows > 6)
                {
                    var x6 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a4 + (2 * lda)));
                    c60 = TDot.DotAdd(c60, x6, w0);
                    c61 = TDot.DotAdd(c61, x6, w1);
                    var x7 = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a4 + lda3));
                    c70 = TDot.DotAdd(c70, x7, w0);
                    c71 = TDot.DotAdd(c71, x7, w1);
                }

                a += GroupDepth;
                a4 += GroupDepth;
                b0 += GroupBytes;
                b1 += GroupBytes;
            }
        }

        var lanes = TDot.Lanes;
        TDot.Store(c00, c);
        TDot.Store(c01, c + lanes);
        TDot.Store(c10, c + (2 * lanes));
        TDot.Store(c11, c + (3 * lanes));
        TDot.Store(c20, c + (4 * lanes));
        TDot.Store(c21, c + (5 * lanes));
        TDot.Store(c30, c + (6 * lanes));
        TDot.Store(c31, c + (7 * lanes));
        if (rows > 4)
        {
            TDot.Store(c40, c + (8 * lanes));
            TDot.Store(c41, c + (9 * lanes));
            TDot.Store(c50, c + (10 * lanes));
            TDot.Store(c51, c + (11 * lanes));
        }

        if (rows > 6)
        {
            TDot.Store(c60, c + (12 * lanes));
            TDot.Store(c61, c + (13 * lanes));
            TDot.Store(c70, c + (14 * lanes));
            TDot.Store(c71, c + (15 * lanes));
        }
    }

    /// <summary>
    /// One row × <see cref="RowVectors"/> vectors of sums (a single sample's product), stored to <paramref name="c"/>
    /// side by side. Even and odd groups go to two sets of sums, added at the end: eight independent chains.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<TVector, TDot>(int groups, bool hasTail, byte* a, byte* tails, sbyte* b0, sbyte* b1, sbyte* b2, sbyte* b3, int* c)
        where TVector : struct
        where TDot : IInt8Dot<TVector>
    {
        TVector s0 = TDot.Zero, s1 = TDot.Zero, s2 = TDot.Zero, s3 = TDot.Zero;
        TVector t0 = TDot.Zero, t1 = TDot.Zero, t2 = TDot.Zero, t3 = TDot.Zero;
        var g = 0;
        for (; g + 2 <= groups; g += 2)
        {
            var even = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a));
            s0 = TDot.DotAdd(s0, even, TDot.Load(b0));
            s1 = TDot.DotAdd(s1, even, TDot.Load(b1));
            s2 = TDot.DotAdd(s2, even, TDot.Load(b2));
            s3 = TDot.DotAdd(s3, even, TDot.Load(b3));
            var odd = TDot.Broadcast(Unsafe.ReadUnaligned<int>(a + GroupDepth));
            t0 = TDot.DotAdd(t0, odd, TDot.Load(b0 + GroupBytes));
            t1 = TDot.DotAdd(t1, odd, TDot.Load(b1 + GroupBytes));
            t2 = TDot.DotAdd(t2, odd, TDot.Load(b2 + GroupBytes));
            t3 = TDot.DotAdd(t3, odd, TDot.Load(b3 + GroupBytes));
            a += 2 * GroupDepth;
            b0 += 2 * GroupBytes;
            b1 += 2 * GroupBytes;
            b2 += 2 * GroupBytes;
            b3 += 2 * GroupBytes;
        }

        // An odd last whole group, then the partial one; the weights of both lie next in each stream.
        for (var pass = 0; pass < 2; pass++)
        {
            if (pass == 0 ? g == groups : !hasTail)
            {
                continue;
            }

            var x = TDot.Broadcast(Unsafe.ReadUnaligned<int>(pass == 0 ? a : tails));
            s0 = TDot.DotAdd(s0, x, TDot.Load(b0));
            s1 = TDot.DotAdd(s1, x, TDot.Load(b1));
            s2 = TDot.DotAdd(s2, x, TDot.Load(b2));
            s3 = TDot.DotAdd(s3, x, TDot.Load(b3));
            b0 += GroupBytes;
            b1 += GroupBytes;
            b2 += GroupBytes;
            b3 += GroupBytes;
        }

        var lanes = TDot.Lanes;
        TDot.Store(TDot.Add(s0, t0), c);
        TDot.Store(TDot.Add(s1, t1), c + lanes);
        TDot.Store(TDot.Add(s2, t2), c + (2 * lanes));
        TDot.Store(TDot.Add(s3, t3), c + (3 * lanes));
    }

    /// <summary>
    /// Panels [<paramref name="from"/>, <paramref name="to"/>) of the product as plain loops over the packed layout:
    /// the path without vector hardware.
    /// </summary>
    private static void ScalarPart(void* context, int from, int to)
    {
        var x = (Problem*)context;
        var sums = stackalloc int[PanelWidth];
        var groups = PaddedDepth(x->K) / GroupDepth;
        for (var panel = from; panel < to; panel++)
        {
            var origin = x->B + (panel * x->PanelStride);
            for (var i = 0; i < x->M; i++)
            {
                var row = x->A + ((long)i * x->K);
                new Span<int>(sums, PanelWidth).Clear();
                for (var g = 0; g < groups; g++)
                {
                    var weights = origin + (g * GroupBytes);
                    var steps = Math.Min(GroupDepth, x->K - (g * GroupDepth));
                    for (var t = 0; t < steps; t++)
                    {
                        int activation = row[(g * GroupDepth) + t];
                        for (var j = 0; j < PanelWidth; j++)
                        {
                            sums[j] += activation * weights[(j * GroupDepth) + t];
                        }
                    }
                }

                Finish(x, sums, PanelWidth, i, 1, panel * PanelWidth, PanelWidth);
            }
        }
    }
}
