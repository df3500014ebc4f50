using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// Batch normalization over the rows of [rows × features] data: a dense layer's batch, or a channels-last image's
/// batch × positions, which normalizes each channel.
/// </summary>
/// <remarks>
/// <para>
/// Every value meets its feature's statistics or coefficients. The data is walked in pieces of at most
/// <see cref="TileFloats"/> values, each laid against a tile that holds those per-feature values at the same offsets,
/// so that each step is one vector pass over a whole piece: with few features (an image's channels) a piece is several
/// whole rows and the tile repeats the features once per row; with many, a piece is one block of at most
/// <see cref="TileFloats"/> features of one row. Rows of 16 channels, one call per row, cost nine times a copy of the
/// data in training and seventeen times in backward (`batchnorm`, docs/performance.md).
/// </para>
/// <para>
/// The rows are cut into at most <see cref="WorkSplitter.ReductionParts"/> parts fixed by the data's shape alone; each
/// part adds its rows into a tile of its own, and the parts' tiles are added in part order. The kernel threads take
/// parts as they come, so large batches run on several cores and the result is the same, bit for bit, for every
/// thread count.
/// </para>
/// </remarks>
public static unsafe partial class Normalization
{
    /// <summary>Floats of one tile of per-feature values: 2 KiB, on the stack.</summary>
    private const int TileFloats = 512;

    /// <summary>Pieces a part of the rows holds at least: 8 × 2 KiB, so that a part is worth handing to another core.</summary>
    private const int MinPiecesPerPart = 8;

