using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Row-major single-precision matrix products, C = act(C₀ + op(A)·op(B) + bias), in the three forms a dense layer
/// with weights W [inputs × units] needs: forward Y = X·W + b (<see cref="Multiply"/>), weight gradient
/// ∂W += Xᵀ·∂Z (<see cref="MultiplyAddTransposedA"/>) and input gradient ∂X = ∂Z·Wᵀ
/// (<see cref="MultiplyTransposed"/>); any other combination through <see cref="Compute"/>.
/// </summary>
/// <remarks>
/// <para>
/// The structure is Goto's and BLIS's: the operands are copied ("packed") block by block into buffers laid out in
/// exactly the order a register-blocked micro-kernel reads them, so transposition is paid once per element in the
/// packing and the micro-kernel is a single stream of broadcast-multiply-adds on contiguous memory, whatever the
/// layouts. The loops, outside in:
/// </para>
/// <code>
/// for jc in columns, step NC            B block  [KC × NC] packed once, reused by every row block (L2/L3)
///   for pc in depth, step KC            partial sums: the first block writes (or accumulates), later ones add
///     for ic in rows, step MC           A block  [MC × KC] packed, reused by every column panel (L2)
///       for jr in NC, step NR           B panel  [KC × NR] stays in L1 while the A panels stream past it
///         for ir in MC, step MR         micro-kernel: an MR × NR tile of C held in registers for KC steps
/// </code>
/// <para>
/// One generic micro-kernel per register budget serves every vector width (the JIT compiles a copy per struct type
/// argument): 8 rows × 2 vectors with Vector512 (16 accumulators of the 32 zmm registers; 8 × 32 floats), 6 rows ×
/// 2 vectors with Vector256 or Vector128 (12 of 16 registers: 6 × 16 or 6 × 8 floats). Without vector hardware a
/// plain loop computes the product; it is also the reference the tests hold the others to. Tiles at the edges are
/// computed in full from zero-padded panels into a scratch tile and only their valid part is written, so every
/// element of C goes through the same instructions in the same order: results do not depend on the matrix's size
/// modulo a tile, on the thread split, or on the column block.
/// </para>
/// <para>
/// A batch-sized A is read where it lies instead of packed: row-major (a layer's input, or its output gradient, at
/// batch ≤ 256) as one stream per tile row, transposed (a weight gradient's) step by step, since each step's values
/// for a tile already lie side by side: 0.96-1.09× on the batch-sized shapes with AVX-512 (mostly above 1.02×),
/// 1.02-1.30× with AVX2, whose 6-row panels cost more to pack (docs/performance.md).
/// B is packed even when it is row-major and used by a single row block (batch-sized products): read in place, a
/// panel's rows lie a whole matrix row apart and compete for the same few L1 sets, and the micro-kernels ran 1.4×
/// slower on 64×784×256 than on packed panels, more than the packing costs (measured: 260 µs against 186 + 26 µs).
/// Packing buffers belong to the thread (pinned arrays allocated on its first product) so a call allocates nothing.
/// Products with at least <see cref="WorkSplitter.MinParallelWork"/> multiply-adds are split by columns, rows or depth
/// blocks over the calling thread and the kernel helpers, as many threads as <see cref="KernelSettings.MaxThreads"/>
/// allows; every element gets the same bits whatever the number of threads.
/// </para>
/// </remarks>
[SkipLocalsInit]
public static unsafe class Gemm
{
    /// <summary>
    /// Depth of a packed block. A B panel of KC × NR floats (256 × 32 × 4 B = 32 KiB with Vector512) plus the A
    /// panel streaming past it (8 KiB) fit the 48 KiB L1 data cache of the machine this was tuned on. Measured there,
    /// 128 to 512 were within the machine's noise of each other; 384 and 512 overflow L1 and lost when the machine
    /// was quiet, and shallower blocks load and store C more often.
    /// </summary>
    internal const int DepthBlock = 256;

    /// <summary>
    /// The depth of each block of a product K deep: the fewest blocks of at most <see cref="DepthBlock"/>, equally
    /// deep (the last may be shorter by less than one step per block). 784 is four blocks of 196 rather than three of
    /// 256 and one of 16, so that a product split by depth (<see cref="Depths{TVector, TSimd, TTile}"/>) gives each
    /// thread the same work; every path uses these blocks, so all of them sum in the same order.
    /// </summary>
    internal static int DepthStep(int k)
    {
        if (k <= DepthBlock)
        {
            return Math.Max(k, 1);
        }

        var fewest = (k + DepthBlock - 1) / DepthBlock;
        return (k + fewest - 1) / fewest;
    }

