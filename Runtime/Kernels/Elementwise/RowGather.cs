using System;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// Copies chosen rows of a matrix into a batch, split over the kernel threads when the batch is large. A shuffled
/// batch's rows lie scattered over a dataset far larger than the caches, so the copy waits on memory; each thread
/// keeps its own rows in flight. Measured with <c>fit</c> (docs/performance.md): 64 rows of 784 floats from the full
/// Fashion-MNIST set in 20.5–21.3 µs instead of 32–39, and the two-thread <c>Fit</c> 1.05–1.06× as fast.
/// </summary>
internal static unsafe class RowGather
{
    /// <summary>
    /// What a copied float counts for against <see cref="WorkSplitter.MinParallelWork"/>: batches of at least 8,192 floats
    /// (16 rows of 784 gained already) are split.
    /// </summary>
    private const long FloatWeight = 128;

    /// <summary>Whether large batches are copied on all the kernel threads (the default); the benchmarks switch it off to compare.</summary>
    internal static bool Splits { get; set; } = true;

    private struct Job
    {
        public float* Source;
        public float* Destination;
        public int* Rows;
        public int RowLength;
    }

    /// <summary>
    /// destination[i·rowLength …] = source[rows[i]·rowLength …] for every i: the rows named by <paramref name="rows"/>, in
    /// that order.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is not rows × <paramref name="rowLength"/> long.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row index lies outside the source.</exception>
    public static void Gather(ReadOnlySpan<float> source, int rowLength, ReadOnlySpan<int> rows, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowLength);
        if (destination.Length != (long)rows.Length * rowLength)
        {
            throw new ArgumentException(
                $"The destination holds {destination.Length} floats, but {rows.Length} rows of {rowLength} need {(long)rows.Length * rowLength}.",
                nameof(destination));
        }

        var sourceRows = source.Length / rowLength;
        foreach (var row in rows)
        {
            if ((uint)row >= (uint)sourceRows)
            {
                throw new ArgumentOutOfRangeException(nameof(rows), row, $"Row {row} is outside the source's {sourceRows} rows.");
            }
        }

        fixed (float* from = source, to = destination)
        fixed (int* indices = rows)
        {
            var job = new Job { Source = from, Destination = to, Rows = indices, RowLength = rowLength };
            WorkSplitter.Run(&Copy, &job, rows.Length, grain: 1, work: Splits ? (long)destination.Length * FloatWeight : 0,
                reduction: WorkSplitter.MinParallelReduction, parts: WorkSplitter.StreamParts);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Copy(void* context, int from, int to)
    {
        var job = (Job*)context;
        var length = job->RowLength;
        for (var i = from; i < to; i++)
        {
            new ReadOnlySpan<float>(job->Source + ((long)job->Rows[i] * length), length)
                .CopyTo(new Span<float>(job->Destination + ((long)i * length), length));
        }
    }
}