    /// <summary>
    /// Batch normalization while training, over the rows of <paramref name="x"/> (rows of <c>gamma.Length</c> features):
    /// per feature, μ_B and the biased σ²_B over the batch; x̂ = (x − μ_B) / √(σ²_B + ε); y = γ ⊙ x̂ + β. Keeps x̂ and
    /// 1 / √(σ²_B + ε) (one per feature) for <see cref="BatchNormBackward"/>, and moves the running averages:
    /// running ← momentum·running + (1 − momentum)·batch statistic, where the variance's statistic is the unbiased
    /// σ²_B · n / (n − 1) over the n rows, as PyTorch keeps it (so that its running_var is this one). A channels-last image is normalized per channel by
    /// passing its batch × positions as the rows. σ²_B is the mean of the centred squares (two passes over x), not
    /// E[x²] − μ², which cancels badly when the mean is large.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormTraining(
        ReadOnlySpan<float> x, Span<float> y, Span<float> normalized, Span<float> inverseDeviation,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> runningMean, Span<float> runningVariance, float momentum, float epsilon)
    {
        var features = gamma.Length;
        var rows = CheckRows(x, features, nameof(x));
        CheckBatchNorm(y, normalized, inverseDeviation, beta, runningMean, runningVariance, x.Length, features);
        if (rows == 0)
        {
            return;
        }

        var tiling = new FeatureTiling(rows, features);
        var partials = stackalloc float[WorkSplitter.ReductionParts * TileFloats];
        var first = stackalloc float[TileFloats];
        var second = stackalloc float[TileFloats];
        var third = stackalloc float[TileFloats];
        fixed (float* px = x, py = y, pNormalized = normalized)
        {
            var job = new BatchNormJob { X = px, Y = py, Normalized = pNormalized, Partials = partials, Tiling = tiling };
            for (var block = 0; block < tiling.Blocks; block++)
            {
                (job.From, job.Width) = tiling.Block(block);
                var (from, width) = (job.From, job.Width);
                var tileLength = tiling.TileLength(width);

                // μ_B: each part adds its pieces into a tile, the parts' tiles are added, then the tile's copies.
                RunParts(&SumRows, &job);
                var mean = inverseDeviation.Slice(from, width); // holds μ_B until 1 / σ replaces it
                FoldParts(partials, tiling.Parts, tileLength, mean);
                TensorPrimitives.Multiply(mean, 1f / rows, mean);
                for (var f = 0; f < width; f++)
                {
                    runningMean[from + f] = (momentum * runningMean[from + f]) + ((1f - momentum) * mean[f]);
                }

                // x − μ_B into x̂'s place, and σ²_B from its squares the same way.
                Repeat(mean, new Span<float>(first, tileLength));
                job.First = first;
                RunParts(&CentreRows, &job);
                var variance = new Span<float>(second, width);
                FoldParts(partials, tiling.Parts, tileLength, variance);
                TensorPrimitives.Multiply(variance, 1f / rows, variance);
                var unbiased = rows > 1 ? rows / (rows - 1f) : 1f;
                for (var f = 0; f < width; f++)
                {
                    runningVariance[from + f] = (momentum * runningVariance[from + f]) + ((1f - momentum) * (variance[f] * unbiased));
                    mean[f] = 1f / MathF.Sqrt(variance[f] + epsilon);
                }

                // x̂ = (x − μ_B) / σ, y = γ ⊙ x̂ + β.
                Repeat(inverseDeviation.Slice(from, width), new Span<float>(first, tileLength));
                Repeat(gamma.Slice(from, width), new Span<float>(second, tileLength));
                Repeat(beta.Slice(from, width), new Span<float>(third, tileLength));
                job.First = first;
                job.Second = second;
                job.Third = third;
                RunParts(&ScaleRows, &job);
            }
        }
    }

    /// <summary>
    /// Batch normalization in inference: y = γ ⊙ (x − running mean) / √(running variance + ε) + β, computed as
    /// y = x ⊙ s + t with s = γ / √(running variance + ε) and t = β − running mean ⊙ s per feature.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormInference(
        ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVariance, float epsilon)
    {
        var features = gamma.Length;
        var rows = CheckRows(x, features, nameof(x));
        Guard.Length(y, x.Length, nameof(y));
        Guard.Length(beta, features, nameof(beta));
        Guard.Length(runningMean, features, nameof(runningMean));
        Guard.Length(runningVariance, features, nameof(runningVariance));
        if (rows == 0)
        {
            return;
        }

        var tiling = new FeatureTiling(rows, features);
        var scales = stackalloc float[TileFloats];
        var shifts = stackalloc float[TileFloats];
        fixed (float* px = x, py = y)
        {
            var job = new BatchNormJob { X = px, Y = py, First = scales, Second = shifts, Tiling = tiling };
            for (var block = 0; block < tiling.Blocks; block++)
            {
                (job.From, job.Width) = tiling.Block(block);
                var (from, width) = (job.From, job.Width);
                for (var f = 0; f < width; f++)
                {
                    var scale = gamma[from + f] / MathF.Sqrt(runningVariance[from + f] + epsilon);
                    (scales[f], shifts[f]) = (scale, beta[from + f] - (runningMean[from + f] * scale));
                }

                Repeat(new Span<float>(scales, width), new Span<float>(scales, tiling.TileLength(width)));
                Repeat(new Span<float>(shifts, width), new Span<float>(shifts, tiling.TileLength(width)));
                RunParts(&InferRows, &job);
            }
        }
    }

    /// <summary>
    /// The input gradient of <see cref="BatchNormInference"/>, which is affine in x: dx = dy ⊙ γ / √(running variance + ε)
    /// per feature (rows of <c>γ.Length</c> features, as the forward reads them). <paramref name="dx"/> may be <paramref name="dy"/>.
    /// </summary>
    public static void BatchNormInferenceBackward(
        ReadOnlySpan<float> dy, Span<float> dx, ReadOnlySpan<float> gamma, ReadOnlySpan<float> runningVariance, float epsilon)
    {
        var features = gamma.Length;
        var rows = CheckRows(dy, features, nameof(dy));
        Guard.Length(dx, dy.Length, nameof(dx));
        Guard.Length(runningVariance, features, nameof(runningVariance));
        Span<float> scales = features <= 1024 ? stackalloc float[features] : new float[features];
        for (var f = 0; f < features; f++)
        {
            scales[f] = gamma[f] / MathF.Sqrt(runningVariance[f] + epsilon);
        }

        for (var r = 0; r < rows; r++)
        {
            var source = dy.Slice(r * features, features);
            var target = dx.Slice(r * features, features);
            for (var f = 0; f < features; f++)
            {
                target[f] = source[f] * scales[f];
            }
        }
    }

    /// <summary>
    /// Writes ∂L/∂γ = Σₙ dy ⊙ x̂ and ∂L/∂β = Σₙ dy, and, unless <paramref name="dx"/> is empty,
    /// dx = (g − mean_B(g) − x̂ · mean_B(g ⊙ x̂)) / √(σ²_B + ε) per feature, where g = dy ⊙ γ and the means run over
    /// the batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackward(
        ReadOnlySpan<float> dy, ReadOnlySpan<float> normalized, ReadOnlySpan<float> inverseDeviation, ReadOnlySpan<float> gamma,
        Span<float> gammaGradient, Span<float> betaGradient, Span<float> dx)
    {
        var features = gamma.Length;
        var rows = CheckRows(dy, features, nameof(dy));
        Guard.Length(normalized, dy.Length, nameof(normalized));
        Guard.Length(inverseDeviation, features, nameof(inverseDeviation));
        Guard.Length(gammaGradient, features, nameof(gammaGradient));
        Guard.Length(betaGradient, features, nameof(betaGradient));
        if (!dx.IsEmpty)
        {
            Guard.Length(dx, dy.Length, nameof(dx));
        }

        if (rows == 0)
        {
            gammaGradient.Clear();
            betaGradient.Clear();
            return;
        }

        var tiling = new FeatureTiling(rows, features);
        var partials = stackalloc float[2 * WorkSplitter.ReductionParts * TileFloats];
        var scales = stackalloc float[TileFloats];
        var negatedB = stackalloc float[TileFloats];
        var negatedC = stackalloc float[TileFloats];
        fixed (float* pDy = dy, pNormalized = normalized, pDx = dx)
        {
            var job = new BatchNormJob { Dy = pDy, Normalized = pNormalized, Dx = pDx, Partials = partials, Tiling = tiling };
            for (var block = 0; block < tiling.Blocks; block++)
            {
                (job.From, job.Width) = tiling.Block(block);
                var (from, width) = (job.From, job.Width);
                var tileLength = tiling.TileLength(width);
                RunParts(&GradientSumRows, &job);
                FoldParts(partials, tiling.Parts, tileLength, betaGradient.Slice(from, width));
                FoldParts(partials + (WorkSplitter.ReductionParts * TileFloats), tiling.Parts, tileLength, gammaGradient.Slice(from, width));
                if (dx.IsEmpty)
                {
                    continue;
                }

                // With mean_B(g) = γ·∂L/∂β / N and mean_B(g ⊙ x̂) = γ·∂L/∂γ / N: dx = dy ⊙ a − b − x̂ ⊙ c, where
                // a = γ / σ, b = a·∂L/∂β / N and c = a·∂L/∂γ / N per feature (kept negated: two fused passes).
                for (var f = 0; f < width; f++)
                {
                    var scale = gamma[from + f] * inverseDeviation[from + f];
                    scales[f] = scale;
                    negatedB[f] = -scale * betaGradient[from + f] / rows;
                    negatedC[f] = -scale * gammaGradient[from + f] / rows;
                }

                Repeat(new Span<float>(scales, width), new Span<float>(scales, tileLength));
                Repeat(new Span<float>(negatedB, width), new Span<float>(negatedB, tileLength));
                Repeat(new Span<float>(negatedC, width), new Span<float>(negatedC, tileLength));
                job.First = scales;
                job.Second = negatedB;
                job.Third = negatedC;
                RunParts(&InputGradientRows, &job);
            }
        }
    }

    /// <summary>What the parts of one block share: the data, the parts' own tiles and the per-feature tiles, all on the caller's stack or pinned by it.</summary>
    private struct BatchNormJob
    {
        public float* X;
        public float* Y;
        public float* Normalized;
        public float* Dy;
        public float* Dx;

        /// <summary>One tile per part (and, in backward, a second set after the first <see cref="WorkSplitter.ReductionParts"/>).</summary>
        public float* Partials;

        public float* First;
        public float* Second;
        public float* Third;
        public FeatureTiling Tiling;
        public int From;
        public int Width;

        /// <summary>Part tile number <paramref name="index"/>.</summary>
        public readonly Span<float> PartTile(int index) => new(Partials + (index * TileFloats), TileFloats);

        /// <summary>Where the piece of the current block that starts at <paramref name="row"/> lies in the data, and how long it is.</summary>
        public readonly (int Start, int Length) Piece(int row) => ((row * Tiling.Features) + From, Math.Min(Tiling.RowsPerPiece, Tiling.Rows - row) * Width);
    }

    /// <summary>Runs parts [0, parts) of a block, over the kernel threads when the block is large enough.</summary>
    private static void RunParts(delegate*<void*, int, int, void> body, BatchNormJob* job) =>
        WorkSplitter.RunIndependent(body, job, job->Tiling.Parts, (long)job->Tiling.Rows * job->Width);

    /// <summary>Parts' sums of x, each into its own tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumRows(void* context, int from, int to)
    {
        var job = (BatchNormJob*)context;
        for (var part = from; part < to; part++)
        {
            var sums = job->PartTile(part);
            sums.Clear();
            var (first, end) = job->Tiling.PartRows(part);
            for (var row = first; row < end; row += job->Tiling.RowsPerPiece)
            {
                var (start, length) = job->Piece(row);
                TensorPrimitives.Add(new ReadOnlySpan<float>(job->X + start, length), sums.Slice(0, length), sums.Slice(0, length));
            }
        }
    }

    /// <summary>x − μ_B (μ_B tiled in <see cref="BatchNormJob.First"/>) into x̂'s place, and the parts' sums of its squares.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CentreRows(void* context, int from, int to)
    {
        var job = (BatchNormJob*)context;
        for (var part = from; part < to; part++)
        {
            var squares = job->PartTile(part);
            squares.Clear();
            var (first, end) = job->Tiling.PartRows(part);
            for (var row = first; row < end; row += job->Tiling.RowsPerPiece)
            {
                var (start, length) = job->Piece(row);
                var centred = new Span<float>(job->Normalized + start, length);
                TensorPrimitives.Subtract(new ReadOnlySpan<float>(job->X + start, length), new ReadOnlySpan<float>(job->First, length), centred);
                TensorPrimitives.MultiplyAdd(centred, centred, squares.Slice(0, length), squares.Slice(0, length));
            }
        }
    }

    /// <summary>x̂ ⊙ 1/σ in place and y = x̂ ⊙ γ + β, with 1/σ, γ and β tiled in First, Second and Third.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleRows(void* context, int from, int to)
    {
        var job = (BatchNormJob*)context;
        var (first, end) = (job->Tiling.PartRows(from).First, job->Tiling.PartRows(to - 1).End);
        for (var row = first; row < end; row += job->Tiling.RowsPerPiece)
        {
            var (start, length) = job->Piece(row);
            var xhat = new Span<float>(job->Normalized + start, length);
            TensorPrimitives.Multiply(xhat, new ReadOnlySpan<float>(job->First, length), xhat);
            TensorPrimitives.FusedMultiplyAdd(xhat, new ReadOnlySpan<float>(job->Second, length), new ReadOnlySpan<float>(job->Third, length), new Span<float>(job->Y + start, length));
        }
    }

    /// <summary>y = x ⊙ s + t, with s and t tiled in First and Second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InferRows(void* context, int from, int to)
    {
        var job = (BatchNormJob*)context;
        var (first, end) = (job->Tiling.PartRows(from).First, job->Tiling.PartRows(to - 1).End);
        for (var row = first; row < end; row += job->Tiling.RowsPerPiece)
        {
            var (start, length) = job->Piece(row);
            TensorPrimitives.FusedMultiplyAdd(
                new ReadOnlySpan<float>(job->X + start, length), new ReadOnlySpan<float>(job->First, length), new ReadOnlySpan<float>(job->Second, length), new Span<float>(job->Y + start, length));
        }
    }

    /// <summary>The parts' sums of dy and of dy ⊙ x̂, into the first and the second set of part tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientSumRows(void* context, int from, int to)
    {
        var job = (BatchNormJob*)context;
        for (var part = from; part < to; part++)
        {
            var sums = job->PartTile(part);
            var products = job->PartTile(WorkSplitter.ReductionParts + part);
            sums.Clear();
            products.Clear();
            var (first, end) = job->Tiling.PartRows(part);
            for (var row = first; row < end; row += job->Tiling.RowsPerPiece)
            {
                var (start, length) = job->Piece(row);
                var dy = new ReadOnlySpan<float>(job->Dy + start, length);
                TensorPrimitives.Add(dy, sums.Slice(0, length), sums.Slice(0, length));
                TensorPrimitives.MultiplyAdd(dy, new ReadOnlySpan<float>(job->Normalized + start, length), products.Slice(0, length), products.Slice(0, length));
            }
        }
    }

    /// <summary>dx = dy ⊙ a − b − x̂ ⊙ c, with a, −b and −c tiled in First, Second and Third.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradientRows(void* context, int from, int to)
    {
        var job = (BatchNormJob*)context;
        var (first, end) = (job->Tiling.PartRows(from).First, job->Tiling.PartRows(to - 1).End);
        for (var row = first; row < end; row += job->Tiling.RowsPerPiece)
        {
            var (start, length) = job->Piece(row);
            var gradient = new Span<float>(job->Dx + start, length);
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(job->Dy + start, length), new ReadOnlySpan<float>(job->First, length), new ReadOnlySpan<float>(job->Second, length), gradient);
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(job->Normalized + start, length), new ReadOnlySpan<float>(job->Third, length), gradient, gradient);
        }
    }

    /// <summary>
    /// The parts' tiles added in part order, then the tile's copies added together:
    /// <paramref name="sums"/>[f] = Σ over parts, Σᵢ tile[i·width + f].
    /// </summary>
    private static void FoldParts(float* partials, int parts, int tileLength, Span<float> sums)
    {
        var total = new Span<float>(partials, tileLength);
        Reductions.AddInOrder(partials, parts, TileFloats, total);

        var width = sums.Length;
        total.Slice(0, width).CopyTo(sums);
        for (var at = width; at < tileLength; at += width)
        {
            TensorPrimitives.Add(sums, total.Slice(at, width), sums);
        }
    }

    /// <summary>Fills <paramref name="tile"/> with copies of <paramref name="values"/>, which may be its own beginning.</summary>
    private static void Repeat(ReadOnlySpan<float> values, Span<float> tile)
    {
        for (var at = values.Length; at < tile.Length; at += values.Length)
        {
            values.CopyTo(tile.Slice(at));
        }

        if (!Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(tile)))
        {
            values.CopyTo(tile);
        }
    }

    private static void CheckBatchNorm(
        Span<float> y, Span<float> normalized, Span<float> inverseDeviation, ReadOnlySpan<float> beta,
        Span<float> runningMean, Span<float> runningVariance, int length, int features)
    {
        Guard.Length(y, length, nameof(y));
        Guard.Length(normalized, length, nameof(normalized));
        Guard.Length(inverseDeviation, features, nameof(inverseDeviation));
        Guard.Length(beta, features, nameof(beta));
        Guard.Length(runningMean, features, nameof(runningMean));
        Guard.Length(runningVariance, features, nameof(runningVariance));
        if (length < features)
        {
            throw new ArgumentException("Batch normalization needs at least one sample.", nameof(y));
        }
    }

    /// <summary>
    /// How batch normalization walks [rows × features] data: blocks of at most <see cref="TileFloats"/> features (one
    /// block unless there are more); within a block, pieces of <see cref="RowsPerPiece"/> whole rows (several only when
    /// the block is every feature, so that the rows lie one after another); and the rows cut into
    /// <see cref="Parts"/> parts of whole pieces, fixed by the shape alone.
    /// </summary>
    private readonly struct FeatureTiling
    {
        public FeatureTiling(int rows, int features)
        {
            (Rows, Features) = (rows, features);
            RowsPerPiece = features <= TileFloats ? TileFloats / features : 1;
            var pieces = (rows + RowsPerPiece - 1) / RowsPerPiece;
            var parts = Math.Clamp(pieces / MinPiecesPerPart, 1, WorkSplitter.ReductionParts);
            RowsPerPart = (pieces + parts - 1) / parts * RowsPerPiece;
            Parts = (rows + RowsPerPart - 1) / RowsPerPart;
        }

        public int Rows { get; }

        public int Features { get; }

        public int RowsPerPiece { get; }

        /// <summary>Rows of a part: a whole number of pieces (the last part may hold fewer).</summary>
        public int RowsPerPart { get; }

        public int Parts { get; }

        public int Blocks => (Features + TileFloats - 1) / TileFloats;

        /// <summary>The first feature of a block, and how many it holds.</summary>
        public (int From, int Width) Block(int index) => (index * TileFloats, Math.Min(TileFloats, Features - (index * TileFloats)));

        /// <summary>The floats of a tile for a block of <paramref name="width"/> features: one copy per row of a piece.</summary>
        public int TileLength(int width) => RowsPerPiece * width;

        /// <summary>The rows [First, End) of a part.</summary>
        public (int First, int End) PartRows(int part) => (part * RowsPerPart, Math.Min(Rows, (part + 1) * RowsPerPart));
    }
}