    /// <summary>How many blocks of <see cref="DepthStep"/> a product <paramref name="k"/> deep is summed in.</summary>
    private static int DepthBlocks(int k) => (k + DepthStep(k) - 1) / DepthStep(k);

    /// <summary>
    /// Whether the micro-kernels read a batch-sized A where it lies instead of from a packed copy (the default):
    /// row-major with at most <see cref="RowBlock"/> rows, or transposed with at most <see cref="DepthBlock"/> steps (a
    /// weight gradient's, whose steps are the batch); the benchmarks and tests switch it off to compare. A whose rows
    /// (or steps) lie a multiple of 4 KiB apart is always packed: read in place, they would all fall into one L1 set.
    /// </summary>
    internal static bool ReadAInPlace { get; set; } = true;

    /// <summary>
    /// Whether products whose width is a whole number of 64-column panels run on the 6 × 64 micro-kernel with
    /// Vector512 (the default) when they go by rows (more rows than columns: a weight gradient) or by depth (a first
    /// layer's forward product split between two threads), rather than on the 8 × 32 one. The wide tile loads ten
    /// values for 24 multiply-adds instead of ten for 16; interleaved with 8 × 32 (`tiles`, docs/performance.md) the
    /// weight gradients of the Fashion MLP ran 1.02–1.17× as fast and its training step 1.01–1.05×, and no product
    /// slower. Products split by columns keep 8 × 32: with 64-column grains a 256-wide product has only three places to
    /// cut between two threads of unequal speed, and its input gradient on two threads ran 0.83–0.88× as fast. A width
    /// that leaves a partial panel keeps 8 × 32 too (784 columns would waste 48 of 832 on the last 64-wide panel). Both
    /// tiles sum every element in the same order, so the choice changes no bit. The benchmarks and tests switch it off.
    /// </summary>
    internal static bool UseWideTiles { get; set; } = true;

    /// <summary>
    /// Whether a product of at most one row block (every batch-sized product) packs B one panel at a time, just before
    /// the micro-kernels read it (the default), rather than a whole depth block of panels first. Each panel then goes
    /// from the packing loop to the tiles through L1 instead of a 200 KiB buffer in L2, and is used as many times
    /// either way (once per row tile of the single row block). Measured interleaved (`panels`, docs/performance.md):
    /// the input gradients, whose packing transposes W, 1.02–1.09× on one thread; the forward products 1.00–1.03×; no
    /// product slower. The same values reach the tiles, so the bits are the same. The benchmarks and tests switch it off.
    /// </summary>
    internal static bool PackBPerPanel { get; set; } = true;

    /// <summary>
    /// Rows of A packed at once: MC × KC floats = 256 KiB, an eighth of a 2 MiB L2, so the A block stays in L2 while
    /// every B panel of the column block passes over it. Batch-sized products (m ≤ 256) pack A once per depth block.
    /// </summary>
    internal const int RowBlock = 256;

    /// <summary>
    /// Columns of B packed at once: KC × NC floats = 1 MiB, which with the A block still fits L2. All layer widths of
    /// this project's models (≤ 1024) are one column block, so B is packed once per depth block.
    /// </summary>
    internal const int ColumnBlock = 1024;

