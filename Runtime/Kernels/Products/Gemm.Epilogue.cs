using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels;

// What is done to C as it is stored: partial edge tiles written from their scratch, a padded bias, the gate of a
// fused input gradient (dropout mask, ReLU) and the dropout mask a forward product draws.
public static unsafe partial class Gemm
{
    /// <summary>
    /// c = c ⊙ mask, then 0 where outputs ≤ 0, over rows [<paramref name="row"/>, +<paramref name="rows"/>) and columns
    /// [<paramref name="column"/>, +<paramref name="columns"/>): the same two operations, in the same order, as
    /// <see cref="Dropout.Backward"/> and <see cref="Activations.ReluBackward"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyGate(Problem* x, int row, int rows, int column, int columns)
    {
        for (var i = row; i < row + rows; i++)
        {
            var offset = ((long)i * x->N) + column;
            var c = x->C + offset;
            var mask = Offset(x->GateMask, offset);
            var outputs = Offset(x->GateOutputs, offset);
            var j = Vector512.IsHardwareAccelerated ? GateRow<Vector512<float>, Simd512>(c, mask, outputs, columns)
                : Vector256.IsHardwareAccelerated ? GateRow<Vector256<float>, Simd256>(c, mask, outputs, columns)
                : 0;
            for (; j < columns; j++)
            {
                var value = mask == null ? c[j] : c[j] * mask[j];
                c[j] = outputs == null || outputs[j] > 0f ? value : 0f;
            }
        }
    }

    /// <summary>
    /// dropped = c ⊙ mask over rows [<paramref name="row"/>, +<paramref name="rows"/>) and columns
    /// [<paramref name="column"/>, +<paramref name="columns"/>), the mask drawn for those elements' indices in the whole
    /// of c, so that it is <see cref="Dropout.Forward"/>'s mask whichever thread or path finishes them.
    /// </summary>
    private static void ApplyDropout(Problem* x, int row, int rows, int column, int columns)
    {
        for (var i = row; i < row + rows; i++)
        {
            var offset = ((long)i * x->N) + column;
            x->Dropout.Fill(new ReadOnlySpan<float>(x->C + offset, columns), new Span<float>(x->Dropped + offset, columns), new Span<float>(x->DropMask + offset, columns), x->DropOrigin + offset);
        }
    }

    /// <summary>The whole vectors of one row of <see cref="ApplyGate"/>; returns the first column left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GateRow<TVector, TSimd>(float* c, float* mask, float* outputs, int columns)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var j = 0;
        for (; j + TSimd.Count <= columns; j += TSimd.Count)
        {
            var value = TSimd.Load(c + j);
            value = mask == null ? value : TSimd.Multiply(value, TSimd.Load(mask + j));
            value = outputs == null ? value : TSimd.KeepWherePositive(value, TSimd.Load(outputs + j));
            TSimd.Store(value, c + j);
        }

        return j;
    }

    /// <summary>
    /// A panel's bias as the micro-kernels load it, in whole vectors: <paramref name="bias"/> itself when all
    /// <paramref name="width"/> columns are valid (or there is none), else its <paramref name="valid"/> values
    /// followed by zeros in <paramref name="buffer"/>.
    /// </summary>
    internal static float* PaddedBias(float* bias, int valid, int width, float* buffer)
    {
        if (bias == null || valid == width)
        {
            return bias;
        }

        var padded = new Span<float>(buffer, width);
        padded.Clear();
        new ReadOnlySpan<float>(bias, valid).CopyTo(padded);
        return buffer;
    }

    /// <summary>
    /// The valid mr × nr corner of a scratch tile into C, with the same arithmetic the full tiles use (also a whole
    /// partial sum of a product split by depth, <see cref="FinishDepthRows"/>); with masked AVX-512 vectors where
    /// <paramref name="masked"/> (<see cref="GemmTuning.MaskedEdges"/>) and the processor has them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WriteEdge(float* scratch, int scratchStride, float* c, int ldc, int mr, int nr, bool accumulate, bool relu, bool masked)
    {
        if (masked && Vector512.IsHardwareAccelerated && Avx512F.IsSupported && scratchStride % Vector512<float>.Count == 0)
        {
            WriteEdgeMasked(scratch, scratchStride, c, ldc, mr, nr, accumulate, relu);
            return;
        }

        for (var r = 0; r < mr; r++)
        {
            var source = scratch + ((long)r * scratchStride);
            var destination = c + ((long)r * ldc);
            if (!accumulate && !relu)
            {
                new ReadOnlySpan<float>(source, nr).CopyTo(new Span<float>(destination, nr));
                continue;
            }

            var j = Vector512.IsHardwareAccelerated ? StoreRow<Vector512<float>, Simd512>(source, destination, nr, accumulate, relu)
                : Vector256.IsHardwareAccelerated ? StoreRow<Vector256<float>, Simd256>(source, destination, nr, accumulate, relu)
                : 0;
            for (; j < nr; j++)
            {
                var value = accumulate ? source[j] + destination[j] : source[j];
                destination[j] = relu ? Math.Max(value, 0f) : value;
            }
        }
    }

    /// <summary>
    /// <see cref="WriteEdge"/> with AVX-512: whole vectors, then the row's last columns as one masked vector (the
    /// scratch rows are whole vectors long, so the load past <paramref name="nr"/> stays inside them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteEdgeMasked(float* scratch, int scratchStride, float* c, int ldc, int mr, int nr, bool accumulate, bool relu)
    {
        var whole = nr / Vector512<float>.Count * Vector512<float>.Count;
        var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(nr - whole)).AsSingle();
        for (var r = 0; r < mr; r++)
        {
            var source = scratch + ((long)r * scratchStride);
            var destination = c + ((long)r * ldc);
            StoreRow<Vector512<float>, Simd512>(source, destination, whole, accumulate, relu);
            if (whole < nr)
            {
                var value = Vector512.Load(source + whole);
                if (accumulate)
                {
                    value += Avx512F.MaskLoad(destination + whole, mask, Vector512<float>.Zero);
                }

                if (relu)
                {
                    value = Vector512.Max(value, Vector512<float>.Zero);
                }

                Avx512F.MaskStore(destination + whole, mask, value);
            }
        }
    }

    /// <summary>The whole vectors of one row of <see cref="WriteEdge"/>, stored as a tile stores them; returns the first column left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int StoreRow<TVector, TSimd>(float* source, float* destination, int count, bool accumulate, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var j = 0;
        for (; j + TSimd.Count <= count; j += TSimd.Count)
        {
            Tile.Store<TVector, TSimd>(destination + j, TSimd.Load(source + j), accumulate, relu);
        }

        return j;
    }
}
