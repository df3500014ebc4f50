using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels;

/// <summary>
/// Copies blocks of GEMM operands into the order the micro-kernels read them. A block of A becomes panels of
/// <c>rows</c> rows, each stored step by step (for every p, the panel's rows side by side); a block of B becomes panels
/// of <c>width</c> columns, each stored step by step (for every p, the panel's columns side by side). Panels at the
/// edge are padded with zeros so that the micro-kernel always runs whole tiles.
/// </summary>
internal static unsafe class Packing
{
    /// <summary>A[ic.., pc..] (mc × kc) into panels of <paramref name="rows"/> rows at <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(Operand a, int ic, int pc, int mc, int kc, int rows, float* destination)
    {
        for (var panel = 0; panel < mc; panel += rows)
        {
            var valid = Math.Min(rows, mc - panel);
            var target = destination + (panel * kc);
            var origin = a.Data + ((long)(ic + panel) * a.RowStride) + ((long)pc * a.ColumnStride);
            if (a.RowStride == 1 && valid == rows && rows % 8 == 0 && Vector256.IsHardwareAccelerated)
            {
                // Column-major, whole panel of 8 or 16 rows: each step is one or two 8-float vectors.
                for (var p = 0; p < kc; p++)
                {
                    var source = origin + ((long)p * a.ColumnStride);
                    for (var r = 0; r < rows; r += 8)
                    {
                        Vector256.Store(Vector256.Load(source + r), target + (p * rows) + r);
                    }
                }
            }
            else if (a.RowStride == 1)
            {
                // Column-major (a transposed operand): each step's rows are already side by side.
                for (var p = 0; p < kc; p++)
                {
                    var source = origin + ((long)p * a.ColumnStride);
                    var step = target + (p * rows);
                    for (var r = 0; r < valid; r++)
                    {
                        step[r] = source[r];
                    }

                    for (var r = valid; r < rows; r++)
                    {
                        step[r] = 0f;
                    }
                }
            }
            else
            {
                // Row-major: read each row along p, write it into its lane of every step; for whole panels of 8 or 16
                // rows, by 8×8 transposes.
                var done = 0;
                if (rows % 8 == 0 && valid == rows && a.ColumnStride == 1 && Avx.IsSupported)
                {
                    for (; done + 8 <= kc; done += 8)
                    {
                        for (var r = 0; r < rows; r += 8)
                        {
                            Transpose8x8(origin + ((long)r * a.RowStride) + done, a.RowStride, target + (done * rows) + r, rows);
                        }
                    }
                }

                for (var r = 0; r < valid; r++)
                {
                    var source = origin + ((long)r * a.RowStride);
                    var lane = target + r;
                    for (var p = done; p < kc; p++)
                    {
                        lane[p * rows] = source[(long)p * a.ColumnStride];
                    }
                }

                for (var r = valid; r < rows; r++)
                {
                    for (var p = 0; p < kc; p++)
                    {
                        target[(p * rows) + r] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Eight rows of eight floats (row r at <paramref name="source"/> + r·<paramref name="sourceStride"/>) written as
    /// eight rows of their transpose (row q at <paramref name="destination"/> + q·<paramref name="destinationStride"/>):
    /// pairs of rows interleaved, then pairs of pairs, then the 128-bit halves exchanged. 24 shuffles for 64 floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* source, long sourceStride, float* destination, int destinationStride)
    {
        var r0 = Avx.LoadVector256(source);
        var r1 = Avx.LoadVector256(source + sourceStride);
        var r2 = Avx.LoadVector256(source + (2 * sourceStride));
        var r3 = Avx.LoadVector256(source + (3 * sourceStride));
        var r4 = Avx.LoadVector256(source + (4 * sourceStride));
        var r5 = Avx.LoadVector256(source + (5 * sourceStride));
        var r6 = Avx.LoadVector256(source + (6 * sourceStride));
        var r7 = Avx.LoadVector256(source + (7 * sourceStride));

        // t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], t1 the same from elements 2, 3 | 6, 7.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);

        // s0 = element 0 of rows 0-3 | element 4 of rows 0-3; s1 elements 1 | 5; s2 2 | 6; s3 3 | 7.
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Store(destination, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(destination + destinationStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(destination + (2 * destinationStride), Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(destination + (3 * destinationStride), Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(destination + (4 * destinationStride), Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(destination + (5 * destinationStride), Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(destination + (6 * destinationStride), Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(destination + (7 * destinationStride), Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>B[pc.., jc..] (kc × nc) into panels of <paramref name="width"/> columns at <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<TVector, TSimd>(Operand b, int pc, int jc, int kc, int nc, int width, float* destination)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        for (var panel = 0; panel < nc; panel += width)
        {
            var valid = Math.Min(width, nc - panel);
            var target = destination + (panel * kc);
            var origin = b.Data + ((long)pc * b.RowStride) + ((long)(jc + panel) * b.ColumnStride);
            if (b.ColumnStride == 1 && valid == width)
            {
                // Row-major, whole panel: each step is a contiguous run of columns, copied by vectors.
                var count = TSimd.Count;
                for (var p = 0; p < kc; p++)
                {
                    var source = origin + ((long)p * b.RowStride);
                    var step = target + (p * width);
                    for (var v = 0; v < width; v += count)
                    {
                        TSimd.Store(TSimd.Load(source + v), step + v);
                    }
                }
            }
            else if (b.ColumnStride == 1)
            {
                for (var p = 0; p < kc; p++)
                {
                    var source = origin + ((long)p * b.RowStride);
                    var step = target + (p * width);
                    for (var j = 0; j < valid; j++)
                    {
                        step[j] = source[j];
                    }

                    for (var j = valid; j < width; j++)
                    {
                        step[j] = 0f;
                    }
                }
            }
            else
            {
                // Column-major (a transposed operand, e.g. the weights [units × inputs] in the forward product):
                // read each column along p, write it into its lane of every step; eight whole columns at a time
                // this is an 8×8 transpose per eight steps.
                var done = 0;
                if (valid == width && b.RowStride == 1 && Avx.IsSupported)
                {
                    for (; done + 8 <= kc; done += 8)
                    {
                        for (var j = 0; j < width; j += 8)
                        {
                            Transpose8x8(origin + ((long)j * b.ColumnStride) + done, b.ColumnStride, target + (done * width) + j, width);
                        }
                    }
                }

                for (var j = 0; j < valid; j++)
                {
                    var source = origin + ((long)j * b.ColumnStride);
                    var lane = target + j;
                    for (var p = done; p < kc; p++)
                    {
                        lane[p * width] = source[(long)p * b.RowStride];
                    }
                }

                for (var j = valid; j < width; j++)
                {
                    for (var p = 0; p < kc; p++)
                    {
                        target[(p * width) + j] = 0f;
                    }
                }
            }
        }
    }
}

/// <summary>
/// One thread's packing buffers: pinned, 64-byte aligned, allocated on the thread's first product and kept for the
/// thread's life, so products allocate nothing after the first.
/// </summary>
internal sealed unsafe class PackingBuffers
{
    [ThreadStatic]
    private static PackingBuffers? _current;

    private readonly float[] _a;
    private readonly float[] _b;

    private PackingBuffers()
    {
        // Room for the largest panels of any micro-kernel: a block's rows rounded up to 16, columns up to 32.
        _a = GC.AllocateUninitializedArray<float>(((Gemm.RowBlock + 16) * Gemm.DepthBlock) + 16, pinned: true);
        _b = GC.AllocateUninitializedArray<float>(((Gemm.ColumnBlock + 32) * Gemm.DepthBlock) + 16, pinned: true);
        A = Align(_a);
        B = Align(_b);
    }

    /// <summary>Start of the packed A block.</summary>
    public float* A { get; }

    /// <summary>Start of the packed B block.</summary>
    public float* B { get; }

    public static PackingBuffers ForCurrentThread() => _current ??= new PackingBuffers();

    private static float* Align(float[] array)
    {
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((address + 63) & ~(nint)63);
    }
}
