using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>Layer normalization (over each row, a sample) and batch normalization (over each column, a feature), with their backward passes.</summary>
public static class Normalization
{
    /// <summary>
    /// For each row x of <paramref name="x"/>: x̂ = (x − μ) / √(σ² + ε), y = γ ⊙ x̂ + β. Keeps x̂ in
    /// <paramref name="normalized"/> and 1 / √(σ² + ε) in <paramref name="inverseDeviation"/> (one per row) for
    /// <see cref="LayerNormBackward"/>. μ and σ² are computed in double, from the row's sum and its centred squares.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormForward(
        ReadOnlySpan<float> x, Span<float> y, Span<float> normalized, Span<float> inverseDeviation,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon)
    {
        var size = gamma.Length;
        var rows = CheckRows(x, size, nameof(x));
        Guard.Length(y, x.Length, nameof(y));
        Guard.Length(normalized, x.Length, nameof(normalized));
        Guard.Length(inverseDeviation, rows, nameof(inverseDeviation));
        Guard.Length(beta, size, nameof(beta));
        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * size, size);
            var xhat = normalized.Slice(r * size, size);
            var mean = (float)(Sum(row) / size);
            TensorPrimitives.Subtract(row, mean, xhat);
            var variance = TensorPrimitives.SumOfSquares(xhat) / size;
            var inverse = 1f / MathF.Sqrt(variance + epsilon);
            inverseDeviation[r] = inverse;
            TensorPrimitives.Multiply(xhat, inverse, xhat);
            TensorPrimitives.FusedMultiplyAdd(xhat, gamma, beta, y.Slice(r * size, size));
        }
    }

    /// <summary>
    /// Writes ∂L/∂γ = Σₙ dy ⊙ x̂ and ∂L/∂β = Σₙ dy over the batch, and, unless <paramref name="dx"/> is empty,
    /// dx = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / √(σ² + ε) per row, where g = dy ⊙ γ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormBackward(
        ReadOnlySpan<float> dy, ReadOnlySpan<float> normalized, ReadOnlySpan<float> inverseDeviation, ReadOnlySpan<float> gamma,
        Span<float> gammaGradient, Span<float> betaGradient, Span<float> dx)
    {
        var size = gamma.Length;
        var rows = CheckRows(dy, size, nameof(dy));
        Guard.Length(normalized, dy.Length, nameof(normalized));
        Guard.Length(inverseDeviation, rows, nameof(inverseDeviation));
        Guard.Length(gammaGradient, size, nameof(gammaGradient));
        Guard.Length(betaGradient, size, nameof(betaGradient));
        if (!dx.IsEmpty)
        {
            Guard.Length(dx, dy.Length, nameof(dx));
        }

        ScaleShiftGradients(dy, normalized, gammaGradient, betaGradient);
        for (var r = 0; r < rows && !dx.IsEmpty; r++)
        {
            var g = dy.Slice(r * size, size);
            var xhat = normalized.Slice(r * size, size);

            // dx = inverse · (g·γ − mean(g·γ) − x̂·mean(g·γ·x̂)), built in dx's row.
            var row = dx.Slice(r * size, size);
            TensorPrimitives.Multiply(g, gamma, row);
            var meanG = TensorPrimitives.Sum(row) / size;
            var meanGX = TensorPrimitives.Dot(row, xhat) / size;
            TensorPrimitives.Subtract(row, meanG, row);
            TensorPrimitives.MultiplyAdd(xhat, -meanGX, row, row);
            TensorPrimitives.Multiply(row, inverseDeviation[r], row);
        }
    }

    /// <summary>
    /// Floats of one tile of per-feature values (2 KiB on the stack). Batch normalization meets every value of its
    /// [rows × features] data with its feature's statistics or coefficients; the data is walked in pieces of at most
    /// this many values, each laid against a tile that holds those per-feature values at the same offsets, so that each
    /// step is one vector pass over a whole piece. With few features (an image's channels, rows being the batch's
    /// positions) a piece is several whole rows and the tile repeats the features once per row; with many, a piece is
    /// one block of at most this many features of one row. Rows of 16 channels, one call per row, cost nine times a
    /// copy of the data in training and seventeen times in backward (`batchnorm`, docs/performance.md).
    /// </summary>
    private const int TileFloats = 512;

    /// <summary>
    /// Batch normalization while training, over the rows of <paramref name="x"/> (rows of <c>gamma.Length</c> features):
    /// per feature, μ_B and the biased σ²_B over the batch; x̂ = (x − μ_B) / √(σ²_B + ε); y = γ ⊙ x̂ + β. Keeps x̂ and
    /// 1 / √(σ²_B + ε) (one per feature) for <see cref="BatchNormBackward"/>, and moves the running averages:
    /// running ← momentum·running + (1 − momentum)·batch statistic. A channels-last image is normalized per channel by
    /// passing its batch × positions as the rows.
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

        Span<float> first = stackalloc float[TileFloats];
        Span<float> second = stackalloc float[TileFloats];
        Span<float> third = stackalloc float[TileFloats];
        var tiling = new FeatureTiling(rows, features);
        for (var block = 0; block < tiling.Blocks; block++)
        {
            var (from, width) = tiling.Block(block);
            var sums = first.Slice(0, tiling.TileLength(width));
            var squares = second.Slice(0, tiling.TileLength(width));
            var scale = third.Slice(0, tiling.TileLength(width));

            // μ_B: the pieces added up in a tile, whose copies are then added together.
            sums.Clear();
            for (var row = 0; row < rows; row += tiling.RowsPerPiece)
            {
                var (start, length) = tiling.Piece(row, from, width);
                TensorPrimitives.Add(x.Slice(start, length), sums.Slice(0, length), sums.Slice(0, length));
            }

            var mean = inverseDeviation.Slice(from, width); // holds μ_B until 1 / σ replaces it
            Fold(sums, mean);
            TensorPrimitives.Multiply(mean, 1f / rows, mean);
            for (var f = 0; f < width; f++)
            {
                runningMean[from + f] = (momentum * runningMean[from + f]) + ((1f - momentum) * mean[f]);
            }

            // x − μ_B into x̂'s place, and σ²_B from its squares the same way.
            var means = sums;
            Repeat(mean, means);
            squares.Clear();
            for (var row = 0; row < rows; row += tiling.RowsPerPiece)
            {
                var (start, length) = tiling.Piece(row, from, width);
                var centred = normalized.Slice(start, length);
                TensorPrimitives.Subtract(x.Slice(start, length), means.Slice(0, length), centred);
                TensorPrimitives.MultiplyAdd(centred, centred, squares.Slice(0, length), squares.Slice(0, length));
            }

            var variance = scale.Slice(0, width);
            Fold(squares, variance);
            TensorPrimitives.Multiply(variance, 1f / rows, variance);
            for (var f = 0; f < width; f++)
            {
                runningVariance[from + f] = (momentum * runningVariance[from + f]) + ((1f - momentum) * variance[f]);
                mean[f] = 1f / MathF.Sqrt(variance[f] + epsilon);
            }

            // x̂ = (x − μ_B) / σ, y = γ ⊙ x̂ + β.
            var inverses = sums;
            var gammas = scale;
            var betas = squares;
            Repeat(inverseDeviation.Slice(from, width), inverses);
            Repeat(gamma.Slice(from, width), gammas);
            Repeat(beta.Slice(from, width), betas);
            for (var row = 0; row < rows; row += tiling.RowsPerPiece)
            {
                var (start, length) = tiling.Piece(row, from, width);
                var xhat = normalized.Slice(start, length);
                TensorPrimitives.Multiply(xhat, inverses.Slice(0, length), xhat);
                TensorPrimitives.FusedMultiplyAdd(xhat, gammas.Slice(0, length), betas.Slice(0, length), y.Slice(start, length));
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
        Span<float> first = stackalloc float[TileFloats];
        Span<float> second = stackalloc float[TileFloats];
        var tiling = new FeatureTiling(rows, features);
        for (var block = 0; block < tiling.Blocks && rows > 0; block++)
        {
            var (from, width) = tiling.Block(block);
            var scales = first.Slice(0, tiling.TileLength(width));
            var shifts = second.Slice(0, tiling.TileLength(width));
            for (var f = 0; f < width; f++)
            {
                var scale = gamma[from + f] / MathF.Sqrt(runningVariance[from + f] + epsilon);
                (scales[f], shifts[f]) = (scale, beta[from + f] - (runningMean[from + f] * scale));
            }

            Repeat(scales.Slice(0, width), scales);
            Repeat(shifts.Slice(0, width), shifts);
            for (var row = 0; row < rows; row += tiling.RowsPerPiece)
            {
                var (start, length) = tiling.Piece(row, from, width);
                TensorPrimitives.FusedMultiplyAdd(x.Slice(start, length), scales.Slice(0, length), shifts.Slice(0, length), y.Slice(start, length));
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

        Span<float> first = stackalloc float[TileFloats];
        Span<float> second = stackalloc float[TileFloats];
        Span<float> third = stackalloc float[TileFloats];
        var tiling = new FeatureTiling(rows, features);
        for (var block = 0; block < tiling.Blocks; block++)
        {
            var (from, width) = tiling.Block(block);
            var dyTile = first.Slice(0, tiling.TileLength(width));
            var productTile = second.Slice(0, tiling.TileLength(width));
            var scales = third.Slice(0, tiling.TileLength(width));
            dyTile.Clear();
            productTile.Clear();
            for (var row = 0; row < rows; row += tiling.RowsPerPiece)
            {
                var (start, length) = tiling.Piece(row, from, width);
                var piece = dy.Slice(start, length);
                TensorPrimitives.Add(piece, dyTile.Slice(0, length), dyTile.Slice(0, length));
                TensorPrimitives.MultiplyAdd(piece, normalized.Slice(start, length), productTile.Slice(0, length), productTile.Slice(0, length));
            }

            Fold(dyTile, betaGradient.Slice(from, width));
            Fold(productTile, gammaGradient.Slice(from, width));
            if (dx.IsEmpty || rows == 0)
            {
                continue;
            }

            // With mean_B(g) = γ·∂L/∂β / N and mean_B(g ⊙ x̂) = γ·∂L/∂γ / N: dx = dy ⊙ a − b − x̂ ⊙ c, where
            // a = γ / σ, b = a·∂L/∂β / N and c = a·∂L/∂γ / N per feature (kept negated: two fused passes).
            var negatedB = dyTile;
            var negatedC = productTile;
            for (var f = 0; f < width; f++)
            {
                var scale = gamma[from + f] * inverseDeviation[from + f];
                scales[f] = scale;
                negatedB[f] = -scale * betaGradient[from + f] / rows;
                negatedC[f] = -scale * gammaGradient[from + f] / rows;
            }

            Repeat(scales.Slice(0, width), scales);
            Repeat(negatedB.Slice(0, width), negatedB);
            Repeat(negatedC.Slice(0, width), negatedC);
            for (var row = 0; row < rows; row += tiling.RowsPerPiece)
            {
                var (start, length) = tiling.Piece(row, from, width);
                var gradient = dx.Slice(start, length);
                TensorPrimitives.MultiplyAdd(dy.Slice(start, length), scales.Slice(0, length), negatedB.Slice(0, length), gradient);
                TensorPrimitives.MultiplyAdd(normalized.Slice(start, length), negatedC.Slice(0, length), gradient, gradient);
            }
        }
    }

    /// <summary>
    /// The pieces batch normalization walks [rows × features] data in (see <see cref="TileFloats"/>): blocks of at most
    /// <see cref="TileFloats"/> features (one block unless there are more), and within a block pieces of
    /// <see cref="RowsPerPiece"/> whole rows (several only when the block is every feature, so that the rows lie one
    /// after another).
    /// </summary>
    private readonly struct FeatureTiling(int rows, int features)
    {
        public int RowsPerPiece { get; } = features <= TileFloats ? TileFloats / features : 1;

        public int Blocks => (features + TileFloats - 1) / TileFloats;

        /// <summary>The first feature of a block, and how many it holds.</summary>
        public (int From, int Width) Block(int index) => (index * TileFloats, Math.Min(TileFloats, features - (index * TileFloats)));

        /// <summary>The floats of a tile for a block of <paramref name="width"/> features: one copy per row of a piece.</summary>
        public int TileLength(int width) => RowsPerPiece * width;

        /// <summary>Where the piece that starts at <paramref name="row"/> lies in the data, and how long it is.</summary>
        public (int Start, int Length) Piece(int row, int from, int width) => ((row * features) + from, Math.Min(RowsPerPiece, rows - row) * width);
    }

    /// <summary>Fills <paramref name="tile"/> with copies of <paramref name="values"/> (which may be its own beginning).</summary>
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

    /// <summary>Adds a tile's copies together: <paramref name="sums"/>[f] = Σᵢ tile[i·width + f].</summary>
    private static void Fold(ReadOnlySpan<float> tile, Span<float> sums)
    {
        var width = sums.Length;
        tile.Slice(0, width).CopyTo(sums);
        for (var at = width; at < tile.Length; at += width)
        {
            TensorPrimitives.Add(sums, tile.Slice(at, width), sums);
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

    /// <summary>∂L/∂γ = Σₙ dy ⊙ x̂ and ∂L/∂β = Σₙ dy over the rows: the same for layer and batch normalization.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleShiftGradients(ReadOnlySpan<float> dy, ReadOnlySpan<float> normalized, Span<float> gammaGradient, Span<float> betaGradient)
    {
        var size = gammaGradient.Length;
        Reductions.ColumnSums(dy, betaGradient);
        gammaGradient.Clear();
        for (var start = 0; start < dy.Length; start += size)
        {
            TensorPrimitives.MultiplyAdd(dy.Slice(start, size), normalized.Slice(start, size), gammaGradient, gammaGradient);
        }
    }

    private static double Sum(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var value in values)
        {
            sum += value;
        }

        return sum;
    }

    private static int CheckRows(ReadOnlySpan<float> values, int size, string name)
    {
        if (size == 0 || values.Length % size != 0)
        {
            throw new ArgumentException($"Expected whole rows of {size} values, but the span holds {values.Length}.", name);
        }

        return values.Length / size;
    }
}