    /// <summary>
    /// Forward of a dense layer (X·W + b, W [inputs × units]): c = act(a·b + bias), with a [m×k], b [k×n], c [m×n],
    /// bias [n] or empty.
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ReadOnlySpan<float> bias = default, GemmActivation activation = GemmActivation.None) =>
        Compute(a, transposeA: false, b, transposeB: false, c, m, n, k, accumulate: false, bias, activation);

    /// <summary>Weight gradient of a dense layer (∂W += Xᵀ·∂Z): c += aᵀ·b, with a [k×m], b [k×n], c [m×n].</summary>
    public static void MultiplyAddTransposedA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k) =>
        Compute(a, transposeA: true, b, transposeB: false, c, m, n, k, accumulate: true);

    /// <summary>Weight gradient of a dense layer, overwritten (∂W = Xᵀ·∂Z): c = aᵀ·b, with a [k×m], b [k×n], c [m×n].</summary>
    public static void MultiplyTransposedA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k) =>
        Compute(a, transposeA: true, b, transposeB: false, c, m, n, k, accumulate: false);

    /// <summary>Input gradient of a dense layer (∂X = ∂Z·Wᵀ): c = a·bᵀ, with a [m×k], b [n×k], c [m×n].</summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k) =>
        Compute(a, transposeA: false, b, transposeB: true, c, m, n, k, accumulate: false);

    /// <summary>
    /// Input gradient of a dense layer with the backward of the layers below it fused in: c = (a·bᵀ) ⊙ mask ⊙ [outputs &gt; 0],
    /// with a [m×k], b [n×k], c [m×n]. <paramref name="mask"/> is a dropout layer's mask (or empty), and
    /// <paramref name="outputs"/> the outputs of a ReLU layer (or empty): ∂L/∂z of that ReLU layer, whichever of the two
    /// stand between. Each thread applies both to its own part of c while it is still in its cache, instead of two more
    /// passes over c on the calling thread; the bits are those of <see cref="MultiplyTransposed"/> followed by
    /// <see cref="Dropout.Backward"/> and <see cref="Activations.ReluBackward"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match its shape.</exception>
    public static void MultiplyTransposedGated(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ReadOnlySpan<float> mask, ReadOnlySpan<float> outputs)
    {
        if (!mask.IsEmpty)
        {
            Guard.Length(mask, c.Length, nameof(mask));
        }

        if (!outputs.IsEmpty)
        {
            Guard.Length(outputs, c.Length, nameof(outputs));
        }

        ComputeWith(BestPath, a, transposeA: false, b, transposeB: true, c, m, n, k, accumulate: false, gateMask: mask, gateOutputs: outputs);
    }

    /// <summary>
    /// Forward of a dense layer followed by a dropout layer, in one pass: c = act(a·b + bias) as <see cref="Multiply"/>
    /// computes it, then <paramref name="dropped"/> = c ⊙ mask with <paramref name="mask"/> drawn from
    /// <paramref name="random"/> exactly as <see cref="Dropout.Forward"/> draws it. Each thread masks its own part of c
    /// as it finishes it, while it is still in its cache, instead of one more pass over c on the calling thread; the
    /// bits are those of the two calls.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rate is not in [0, 1).</exception>
    public static void MultiplyDropout(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ReadOnlySpan<float> bias, GemmActivation activation,
        Span<float> mask, Span<float> dropped, float rate, ref SeededRandom random)
    {
        Dropout.CheckRate(rate);
        Guard.Length(mask, c.Length, nameof(mask));
        Guard.Length(dropped, c.Length, nameof(dropped));
        var key = DropoutKey.Draw(rate, ref random);
        ComputeWith(BestPath, a, transposeA: false, b, transposeB: false, c, m, n, k, accumulate: false, bias, activation, dropout: new DropoutOutputs(mask, dropped, key));
    }

    /// <summary>
    /// c = act(c₀ + op(a)·op(b) + bias), where op(a) is [m×k] (a is stored [k×m] when <paramref name="transposeA"/>),
    /// op(b) is [k×n] (b is stored [n×k] when <paramref name="transposeB"/>), c is [m×n], c₀ is c's previous content
    /// when <paramref name="accumulate"/> and zero otherwise, and bias (one per column) is optional.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match its shape, or bias is neither empty nor n long.</exception>
    public static void Compute(
        ReadOnlySpan<float> a, bool transposeA, ReadOnlySpan<float> b, bool transposeB, Span<float> c, int m, int n, int k,
        bool accumulate, ReadOnlySpan<float> bias = default, GemmActivation activation = GemmActivation.None) =>
        ComputeWith(BestPath, a, transposeA, b, transposeB, c, m, n, k, accumulate, bias, activation);

    /// <summary>The widest path the processor accelerates, decided once.</summary>
    internal static GemmPath BestPath { get; } =
        Vector512.IsHardwareAccelerated ? GemmPath.Vector512 :
        Vector256.IsHardwareAccelerated ? GemmPath.Vector256 :
        Vector128.IsHardwareAccelerated ? GemmPath.Vector128 : GemmPath.Scalar;

    /// <summary><see cref="Compute"/> through a chosen path (tests and benchmarks); it must be accelerated.</summary>
    internal static void ComputeWith(
        GemmPath path, ReadOnlySpan<float> a, bool transposeA, ReadOnlySpan<float> b, bool transposeB, Span<float> c, int m, int n, int k,
        bool accumulate, ReadOnlySpan<float> bias = default, GemmActivation activation = GemmActivation.None,
        ReadOnlySpan<float> gateMask = default, ReadOnlySpan<float> gateOutputs = default, DropoutOutputs dropout = default)
    {
        CheckShapes(a.Length, b.Length, c.Length, bias.Length, m, n, k);
        if (activation is not (GemmActivation.None or GemmActivation.Relu))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }

        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (float* pa = a, pb = b, pc = c, pbias = bias, pmask = gateMask, poutputs = gateOutputs, pdropMask = dropout.Mask, pdropped = dropout.Dropped)
        {
            var problem = new Problem
            {
                GateMask = gateMask.IsEmpty ? null : pmask,
                GateOutputs = gateOutputs.IsEmpty ? null : poutputs,
                A = new Operand(pa, transposeA ? 1 : k, transposeA ? m : 1),
                B = new Operand(pb, transposeB ? 1 : n, transposeB ? k : 1),
                C = pc,
                M = m,
                N = n,
                K = k,
                Accumulate = accumulate,
                Bias = bias.IsEmpty ? null : pbias,
                Relu = activation == GemmActivation.Relu,
                DropMask = dropout.Mask.IsEmpty ? null : pdropMask,
                Dropped = pdropped,
                Dropout = dropout.Key,
            };
            switch (path)
            {
                case GemmPath.Vector512 when n > Vector512<float>.Count && UsesSmallRows(m, transposeB):
                    SmallRows<Vector512<float>, Simd512>(&problem);
                    break;
                case GemmPath.Vector256 when UsesSmallRows(m, transposeB):
                    SmallRows<Vector256<float>, Simd256>(&problem);
                    break;
                case GemmPath.Vector128 when UsesSmallRows(m, transposeB):
                    SmallRows<Vector128<float>, Simd128>(&problem);
                    break;
                case GemmPath.Vector512 when n <= Vector512<float>.Count:
                    WorkSplitter.Run(&Narrow, &problem, m, grain: Tile16x1.Rows, (long)m * n * k, reduction: k);
                    break;
                // Rows and depth blocks on the wide tile where the width is whole 64-column panels (see UseWideTiles).
                case GemmPath.Vector512 when UseWideTiles && n % (4 * Vector512<float>.Count) == 0:
                    Split(&Columns<Vector512<float>, Simd512, Tile8x2>, &Rows<Vector512<float>, Simd512, Tile6x4>, &Depths<Vector512<float>, Simd512, Tile6x4>, &problem, 2 * Vector512<float>.Count, 6);
                    break;
                case GemmPath.Vector512:
                    Split(&Columns<Vector512<float>, Simd512, Tile8x2>, &Rows<Vector512<float>, Simd512, Tile8x2>, &Depths<Vector512<float>, Simd512, Tile8x2>, &problem, 2 * Vector512<float>.Count, 8);
                    break;
                case GemmPath.Vector256:
                    Split(&Columns<Vector256<float>, Simd256, Tile6x2>, &Rows<Vector256<float>, Simd256, Tile6x2>, &Depths<Vector256<float>, Simd256, Tile6x2>, &problem, 2 * Vector256<float>.Count, 6);
                    break;
                case GemmPath.Vector128:
                    Split(&Columns<Vector128<float>, Simd128, Tile6x2>, &Rows<Vector128<float>, Simd128, Tile6x2>, &Depths<Vector128<float>, Simd128, Tile6x2>, &problem, 2 * Vector128<float>.Count, 6);
                    break;
                default:
                    ScalarColumns(&problem, 0, n);
                    break;
            }

            // The blocked paths gate and mask each row block as they finish it; the others do the whole product here.
            if (problem.Gated && !problem.FinishedByBlocks)
            {
                ApplyGate(&problem, 0, m, 0, n);
            }

            if (problem.Drops && !problem.FinishedByBlocks)
            {
                ApplyDropout(&problem, 0, m, 0, n);
            }
        }
    }

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
        SplitByDepth && WorkSplitter.MaxThreads >= 2 && blocks >= WorkSplitter.MaxThreads && !problem->Gated
        && problem->K > problem->N && problem->K > problem->M && problem->M <= RowBlock && problem->N <= ColumnBlock
        && (long)blocks * problem->M * problem->N <= MaxPartialFloats;

    /// <summary>
    /// The most floats of partial sums a product split by depth may need (4 MiB, kept by the calling thread): deeper or
    /// larger products are split by rows or columns instead.
    /// </summary>
    private const long MaxPartialFloats = 1 << 20;

    /// <summary>Whether products deep enough are split by depth (the default); the benchmarks switch it off to compare.</summary>
    internal static bool SplitByDepth { get; set; } = true;

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
            part.A = new Operand(whole->A.Data + ((long)pc * whole->A.ColumnStride), whole->A.RowStride, whole->A.ColumnStride);
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
            WriteEdge(x->Partials + (block * length) + rows, whole->N, whole->C + rows, whole->N, to - from, whole->N, accumulate, relu);
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
        part.A = new Operand(x->A.Data + ((long)from * x->A.RowStride), x->A.RowStride, x->A.ColumnStride);
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

    /// <summary>Columns [<paramref name="from"/>, <paramref name="to"/>) of the product, through the blocked loops.</summary>
    /// <remarks>Compiled fully optimized on first use, as are the packing loops and micro-kernels: a product's first
    /// calls would otherwise run unoptimized code for the first tenths of a second (tiered compilation).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns<TVector, TSimd, TTile>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var x = (Problem*)context;
        var rows = TTile.Rows;
        var width = TTile.Vectors * TSimd.Count;
        var buffers = PackingBuffers.ForCurrentThread();
        var packedA = buffers.A;
        var packedB = buffers.B;
        var scratch = stackalloc float[rows * width];
        var edgeBias = stackalloc float[width];
        // A read in place (see ReadAInPlace): row-major with at most one row block, or transposed with at most one
        // depth block (a weight gradient's A is the layer's input, stored [batch × inputs]).
        var rowsInPlace = ReadAInPlace && x->A.ColumnStride == 1 && x->M <= RowBlock
            && ((long)x->A.RowStride * sizeof(float)) % 4096 != 0;
        var stepsInPlace = ReadAInPlace && x->A.RowStride == 1 && x->K <= DepthBlock
            && ((long)x->A.ColumnStride * sizeof(float)) % 4096 != 0;
        var aInPlace = rowsInPlace || stepsInPlace;
        // With one row block, each B panel is packed just before its tiles read it (see PackBPerPanel).
        var panelByPanel = PackBPerPanel && x->M <= RowBlock;

        for (var jc = from; jc < to; jc += ColumnBlock)
        {
            var nc = Math.Min(ColumnBlock, to - jc);
            var depthStep = DepthStep(x->K);
            for (var pc = 0; pc < x->K || pc == 0; pc += depthStep)
            {
                var kc = Math.Min(depthStep, x->K - pc);
                var first = pc == 0;
                var last = pc + kc >= x->K;
                var step = new Step
                {
                    Accumulate = !first || x->Accumulate,
                    Bias = first && x->Bias != null ? x->Bias + jc : null,
                    Relu = last && x->Relu,
                };
                if (!panelByPanel)
                {
                    Packing.PackB(x->B, pc, jc, kc, nc, width, packedB);
                }

                for (var ic = 0; ic < x->M; ic += RowBlock)
                {
                    var mc = Math.Min(RowBlock, x->M - ic);
                    // With A read in place, only a partial last row group is packed: read in place, it would run
                    // past the matrix (a row-major A's rows, or a transposed A's steps).
                    var firstPacked = aInPlace ? mc / rows * rows : 0;
                    if (firstPacked < mc)
                    {
                        Packing.PackA(x->A, ic + firstPacked, pc, mc - firstPacked, kc, rows, packedA + (firstPacked * kc));
                    }

                    for (var jr = 0; jr < nc; jr += width)
                    {
                        var nr = Math.Min(width, nc - jr);
                        if (panelByPanel)
                        {
                            Packing.PackB(x->B, pc, jc + jr, kc, nr, width, packedB);
                        }

                        var panelB = panelByPanel ? packedB : packedB + (jr * kc);
                        var columnBias = PaddedBias(step.Bias == null ? null : step.Bias + jr, nr, width, edgeBias);

                        for (var ir = 0; ir < mc; ir += rows)
                        {
                            var mr = Math.Min(rows, mc - ir);
                            var tile = x->C + ((long)(ic + ir) * x->N) + jc + jr;
                            var panelA = packedA + (ir * kc);
                            if (aInPlace && mr == rows)
                            {
                                var origin = x->A.Data + ((long)(ic + ir) * x->A.RowStride) + ((long)pc * x->A.ColumnStride);
                                var whole = nr == width;
                                var target = whole ? tile : scratch;
                                var targetStride = whole ? x->N : width;
                                var (accumulate, relu) = whole ? (step.Accumulate, step.Relu) : (false, false);
                                if (rowsInPlace)
                                {
                                    TTile.RunRows<TVector, TSimd>(kc, origin, x->A.RowStride, panelB, width, target, targetStride, accumulate, columnBias, relu);
                                }
                                else
                                {
                                    TTile.RunStrided<TVector, TSimd>(kc, origin, x->A.ColumnStride, panelB, width, target, targetStride, accumulate, columnBias, relu);
                                }

                                if (!whole)
                                {
                                    WriteEdge(scratch, width, tile, x->N, mr, nr, step.Accumulate, step.Relu);
                                }
                            }
                            else if (mr == rows && nr == width)
                            {
                                TTile.Run<TVector, TSimd>(kc, panelA, panelB, width, tile, x->N, step.Accumulate, columnBias, step.Relu);
                            }
                            else
                            {
                                TTile.Run<TVector, TSimd>(kc, panelA, panelB, width, scratch, width, accumulate: false, columnBias, relu: false);
                                WriteEdge(scratch, width, tile, x->N, mr, nr, step.Accumulate, step.Relu);
                            }
                        }
                    }

                    // The row block's columns are complete: gate or mask them while they are still in this core's cache.
                    if (last && x->Gated)
                    {
                        ApplyGate(x, ic, mc, jc, nc);
                    }

                    if (last && x->Drops)
                    {
                        ApplyDropout(x, ic, mc, jc, nc);
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
    /// Products of at most this many rows with a row-major B (one sample's forward pass, <c>Predict</c>) skip the
    /// blocked loops: packing B (a whole weight matrix) cost 25 times the multiply-adds of a single row.
    /// </summary>
    internal const int SmallRowCount = 4;

    /// <summary>Vectors of a C row the few-rows path computes at once: one accumulator chain each.</summary>
    private const int SmallRowVectors = 4;

    /// <summary>Whether the small-row path computes the product (the tests switch it off to compare).</summary>
    internal static bool UseSmallRows { get; set; } = true;

    private static bool UsesSmallRows(int m, bool transposeB) => UseSmallRows && m <= SmallRowCount && !transposeB;

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
                    var row = x->C + ((long)i * x->N) + jb;
                    var blockBias = first ? bias : null;
                    if (whole)
                    {
                        SmallRowStrip<TVector, TSimd>(kc, a, x->A.ColumnStride, b, bStride, row, accumulate, blockBias, relu);
                    }
                    else
                    {
                        SmallRowStrip<TVector, TSimd>(kc, a, x->A.ColumnStride, b, bStride, scratch, accumulate: false, blockBias, relu: false);
                        WriteEdge(scratch, width, row, x->N, 1, nr, accumulate, relu);
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
    /// partial group of rows is packed (in place it would read past the matrix).
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
                if (mr < Rows)
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

                WriteEdge(scratch, Width, x->C + ((long)i * x->N), x->N, mr, x->N, accumulate, relu);
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
    private static float* PaddedBias(float* bias, int valid, int width, float* buffer)
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
    /// partial sum of a product split by depth, <see cref="FinishDepthRows"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteEdge(float* scratch, int scratchStride, float* c, int ldc, int mr, int nr, bool accumulate, bool relu)
    {
        if (MaskedEdges && Vector512.IsHardwareAccelerated && Avx512F.IsSupported && scratchStride % Vector512<float>.Count == 0)
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
    /// Whether the partial tiles at a product's right edge are written from their scratch with masked AVX-512 vectors
    /// (the default) rather than a copy or loop per row: a 10-column output layer writes 64 such rows per product, and
    /// its forward product (64×128×10) ran 1.04–1.05× as fast (`edges`, docs/performance.md). The benchmarks and tests
    /// switch it off.
    /// </summary>
    internal static bool MaskedEdges { get; set; } = true;

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

    /// <summary>The plain loop: the fallback without vector hardware and the reference for the tests.</summary>
    private static void ScalarColumns(Problem* x, int from, int to)
    {
        for (var i = 0; i < x->M; i++)
        {
            for (var j = from; j < to; j++)
            {
                var sum = x->Bias == null ? 0f : x->Bias[j];
                for (var p = 0; p < x->K; p++)
                {
                    sum += x->A.At(i, p) * x->B.At(p, j);
                }

                ref var destination = ref x->C[((long)i * x->N) + j];
                var value = x->Accumulate ? destination + sum : sum;
                destination = x->Relu ? Math.Max(value, 0f) : value;
            }
        }
    }

    private static void CheckShapes(int aLength, int bLength, int cLength, int biasLength, int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        long aExpected = (long)m * k, bExpected = (long)k * n, cExpected = (long)m * n;
        if (aLength != aExpected || bLength != bExpected || cLength != cExpected)
        {
            throw new ArgumentException(
                $"Matrix shapes disagree with m={m}, n={n}, k={k}: a holds {aLength} floats (expected {aExpected}), b {bLength} (expected {bExpected}), c {cLength} (expected {cExpected}).");
        }

        if (biasLength != 0 && biasLength != n)
        {
            throw new ArgumentException($"The bias holds {biasLength} floats; expected none or one per column ({n}).", "bias");
        }
    }

    /// <summary>What one product reads and writes: pinned pointers, shapes and the epilogue.</summary>
    private struct Problem
    {
        public Operand A;
        public Operand B;
        public float* C;
        public int M;
        public int N;
        public int K;
        public bool Accumulate;
        public float* Bias;
        public bool Relu;

        /// <summary>A mask c is multiplied by once complete (laid out as c), or null.</summary>
        public float* GateMask;

        /// <summary>ReLU outputs (laid out as c) where c is kept only if positive, or null.</summary>
        public float* GateOutputs;

        /// <summary>Where a dropout mask of c goes (laid out as c), or null.</summary>
        public float* DropMask;

        /// <summary>Where c ⊙ the dropout mask goes (laid out as c).</summary>
        public float* Dropped;

        /// <summary>The dropout mask's key.</summary>
        public DropoutKey Dropout;

        /// <summary>The index of c's first element in the whole product's c: the dropout mask is drawn by index.</summary>
        public long DropOrigin;

        /// <summary>Set by the blocked paths, which apply the gate and the dropout mask row block by row block.</summary>
        public bool FinishedByBlocks;

        public readonly bool Gated => GateMask != null || GateOutputs != null;

        public readonly bool Drops => DropMask != null;
    }

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

    /// <summary>What one depth block does at the end: accumulate, add the bias (first block), apply ReLU (last block).</summary>
    private struct Step
    {
        public bool Accumulate;
        public float* Bias;
        public bool Relu;
    }
}

/// <summary>Where <see cref="Gemm.MultiplyDropout"/> puts the dropout mask and the masked result, and the mask's key.</summary>
internal readonly ref struct DropoutOutputs(Span<float> mask, Span<float> dropped, DropoutKey key)
{
    public readonly Span<float> Mask = mask;
    public readonly Span<float> Dropped = dropped;
    public readonly DropoutKey Key = key;
}

/// <summary>The code paths of <see cref="Gemm"/>: one per vector width, and the plain loop.</summary>
internal enum GemmPath
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}

/// <summary>An activation a matrix product can apply to its result as it stores it.</summary>
public enum GemmActivation
{
    /// <summary>Store the sum as it is.</summary>
    None,

    /// <summary>Store max(sum, 0).</summary>
    Relu,
}

/// <summary>A matrix in memory: element (row, column) is at <c>Data[row·RowStride + column·ColumnStride]</c>.</summary>
internal readonly unsafe struct Operand(float* data, int rowStride, int columnStride)
{
    public readonly float* Data = data;
    public readonly int RowStride = rowStride;
    public readonly int ColumnStride = columnStride;

    public float At(int row, int column) => Data[((long)row * RowStride) + ((long)column * ColumnStride)];
}
