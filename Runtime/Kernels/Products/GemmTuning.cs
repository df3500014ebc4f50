using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// How <see cref="Gemm"/> computes a product where it has more than one way to the same bits: the vector width, and the
/// variants that were measured against each other and kept (docs/performance.md has each measurement). An immutable
/// value: a product reads the one it is given once, so nothing another thread changes can mix two ways within it.
/// <see cref="Default"/> is what every public entry point runs; the tests hold each variant to it bit for bit by passing
/// another value to <see cref="Gemm.ComputeWith"/>, and the benchmarks that time whole training steps swap
/// <see cref="Gemm.Tuning"/>.
/// </summary>
internal readonly record struct GemmTuning
{
    public GemmTuning()
    {
    }

    /// <summary>The widest path the processor accelerates with every variant on: what a product runs unless told otherwise.</summary>
    public static GemmTuning Default { get; } = new();

    /// <summary>The vector width (or the plain loop); it must be accelerated.</summary>
    public GemmPath Path { get; init; } =
        Vector512.IsHardwareAccelerated ? GemmPath.Vector512 :
        Vector256.IsHardwareAccelerated ? GemmPath.Vector256 :
        Vector128.IsHardwareAccelerated ? GemmPath.Vector128 : GemmPath.Scalar;

    /// <summary>
    /// Products of at most <see cref="Gemm.SmallRowCount"/> rows with a row-major B (one sample's forward pass) skip the
    /// blocked loops and read B where it lies: packing a whole weight matrix cost 25 times a single row's multiply-adds.
    /// </summary>
    public bool SmallRows { get; init; } = true;

    /// <summary>
    /// Products whose width is a whole number of 64-column panels run on the 6 × 64 micro-kernel with Vector512 when
    /// they go by rows (more rows than columns: a weight gradient) or by depth (a first layer's forward product split
    /// between two threads), rather than on the 8 × 32 one. The wide tile loads ten values for 24 multiply-adds instead
    /// of ten for 16; interleaved with 8 × 32 (`tiles`) the weight gradients of the Fashion MLP ran 1.02–1.17× as fast and
    /// its training step 1.01–1.05×, and no product slower. Products split by columns keep 8 × 32: with 64-column grains
    /// a 256-wide product has only three places to cut between two threads of unequal speed, and its input gradient on
    /// two threads ran 0.83–0.88× as fast. A width that leaves a partial panel keeps 8 × 32 too (784 columns would waste
    /// 48 of 832 on the last 64-wide panel).
    /// </summary>
    public bool WideTiles { get; init; } = true;

    /// <summary>
    /// A product of at most one row block (every batch-sized product) packs B one panel at a time, just before the
    /// micro-kernels read it, rather than a whole depth block of panels first. Each panel then goes from the packing loop
    /// to the tiles through L1 instead of a 200 KiB buffer in L2, and is used as many times either way. Measured
    /// interleaved (`panels`): the input gradients, whose packing transposes W, 1.02–1.09× on one thread; the forward
    /// products 1.00–1.03×; no product slower.
    /// </summary>
    public bool PackBPerPanel { get; init; } = true;

    /// <summary>
    /// The micro-kernels read a batch-sized A where it lies instead of from a packed copy: row-major with at most
    /// <see cref="Gemm.RowBlock"/> rows, or transposed with at most <see cref="Gemm.DepthBlock"/> steps (a weight
    /// gradient's, whose steps are the batch); and any A of a product one tile wide, whose packed copy one tile would
    /// read once: packing it cost as much as its products (`conv-products`: a 12544×288×64 product from 41 % to 78 % of
    /// the peak, its transposed-A twin from 38 % to 64 %). A whose rows (or steps) lie a multiple of 4 KiB apart is packed all the
    /// same: read in place, they would all fall into one L1 set.
    /// </summary>
    public bool ReadAInPlace { get; init; } = true;

    /// <summary>
    /// A product deeper than it is wide and tall, of one row block (a first layer's forward product, 64×784×256), is split
    /// over the kernel threads by depth blocks, whose partial sums are added in block order, rather than by rows or
    /// columns (docs/performance.md, "Threads").
    /// </summary>
    public bool SplitByDepth { get; init; } = true;

    /// <summary>
    /// The partial tiles at a product's right edge are written from their scratch with masked AVX-512 vectors rather than
    /// a copy or loop per row: a 10-column output layer writes 64 such rows per product, and its forward product
    /// (64×128×10) ran 1.04–1.05× as fast (`edges`).
    /// </summary>
    public bool MaskedEdges { get; init; } = true;
}
