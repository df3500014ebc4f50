using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace ModelGen.Kernels;

// How a product is split over the kernel threads: by columns, by rows, or by depth blocks whose partial sums are
// added in block order (see the remarks on Gemm and docs/performance.md, "Threads").
public static unsafe partial class Gemm
{
    /// <summary>
    /// Runs the product, split over the kernel threads along its longer side: by columns (each thread packs all of A
    /// and its share of B) or, when there are more rows than columns, by rows (each packs its share of A and all of B),
    /// so that the operand packed twice is the smaller one. Split points fall on whole micro-tiles. A product deeper
    /// than it is wide or tall, of several depth blocks and one row block (a first layer's forward pass, 64×784×256),
    /// is split by depth instead (<see cref="Depths{TVector, TSimd, TTile}"/>).
    /// </summary>
    private static void Split(delegate*<void*, int, int, void> columns, delegate*<void*, int, int, void> rows, delegate*<void*, int, int, void> depths, Problem* problem, int panelWidth, int tileRows)
    {
        var work = (long)problem->M * problem->N * problem->K;
        var blocks = DepthBlocks(problem->K);
        problem->FinishedByBlocks = true;
        if (SplitsByDepth(problem, blocks))
        {
            var depthProblem = new DepthProblem
            {
                Whole = *problem,
                Blocks = blocks,
                Caller = Environment.CurrentManagedThreadId,
                Partials = PackingBuffers.ForCurrentThread().Partials((long)blocks * problem->M * problem->N),
            };
            WorkSplitter.Run(depths, &depthProblem, blocks, grain: 1, work, reduction: problem->K, parts: blocks);
            if (depthProblem.CallerBlocks < blocks)
            {
                Interlocked.Increment(ref _productsWithPartials);
            }

            // The rows are finished on the kernel threads, as the product was split (its work and depth decide it again).
            if (depthProblem.CallerBlocks < blocks || problem->Drops)
            {
                WorkSplitter.Run(&FinishDepthRows, &depthProblem, problem->M, grain: 1, work, reduction: problem->K);
            }
        }
        else if (problem->M > problem->N)
        {
            WorkSplitter.Run(rows, problem, problem->M, grain: tileRows, work, reduction: problem->K);
        }
        else
        {
            WorkSplitter.Run(columns, problem, problem->N, grain: panelWidth, work, reduction: problem->K);
        }
    }

    /// <summary>
    /// Whether a product of <paramref name="blocks"/> depth blocks is split by depth: deeper than it is wide and tall, one
    /// row block and one column block, partial sums within <see cref="MaxPartialFloats"/>, two threads or more but no
    /// more than there are blocks (a block is the smallest part; with more threads the columns or rows give more parts),
    /// and no gate (which must wait for the whole sum).
    /// </summary>
    private static bool SplitsByDepth(Problem* problem, int blocks) =>
        problem->Tuning.SplitByDepth && WorkSplitter.MaxThreads >= 2 && blocks >= WorkSplitter.MaxThreads && !problem->Gated
        && problem->K > problem->N && problem->K > problem->M && problem->M <= RowBlock && problem->N <= ColumnBlock
        && (long)blocks * problem->M * problem->N <= MaxPartialFloats;

    /// <summary>
    /// The most floats of partial sums a product split by depth may need (4 MiB, kept by the calling thread): deeper or
    /// larger products are split by rows or columns instead.
    /// </summary>
    private const long MaxPartialFloats = 1 << 20;

    private static long _productsWithPartials;

    /// <summary>Products split by depth in which a helper summed blocks of its own (the tests check that path ran).</summary>
    internal static long ProductsWithPartials => Interlocked.Read(ref _productsWithPartials);

