using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels;

/// <summary>
/// Copies blocks of GEMM operands into the order the micro-kernels read them. A block of A becomes panels of
/// <c>rows</c> rows, a block of B panels of <c>width</c> columns; either way a panel is stored step by step (for every
/// p, its lanes side by side), and one routine packs both, since a panel of B's columns is a panel of rows of Bᵀ.
/// Panels at the edge are padded with zeros so that the micro-kernel always runs whole tiles.
/// </summary>
internal static unsafe partial class Packing
{
    /// <summary>A[ic.., pc..] (mc × kc) into panels of <paramref name="rows"/> rows at <paramref name="destination"/>.</summary>
    public static void PackA(Operand a, int ic, int pc, int mc, int kc, int rows, float* destination)
    {
        if (!a.InMemory)
        {
            PackWindows(a, ic, pc, mc, kc, rows, destination);
            return;
        }

        PackPanels(a.Data + ((long)ic * a.RowStride) + ((long)pc * a.ColumnStride), a.RowStride, a.ColumnStride, mc, kc, rows, destination);
    }

    /// <summary>B[pc.., jc..] (kc × nc) into panels of <paramref name="width"/> columns at <paramref name="destination"/>.</summary>
    public static void PackB(Operand b, int pc, int jc, int kc, int nc, int width, float* destination) =>
        PackPanels(b.Data + ((long)pc * b.RowStride) + ((long)jc * b.ColumnStride), b.ColumnStride, b.RowStride, nc, kc, width, destination);

    /// <summary>
    /// Packs <paramref name="count"/> lines of <paramref name="steps"/> values each, where value p of line l is at
    /// <paramref name="origin"/>[l·<paramref name="laneStride"/> + p·<paramref name="stepStride"/>], into panels of
    /// <paramref name="lanes"/> lines: panel q holds, for every p, its lines' values side by side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackPanels(float* origin, long laneStride, long stepStride, int count, int steps, int lanes, float* destination)
    {
        for (var panel = 0; panel < count; panel += lanes)
        {
            var valid = Math.Min(lanes, count - panel);
            var target = destination + (panel * steps);
            var first = origin + (panel * laneStride);
            var whole = valid == lanes && lanes % 8 == 0;
            if (laneStride == 1 && whole && Vector256.IsHardwareAccelerated)
            {
                // The lanes are contiguous in memory (A transposed, or B row-major): each step is a run of vectors.
                for (var p = 0; p < steps; p++)
                {
                    var source = first + (p * stepStride);
                    for (var l = 0; l < lanes; l += 8)
                    {
                        Vector256.Store(Vector256.Load(source + l), target + (p * lanes) + l);
                    }
                }

                continue;
            }

            if (laneStride == 1 && lanes % 8 == 0 && Avx.IsSupported)
            {
                // Contiguous lanes, fewer than a panel (the last rows of a transposed A, the last columns of B): each
                // step is a short run, loaded under a mask that reads nothing past it and leaves the other lanes zero.
                for (var l = 0; l < lanes; l += 8)
                {
                    var mask = Vector256.LessThan(Vector256.Create(l) + Vector256<int>.Indices, Vector256.Create(valid)).AsSingle();
                    for (var p = 0; p < steps; p++)
                    {
                        Vector256.Store(Avx.MaskLoad(first + (p * stepStride) + l, mask), target + (p * lanes) + l);
                    }
                }

                continue;
            }

            // Otherwise read each lane along p and write it into its place in every step; where each lane is
            // contiguous along p (A row-major, or B transposed), eight lanes by eight steps at a time as a transpose.
            var done = 0;
            if (stepStride == 1 && whole && Avx.IsSupported)
            {
                for (; done + 8 <= steps; done += 8)
                {
                    for (var l = 0; l < lanes; l += 8)
                    {
                        Transpose8x8(first + (l * laneStride) + done, laneStride, target + (done * lanes) + l, lanes);
                    }
                }
            }

            for (var l = 0; l < valid; l++)
            {
                var source = first + (l * laneStride);
                var lane = target + l;
                for (var p = done; p < steps; p++)
                {
                    lane[p * lanes] = source[p * stepStride];
                }
            }

            for (var l = valid; l < lanes; l++)
            {
                for (var p = 0; p < steps; p++)
                {
                    target[(p * lanes) + l] = 0f;
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

    /// <summary>Floats in <see cref="A"/>: room for the largest panels of any micro-kernel, a block's rows rounded up to 16.</summary>
    public const int ACapacity = (Gemm.RowBlock + 16) * Gemm.DepthBlock;

    /// <summary>Floats in <see cref="B"/>: a block's columns rounded up to 32.</summary>
    public const int BCapacity = (Gemm.ColumnBlock + 32) * Gemm.DepthBlock;

    private PackingBuffers()
    {
        _a = GC.AllocateUninitializedArray<float>(ACapacity + 16, pinned: true);
        _b = GC.AllocateUninitializedArray<float>(BCapacity + 16, pinned: true);
        A = Align(_a);
        B = Align(_b);
    }

    /// <summary>Start of the packed A block.</summary>
    public float* A { get; }

    /// <summary>Start of the packed B block.</summary>
    public float* B { get; }

    public static PackingBuffers ForCurrentThread() => _current ??= new PackingBuffers();

    private GrowingBuffer _partials;
    private GrowingBuffer _sample;

    /// <summary>
    /// At least <paramref name="floats"/> floats for the partial sums of a product split by depth (its owner's products
    /// only): grown when a larger product first needs it, then kept.
    /// </summary>
    public float* Partials(long floats) => _partials.AtLeast(floats);

    /// <summary>
    /// At least <paramref name="floats"/> floats for one sample's intermediate values (a convolution's output gradient
    /// made from its pooling layer's, Convolution.DirectPool.cs): grown when a larger sample first needs it, then kept.
    /// </summary>
    public float* Sample(long floats) => _sample.AtLeast(floats);

    /// <summary>A pinned, 64-byte aligned buffer, reallocated only when a longer one is first asked for.</summary>
    private struct GrowingBuffer
    {
        private float[]? _array;
        private float* _start;
        private long _length;

        public float* AtLeast(long floats)
        {
            if (floats > _length)
            {
                _array = GC.AllocateUninitializedArray<float>(checked((int)floats + 16), pinned: true);
                _start = Align(_array);
                _length = floats;
            }

            return _start;
        }
    }

    private static float* Align(float[] array)
    {
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (float*)((address + 63) & ~(nint)63);
    }
}
