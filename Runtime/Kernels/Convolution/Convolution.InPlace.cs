using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// Stride-1 convolutions on channels-last images whose micro-kernels read each window where it lies, in a zero-padded
/// copy of its sample, instead of packing it first: the forward product (and so the input gradient, itself such a
/// convolution) and the weight gradient.
/// </summary>
/// <remarks>
/// In a padded sample of Hp × Wp positions, the window at (oh, ow) starts at position oh·Wp + ow, and kernel row kh of
/// it is one run of kernel·channels values, kh·Wp positions further. Counting positions over the padded width, every
/// window of the sample is therefore a row of a row-major matrix with rows <c>channels</c> floats apart, read a kernel
/// row (one depth block) at a time: the micro-kernels' row-major A, read in place. The Wp − OW extra positions of each
/// output row are computed in a scratch tile and dropped when the rows are copied out (Wp/OW more multiply-adds: 1.14×
/// for a 3 × 3 kernel on 14 columns). A packed window panel feeds only filters/16 vector multiply-adds per value, so
/// with 32–64 filters the packing cost as much as the products (docs/performance.md, "Convolutions"). Each sample is
/// computed whole by one thread (the weight gradient: each run of samples, fixed by the batch), so the bits do not
/// depend on the thread count.
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>What one in-place convolution reads and writes, for the parts of its batch.</summary>
    private struct InPlaceJob
    {
        public float* Input;
        public float* PackedWeights;
        public float* Bias;
        public float* Output;
        public Window2D Window;
        public int Filters;
        public bool Relu;

        /// <summary>The weight gradient's samples.</summary>
        public int Batch;

        /// <summary>The weight gradient's parts: each a run of samples, its partial ∂W at <see cref="Partials"/>.</summary>
        public int Parts;

        /// <summary>The parts' partial ∂W, one after another (∂W itself when there is one part).</summary>
        public float* Partials;
    }

    /// <summary>
    /// The layout of an in-place convolution's scratch for one geometry and tile: the padded sample, its slack, and the
    /// output rows over the padded width.
    /// </summary>
    private readonly struct InPlaceLayout
    {
        public InPlaceLayout(in Window2D window, int filters, int tileRows, int width)
        {
            PaddedHeight = window.OutputHeight + window.Kernel - 1;
            PaddedWidth = window.OutputWidth + window.Kernel - 1;
            Segment = window.Kernel * window.Channels;
            var positions = window.OutputHeight * PaddedWidth;
            GridRows = (positions + tileRows - 1) / tileRows * tileRows;
            PaddedFilters = (filters + width - 1) / width * width;
            // The last tile reads up to (tile rows + kernel) positions past the padded sample: zeros.
            PaddedLength = (((PaddedHeight * PaddedWidth) + tileRows + window.Kernel) * window.Channels + 15) / 16 * 16;
            ScratchLength = PaddedLength + ((long)GridRows * PaddedFilters);
            var blocks = (Segment + Gemm.DepthBlock - 1) / Gemm.DepthBlock;
            BlockDepth = (Segment + blocks - 1) / blocks;
        }

        public int PaddedHeight { get; }

        public int PaddedWidth { get; }

        /// <summary>One kernel row of a window: kernel × channels contiguous values.</summary>
        public int Segment { get; }

        /// <summary>The depth of each block within a kernel row: the fewest of at most <see cref="Gemm.DepthBlock"/>.</summary>
        public int BlockDepth { get; }

        /// <summary>Output rows over the padded width, rounded up to whole tiles.</summary>
        public int GridRows { get; }

        /// <summary>Filters rounded up to whole panels.</summary>
        public int PaddedFilters { get; }

        public int PaddedLength { get; }

        public long ScratchLength { get; }
    }

    /// <summary>The geometries read in place: stride 1 over channels-last input.</summary>
    private static bool IsStrideOneChannelsLast(in Window2D window) => window.Stride == 1 && window.ChannelsLast;

    /// <summary>
    /// output = act(bias + windows(input)·weights) for a stride-1 convolution on channels-last input, reading the windows in
    /// place (see the type's remarks); false, with nothing written, where it does not apply: no vector path, or a sample
    /// or the packed weights too large for the packing buffers.
    /// </summary>
    private static bool TryInPlace(float* input, float* weights, float* bias, float* output, in Window2D window, int filters, int batch, bool relu)
    {
        if (!IsStrideOneChannelsLast(window))
        {
            return false;
        }

        switch (Gemm.Tuning.Path)
        {
            case GemmPath.Vector512 when filters <= Vector512<float>.Count:
                return TryInPlace<Vector512<float>, Simd512, Tile16x1>(input, weights, bias, output, window, filters, batch, relu);
            case GemmPath.Vector512 when filters % (4 * Vector512<float>.Count) == 0:
                return TryInPlace<Vector512<float>, Simd512, Tile6x4>(input, weights, bias, output, window, filters, batch, relu);
            case GemmPath.Vector512:
                return TryInPlace<Vector512<float>, Simd512, Tile8x2>(input, weights, bias, output, window, filters, batch, relu);
            case GemmPath.Vector256:
                return TryInPlace<Vector256<float>, Simd256, Tile6x2>(input, weights, bias, output, window, filters, batch, relu);
            case GemmPath.Vector128:
                return TryInPlace<Vector128<float>, Simd128, Tile6x2>(input, weights, bias, output, window, filters, batch, relu);
            default:
                return false;
        }
    }

    private static bool TryInPlace<TVector, TSimd, TTile>(float* input, float* weights, float* bias, float* output, in Window2D window, int filters, int batch, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var width = TTile.Vectors * TSimd.Count;
        var layout = new InPlaceLayout(window, filters, TTile.Rows, width);
        if (layout.ScratchLength > PackingBuffers.ACapacity || (long)window.PatchSize * layout.PaddedFilters > PackingBuffers.BCapacity)
        {
            return false;
        }

        // The weights packed once, every depth block's panels one after another, for all the batch's parts to read.
        var packed = PackingBuffers.ForCurrentThread().B;
        var weightsOperand = new Operand(weights, filters, 1);
        for (int pc = 0, kc; pc < window.PatchSize; pc += kc)
        {
            kc = BlockDepthAt(layout, pc);
            Packing.PackB(weightsOperand, pc, 0, kc, filters, width, packed + ((long)pc * layout.PaddedFilters));
        }

        var job = new InPlaceJob { Input = input, PackedWeights = packed, Bias = bias, Output = output, Window = window, Filters = filters, Relu = relu };
        WorkSplitter.RunIndependent(&InPlaceSamples<TVector, TSimd, TTile>, &job, batch, (long)batch * window.Positions * window.PatchSize * filters);
        return true;
    }

    /// <summary>
    /// Copies a channels-last sample into the interior of its padded image, row by row; the border and the slack keep
    /// the zeros they were cleared to (input rows or columns no window reaches are left out).
    /// </summary>
    private static void PadSample(float* sample, float* padded, in Window2D window, in InPlaceLayout layout)
    {
        var channels = window.Channels;
        var (rows, columns) = (Math.Min(window.Height, layout.PaddedHeight - window.PadTop), Math.Min(window.Width, layout.PaddedWidth - window.PadLeft));
        var rowBytes = (long)columns * channels * sizeof(float);
        for (var h = 0; h < rows; h++)
        {
            var target = padded + ((((long)(h + window.PadTop) * layout.PaddedWidth) + window.PadLeft) * channels);
            Buffer.MemoryCopy(sample + ((long)h * window.Width * channels), target, rowBytes, rowBytes);
        }
    }

    /// <summary>The depth of the block starting at <paramref name="pc"/>: blocks never cross a kernel row.</summary>
    private static int BlockDepthAt(in InPlaceLayout layout, int pc)
    {
        var inSegment = pc % layout.Segment;
        return Math.Min(layout.BlockDepth, layout.Segment - inSegment);
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of an in-place convolution, on this thread's scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InPlaceSamples<TVector, TSimd, TTile>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var job = (InPlaceJob*)context;
        var window = job->Window;
        var (rows, width, filters, channels) = (TTile.Rows, TTile.Vectors * TSimd.Count, job->Filters, window.Channels);
        var layout = new InPlaceLayout(window, filters, rows, width);
        var padded = PackingBuffers.ForCurrentThread().A;
        var grid = padded + layout.PaddedLength;
        var edgeBias = stackalloc float[width];
        // The border and the slack stay zero for every sample: only the interior is written below.
        new Span<float>(padded, layout.PaddedLength).Clear();
        for (var n = from; n < to; n++)
        {
            PadSample(job->Input + ((long)n * window.InputSize), padded, window, layout);

            for (int pc = 0, kc; pc < window.PatchSize; pc += kc)
            {
                kc = BlockDepthAt(layout, pc);
                var (kh, offset) = Math.DivRem(pc, layout.Segment);
                var (first, last) = (pc == 0, pc + kc == window.PatchSize);
                var block = job->PackedWeights + ((long)pc * layout.PaddedFilters);
                var origin = padded + ((long)kh * layout.PaddedWidth * channels) + offset;
                for (var jr = 0; jr < layout.PaddedFilters; jr += width)
                {
                    var bias = first && job->Bias != null ? Gemm.PaddedBias(job->Bias + jr, Math.Min(width, filters - jr), width, edgeBias) : null;
                    for (var ir = 0; ir < layout.GridRows; ir += rows)
                    {
                        TTile.RunRows<TVector, TSimd>(
                            kc, origin + ((long)ir * channels), channels, block + ((long)jr * kc), width,
                            grid + ((long)ir * layout.PaddedFilters) + jr, layout.PaddedFilters, accumulate: !first, bias, last && job->Relu);
                    }
                }
            }

            // The real positions of each output row, without the padded width's extra ones and the panels' extra columns.
            var outputs = job->Output + ((long)n * window.Positions * filters);
            for (var oh = 0; oh < window.OutputHeight; oh++)
            {
                var source = grid + ((long)oh * layout.PaddedWidth * layout.PaddedFilters);
                var target = outputs + ((long)oh * window.OutputWidth * filters);
                if (layout.PaddedFilters == filters)
                {
                    var bytes = (long)window.OutputWidth * filters * sizeof(float);
                    Buffer.MemoryCopy(source, target, bytes, bytes);
                    continue;
                }

                for (var ow = 0; ow < window.OutputWidth; ow++)
                {
                    var bytes = (long)filters * sizeof(float);
                    Buffer.MemoryCopy(source + ((long)ow * layout.PaddedFilters), target + ((long)ow * filters), bytes, bytes);
                }
            }
        }
    }

    /// <summary>
    /// weightGradient = Σₙ windows(inputₙ)ᵀ·outputGradientₙ (overwritten) for a stride-1 convolution on channels-last
    /// input, reading the windows in place as <see cref="TryInPlace(float*, float*, float*, float*, in Window2D, int, int, bool)"/>
    /// does, transposed: a tile of ∂W is window values × filters, and its steps are the positions, <c>channels</c> floats
    /// apart in the padded sample. Each sample's output gradient is laid out over the padded width first, zeros at the
    /// extra positions, and read a block of positions at a time small enough to stay in L1 while every tile uses it.
    /// The parts are runs of samples fixed by the batch, each summing its own partial ∂W, added in part order at the end,
    /// so the bits do not depend on the thread count.
    /// False, with nothing written, where it does not apply.
    /// </summary>
    private static bool TryWeightGradientInPlace(float* input, float* outputGradient, float* weightGradient, in Window2D window, int filters, int batch)
    {
        if (!IsStrideOneChannelsLast(window))
        {
            return false;
        }

        switch (Gemm.Tuning.Path)
        {
            case GemmPath.Vector512 when filters <= Vector512<float>.Count:
                return TryWeightGradientInPlace<Vector512<float>, Simd512, Tile16x1>(input, outputGradient, weightGradient, window, filters, batch);
            case GemmPath.Vector512 when filters % (4 * Vector512<float>.Count) == 0:
                return TryWeightGradientInPlace<Vector512<float>, Simd512, Tile6x4>(input, outputGradient, weightGradient, window, filters, batch);
            case GemmPath.Vector512:
                return TryWeightGradientInPlace<Vector512<float>, Simd512, Tile8x2>(input, outputGradient, weightGradient, window, filters, batch);
            case GemmPath.Vector256:
                return TryWeightGradientInPlace<Vector256<float>, Simd256, Tile6x2>(input, outputGradient, weightGradient, window, filters, batch);
            case GemmPath.Vector128:
                return TryWeightGradientInPlace<Vector128<float>, Simd128, Tile6x2>(input, outputGradient, weightGradient, window, filters, batch);
            default:
                return false;
        }
    }

    private static bool TryWeightGradientInPlace<TVector, TSimd, TTile>(float* input, float* outputGradient, float* weightGradient, in Window2D window, int filters, int batch)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var layout = new InPlaceLayout(window, filters, TTile.Rows, TTile.Vectors * TSimd.Count);
        if (layout.ScratchLength > PackingBuffers.ACapacity)
        {
            return false;
        }

        // Runs of samples fixed by the batch, whatever the thread count, their partial sums added in order.
        var parts = Math.Min(batch, WorkSplitter.ReductionParts);
        var length = window.PatchSize * filters;
        var job = new InPlaceJob
        {
            Input = input, Output = outputGradient, Window = window, Filters = filters, Batch = batch, Parts = parts,
            Partials = parts == 1 ? weightGradient : PackingBuffers.ForCurrentThread().Partials((long)parts * length),
        };
        WorkSplitter.RunIndependent(&WeightGradientParts<TVector, TSimd, TTile>, &job, parts, (long)batch * window.Positions * window.PatchSize * filters);
        Reductions.AddInOrder(job.Partials, parts, length, new Span<float>(weightGradient, length));
        return true;
    }

    /// <summary>Row tiles of ∂W within one kernel row's window values: a tile never straddles two kernel rows.</summary>
    private static int TilesPerSegment(in InPlaceLayout layout, int rows) => (layout.Segment + rows - 1) / rows;

    /// <summary>Parts [<paramref name="from"/>, <paramref name="to"/>) of an in-place weight gradient: each part's samples into its partial ∂W, on this thread's scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradientParts<TVector, TSimd, TTile>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var job = (InPlaceJob*)context;
        var window = job->Window;
        var (rows, width, filters, channels) = (TTile.Rows, TTile.Vectors * TSimd.Count, job->Filters, window.Channels);
        var layout = new InPlaceLayout(window, filters, rows, width);
        var padded = PackingBuffers.ForCurrentThread().A;
        var grid = padded + layout.PaddedLength;
        var scratch = stackalloc float[rows * width];
        var tiles = TilesPerSegment(layout, rows) * window.Kernel;
        var perSegment = TilesPerSegment(layout, rows);
        var length = window.PatchSize * filters;
        // Positions a block: their output gradient, 32 KiB at most, stays in L1 while every tile reads it.
        var blockDepth = Math.Max(16, 32 * 1024 / (layout.PaddedFilters * sizeof(float)));
        var positions = window.OutputHeight * layout.PaddedWidth;
        new Span<float>(padded, layout.PaddedLength).Clear();
        new Span<float>(grid, layout.GridRows * layout.PaddedFilters).Clear();
        for (var part = from; part < to; part++)
        {
            var partStart = part * job->Batch / job->Parts;
            for (var n = partStart; n < (part + 1) * job->Batch / job->Parts; n++)
            {
                PadSample(job->Input + ((long)n * window.InputSize), padded, window, layout);

                // The output gradient over the padded width; its extra positions and columns stay zero.
                var gradient = job->Output + ((long)n * window.Positions * filters);
                for (var p = 0; p < window.Positions; p++)
                {
                    var (oh, ow) = Math.DivRem(p, window.OutputWidth);
                    var bytes = (long)filters * sizeof(float);
                    Buffer.MemoryCopy(gradient + ((long)p * filters), grid + ((((long)oh * layout.PaddedWidth) + ow) * layout.PaddedFilters), bytes, bytes);
                }

                for (var q = 0; q < positions; q += blockDepth)
                {
                    var kc = Math.Min(blockDepth, positions - q);
                    var accumulate = n > partStart || q > 0;
                    for (var t = 0; t < tiles; t++)
                    {
                        var (kh, tile) = Math.DivRem(t, perSegment);
                        var first = tile * rows;
                        var mr = Math.Min(rows, layout.Segment - first);
                        var a = padded + ((((long)q + ((long)kh * layout.PaddedWidth)) * channels) + first);
                        for (var jr = 0; jr < layout.PaddedFilters; jr += width)
                        {
                            var nr = Math.Min(width, filters - jr);
                            var c = job->Partials + ((long)part * length) + ((((long)kh * layout.Segment) + first) * filters) + jr;
                            var b = grid + ((long)q * layout.PaddedFilters) + jr;
                            if (mr == rows && nr == width)
                            {
                                TTile.RunStrided<TVector, TSimd>(kc, a, channels, b, layout.PaddedFilters, c, filters, accumulate, bias: null, relu: false);
                                continue;
                            }

                            TTile.RunStrided<TVector, TSimd>(kc, a, channels, b, layout.PaddedFilters, scratch, width, accumulate: false, bias: null, relu: false);
                            Gemm.WriteEdge(scratch, width, c, filters, mr, nr, accumulate, relu: false, masked: true);
                        }
                    }
                }
            }
        }
    }
}
