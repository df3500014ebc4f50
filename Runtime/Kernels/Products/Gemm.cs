using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
/// <para>
/// The class is written in one file per concern: this one holds the entry points, the dispatch to a path and the
/// scalar reference; <c>Gemm.Blocked.cs</c> the blocked loops; <c>Gemm.Split.cs</c> the split over the kernel threads;
/// <c>Gemm.Small.cs</c> the few-rows and narrow paths; <c>Gemm.Epilogue.cs</c> what is done to C as it is stored.
/// </para>
/// </remarks>
[SkipLocalsInit]
public static unsafe partial class Gemm
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

        ComputeWith(Tuning, a, transposeA: false, b, transposeB: true, c, m, n, k, accumulate: false, gateMask: mask, gateOutputs: outputs);
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
        ComputeWith(Tuning, a, transposeA: false, b, transposeB: false, c, m, n, k, accumulate: false, bias, activation, dropout: new DropoutOutputs(mask, dropped, key));
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
        ComputeWith(Tuning, a, transposeA, b, transposeB, c, m, n, k, accumulate, bias, activation);

    /// <summary>
    /// How the public entry points compute: <see cref="GemmTuning.Default"/>, which only the benchmarks that time whole
    /// training steps swap for a variant (the tests pass theirs to <see cref="ComputeWith"/>).
    /// </summary>
    internal static GemmTuning Tuning { get; set; } = GemmTuning.Default;

    /// <summary><see cref="Compute"/> the way <paramref name="tuning"/> says (tests and benchmarks); its path must be accelerated.</summary>
    internal static void ComputeWith(
        GemmTuning tuning, ReadOnlySpan<float> a, bool transposeA, ReadOnlySpan<float> b, bool transposeB, Span<float> c, int m, int n, int k,
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
                Tuning = tuning,
            };
            Run(&problem, transposeB);
        }
    }

    /// <summary>A pinned and checked product, on the path its tuning names; then the gate and dropout the blocked paths leave.</summary>
    private static void Run(Problem* problem, bool transposeB)
    {
        var (tuning, m, n, k) = (problem->Tuning, problem->M, problem->N, problem->K);
        switch (tuning.Path)
        {
            case GemmPath.Vector512 when n > Vector512<float>.Count && UsesSmallRows(tuning, m, transposeB):
                SmallRows<Vector512<float>, Simd512>(problem);
                break;
            case GemmPath.Vector256 when UsesSmallRows(tuning, m, transposeB):
                SmallRows<Vector256<float>, Simd256>(problem);
                break;
            case GemmPath.Vector128 when UsesSmallRows(tuning, m, transposeB):
                SmallRows<Vector128<float>, Simd128>(problem);
                break;
            case GemmPath.Vector512 when n <= Vector512<float>.Count:
                WorkSplitter.Run(&Narrow, problem, m, grain: Tile16x1.Rows, (long)m * n * k, reduction: k);
                break;
            // Rows and depth blocks on the wide tile where the width is whole 64-column panels (see GemmTuning.WideTiles).
            case GemmPath.Vector512 when tuning.WideTiles && n % (4 * Vector512<float>.Count) == 0:
                Split(&Columns<Vector512<float>, Simd512, Tile8x2>, &Rows<Vector512<float>, Simd512, Tile6x4>, &Depths<Vector512<float>, Simd512, Tile6x4>, problem, 2 * Vector512<float>.Count, 6);
                break;
            case GemmPath.Vector512:
                Split(&Columns<Vector512<float>, Simd512, Tile8x2>, &Rows<Vector512<float>, Simd512, Tile8x2>, &Depths<Vector512<float>, Simd512, Tile8x2>, problem, 2 * Vector512<float>.Count, 8);
                break;
            case GemmPath.Vector256:
                Split(&Columns<Vector256<float>, Simd256, Tile6x2>, &Rows<Vector256<float>, Simd256, Tile6x2>, &Depths<Vector256<float>, Simd256, Tile6x2>, problem, 2 * Vector256<float>.Count, 6);
                break;
            case GemmPath.Vector128:
                Split(&Columns<Vector128<float>, Simd128, Tile6x2>, &Rows<Vector128<float>, Simd128, Tile6x2>, &Depths<Vector128<float>, Simd128, Tile6x2>, problem, 2 * Vector128<float>.Count, 6);
                break;
            default:
                ScalarColumns(problem, 0, n);
                break;
        }

        // The blocked paths gate and mask each row block as they finish it; the others do the whole product here.
        if (problem->Gated && !problem->FinishedByBlocks)
        {
            ApplyGate(problem, 0, m, 0, n);
        }

        if (problem->Drops && !problem->FinishedByBlocks)
        {
            ApplyDropout(problem, 0, m, 0, n);
        }
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

        /// <summary>How the product is computed.</summary>
        public GemmTuning Tuning;

        /// <summary>The index of c's first element in the whole product's c: the dropout mask is drawn by index.</summary>
        public long DropOrigin;

        /// <summary>Set by the blocked paths, which apply the gate and the dropout mask row block by row block.</summary>
        public bool FinishedByBlocks;

        public readonly bool Gated => GateMask != null || GateOutputs != null;

        public readonly bool Drops => DropMask != null;
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