    /// <summary>
    /// Depth blocks [<paramref name="from"/>, <paramref name="to"/>) of a product split by depth, each through the
    /// blocked loops as a product of its own. The caller's blocks (it takes them from the front, in order) go straight
    /// into C, each added to the sum of the blocks before it, exactly as the unsplit product adds them. The helpers'
    /// (from the back) go to partial sums that <see cref="FinishDepthRows"/> adds to C in block order afterwards: so every
    /// element is summed in the same order, and gets the same bits, as on one thread. Each thread packs only the rows of
    /// B in its blocks: for a first layer, the rows of W its own core has just updated in the optimizer's split of the
    /// flat parameters, rather than a share of every row (measured on the Fashion MLP: see docs/performance.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Depths<TVector, TSimd, TTile>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var x = (DepthProblem*)context;
        var whole = &x->Whole;
        var onCaller = Environment.CurrentManagedThreadId == x->Caller;
        var depthStep = DepthStep(whole->K);
        for (var block = from; block < to; block++)
        {
            var pc = block * depthStep;
            var part = *whole;
            part.A = whole->A.Shifted(0, pc);
            part.B = new Operand(whole->B.Data + ((long)pc * whole->B.RowStride), whole->B.RowStride, whole->B.ColumnStride);
            part.K = Math.Min(depthStep, whole->K - pc);
            part.Bias = block == 0 ? whole->Bias : null;
            part.DropMask = null; // applied to the finished rows (FinishDepthRows)
            if (onCaller)
            {
                part.Accumulate = block > 0 || whole->Accumulate;
                part.Relu = block == x->Blocks - 1 && whole->Relu;
                x->CallerBlocks = block + 1;
            }
            else
            {
                part.C = x->Partials + ((long)block * whole->M * whole->N);
                part.Accumulate = false;
                part.Relu = false;
            }

            Columns<TVector, TSimd, TTile>(&part, 0, whole->N);
        }
    }

    /// <summary>
    /// Rows [<paramref name="from"/>, <paramref name="to"/>) of a product split by depth, once every block is summed:
    /// C += each partial sum the helpers left, in block order (the first replaces C unless accumulating), ReLU at the
    /// last; then the dropout mask, if any. The kernel threads take rows, so none reads all of the others' partial sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FinishDepthRows(void* context, int from, int to)
    {
        var x = (DepthProblem*)context;
        var whole = &x->Whole;
        var length = (long)whole->M * whole->N;
        var rows = (long)from * whole->N;
        for (var block = x->CallerBlocks; block < x->Blocks; block++)
        {
            // Each partial sum stored into C as a tile's scratch is: added unless it is the first block, ReLU at the last.
            var accumulate = block > 0 || whole->Accumulate;
            var relu = block == x->Blocks - 1 && whole->Relu;
            WriteEdge(x->Partials + (block * length) + rows, whole->N, whole->C + rows, whole->N, to - from, whole->N, accumulate, relu, whole->Tuning.MaskedEdges);
        }

        if (whole->Drops)
        {
            ApplyDropout(whole, from, to - from, 0, whole->N);
        }
    }

    /// <summary>Rows [<paramref name="from"/>, <paramref name="to"/>) of the product: the same loops on a sub-problem of those rows.</summary>
    private static void Rows<TVector, TSimd, TTile>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var x = (Problem*)context;
        var part = *x;
        part.A = x->A.Shifted(from, 0);
        // Everything laid out as C starts at the same row.
        var rows = (long)from * x->N;
        part.C = x->C + rows;
        part.GateMask = Offset(x->GateMask, rows);
        part.GateOutputs = Offset(x->GateOutputs, rows);
        part.DropMask = Offset(x->DropMask, rows);
        part.Dropped = Offset(x->Dropped, rows);
        part.DropOrigin = x->DropOrigin + rows;
        part.M = to - from;
        Columns<TVector, TSimd, TTile>(&part, 0, x->N);
    }

    /// <summary><paramref name="pointer"/> moved on by <paramref name="floats"/>, or null if it is null.</summary>
    private static float* Offset(float* pointer, long floats) => pointer == null ? null : pointer + floats;

    /// <summary>A product split by depth: the whole problem, its blocks, and where the helpers' partial sums go.</summary>
    private struct DepthProblem
    {
        public Problem Whole;
        public int Blocks;

        /// <summary>The managed id of the thread that called: its blocks go straight into C.</summary>
        public int Caller;

        /// <summary>How many blocks, from the first, the caller has summed into C.</summary>
        public int CallerBlocks;

        /// <summary>Blocks × M × N floats, one M × N partial sum per block (the caller thread's buffer).</summary>
        public float* Partials;
    }
}
