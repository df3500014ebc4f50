using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>Row-wise and column-wise reductions over row-major matrices: the bias gradient and the softmax.</summary>
public static class Reductions
{
    /// <summary>
    /// sums = part 0 + part 1 + … in part order, each part <paramref name="stride"/> floats after the one before, as
    /// long as <paramref name="sums"/>: the partial sums of a reduction split into parts fixed by its data, added in an
    /// order that does not depend on which thread computed them. <paramref name="sums"/> may be part 0 itself.
    /// </summary>
    internal static unsafe void AddInOrder(float* parts, int count, long stride, Span<float> sums)
    {
        new ReadOnlySpan<float>(parts, sums.Length).CopyTo(sums);
        for (var part = 1; part < count; part++)
        {
            TensorPrimitives.Add(sums, new ReadOnlySpan<float>(parts + (part * stride), sums.Length), sums);
        }
    }

    /// <summary>
    /// sums[j] += Σᵣ matrix[r, j] for a row-major matrix of <c>sums.Length</c> columns: the bias gradient of a dense
    /// layer, ∂L/∂b += Σₙ ∂Z[n, :]. Each column's values are added in row order, one vector of columns at a time held
    /// in a register down the rows (a vectorized call per row cost 50 ns, most of the 3.4 µs a 64 × 10 matrix took).
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is not a whole number of rows.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddColumnSums(ReadOnlySpan<float> matrix, Span<float> sums)
    {
        var columns = sums.Length;
        CheckWholeRows(matrix.Length, columns);

        if (columns == 0)
        {
            return;
        }

        var rows = matrix.Length / columns;
        ref var first = ref MemoryMarshal.GetReference(matrix);
        ref var total = ref MemoryMarshal.GetReference(sums);
        var j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            j = AddColumnSums<Vector512<float>, Simd512>(ref first, ref total, rows, columns, j);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            j = AddColumnSums<Vector256<float>, Simd256>(ref first, ref total, rows, columns, j);
        }

        AddColumnSums<float, Simd1>(ref first, ref total, rows, columns, j);
    }

    /// <summary>The column sums from column <paramref name="j"/> on, one vector of columns at a time while a whole one fits; returns the first column left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AddColumnSums<TVector, TSimd>(ref float matrix, ref float sums, int rows, int columns, int j)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        for (; j + TSimd.Count <= columns; j += TSimd.Count)
        {
            var sum = TSimd.Load(ref sums, (nuint)j);
            for (var r = 0; r < rows; r++)
            {
                sum = TSimd.Add(sum, TSimd.Load(ref matrix, (nuint)((r * columns) + j)));
            }

            TSimd.Store(sum, ref sums, (nuint)j);
        }

        return j;
    }

    /// <summary>
    /// sums[j] = Σᵣ matrix[r, j] over the rows where gate[r, j] &gt; 0: the bias gradient of a ReLU layer
    /// whose derivative [y &gt; 0] is read from <paramref name="gate"/> (the pooled outputs, in max pooling's fused backward).
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is not a whole number of rows, or the gate's length differs from it.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatedColumnSums(ReadOnlySpan<float> matrix, ReadOnlySpan<float> gate, Span<float> sums)
    {
        var columns = sums.Length;
        CheckWholeRows(matrix.Length, columns);

        Guard.Length(gate, matrix.Length, nameof(gate));
        sums.Clear();
        if (columns == 0)
        {
            return;
        }

        var rows = matrix.Length / columns;
        ref var first = ref MemoryMarshal.GetReference(matrix);
        ref var gates = ref MemoryMarshal.GetReference(gate);
        ref var total = ref MemoryMarshal.GetReference(sums);
        var j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            j = AddGatedColumnSums<Vector512<float>, Simd512>(ref first, ref gates, ref total, rows, columns, j);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            j = AddGatedColumnSums<Vector256<float>, Simd256>(ref first, ref gates, ref total, rows, columns, j);
        }

        AddGatedColumnSums<float, Simd1>(ref first, ref gates, ref total, rows, columns, j);
    }

    /// <summary>
    /// The gated column sums from column <paramref name="j"/> on; returns the first column left. Rows are taken four
    /// at a time into four sums (row r into sum r mod 4, then (s₀ + s₁) + (s₂ + s₃)), so that four additions are in flight
    /// rather than one chain of them: the order is fixed by the shape alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AddGatedColumnSums<TVector, TSimd>(ref float matrix, ref float gate, ref float sums, int rows, int columns, int j)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        for (; j + TSimd.Count <= columns; j += TSimd.Count)
        {
            var (s0, s1, s2, s3) = (TSimd.Zero, TSimd.Zero, TSimd.Zero, TSimd.Zero);
            var r = 0;
            for (; r + 4 <= rows; r += 4)
            {
                var at = (nuint)((r * columns) + j);
                var step = (nuint)columns;
                s0 = TSimd.Add(s0, TSimd.KeepWherePositive(TSimd.Load(ref matrix, at), TSimd.Load(ref gate, at)));
                s1 = TSimd.Add(s1, TSimd.KeepWherePositive(TSimd.Load(ref matrix, at + step), TSimd.Load(ref gate, at + step)));
                s2 = TSimd.Add(s2, TSimd.KeepWherePositive(TSimd.Load(ref matrix, at + (2 * step)), TSimd.Load(ref gate, at + (2 * step))));
                s3 = TSimd.Add(s3, TSimd.KeepWherePositive(TSimd.Load(ref matrix, at + (3 * step)), TSimd.Load(ref gate, at + (3 * step))));
            }

            for (; r < rows; r++)
            {
                var at = (nuint)((r * columns) + j);
                s0 = TSimd.Add(s0, TSimd.KeepWherePositive(TSimd.Load(ref matrix, at), TSimd.Load(ref gate, at)));
            }

            TSimd.Store(TSimd.Add(TSimd.Add(s0, s1), TSimd.Add(s2, s3)), ref sums, (nuint)j);
        }

        return j;
    }

    /// <summary>sums[j] = Σᵣ matrix[r, j]: <see cref="AddColumnSums"/> into cleared sums.</summary>
    public static void ColumnSums(ReadOnlySpan<float> matrix, Span<float> sums)
    {
        sums.Clear();
        AddColumnSums(matrix, sums);
    }

    private static void CheckWholeRows(int length, int columns)
    {
        if (columns == 0 ? length != 0 : length % columns != 0)
        {
            throw new ArgumentException($"The matrix holds {length} floats, not a whole number of rows of {columns}.", "matrix");
        }
    }

    /// <summary>
    /// Softmax of every row of <paramref name="logits"/> (rows of <paramref name="classes"/> values) into
    /// <paramref name="probabilities"/>: p = exp(z − max z) / Σ exp(z − max z). Subtracting the row's maximum keeps every
    /// exponent ≤ 0, so large logits cannot overflow; the spans may be the same.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or are not a whole number of rows.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.Length != probabilities.Length || logits.Length % classes != 0)
        {
            throw new ArgumentException(
                $"Softmax over rows of {classes}: the logits hold {logits.Length} floats and the probabilities {probabilities.Length}.", nameof(probabilities));
        }

        for (var start = 0; start < logits.Length; start += classes)
        {
            var row = logits.Slice(start, classes);
            var output = probabilities.Slice(start, classes);
            var max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, output);
            TensorPrimitives.Exp(output, output);
            TensorPrimitives.Multiply(output, 1f / TensorPrimitives.Sum(output), output);
        }
    }
}
