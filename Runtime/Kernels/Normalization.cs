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
    /// Batch normalization while training, over the rows of <paramref name="x"/> (rows of <c>gamma.Length</c> features):
    /// per feature, μ_B and the biased σ²_B over the batch; x̂ = (x − μ_B) / √(σ²_B + ε); y = γ ⊙ x̂ + β. Keeps x̂ and
    /// 1 / √(σ²_B + ε) (one per feature) for <see cref="BatchNormBackward"/>, and moves the running averages:
    /// running ← momentum·running + (1 − momentum)·batch statistic.
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

        // Column means, then centred squares: two passes over the batch, each a row-wise vector add.
        var mean = inverseDeviation; // reused as scratch for μ_B, then overwritten with 1/σ
        Reductions.ColumnSums(x, mean);
        TensorPrimitives.Multiply(mean, 1f / rows, mean);
        for (var r = 0; r < rows; r++)
        {
            TensorPrimitives.Subtract(x.Slice(r * features, features), mean, normalized.Slice(r * features, features));
        }

        // Running mean first, while μ_B is still at hand.
        for (var f = 0; f < features; f++)
        {
            runningMean[f] = (momentum * runningMean[f]) + ((1f - momentum) * mean[f]);
        }

        var variance = y.Slice(0, features); // scratch: y is written only after the statistics
        variance.Clear();
        for (var r = 0; r < rows; r++)
        {
            var centred = normalized.Slice(r * features, features);
            TensorPrimitives.MultiplyAdd(centred, centred, variance, variance);
        }

        TensorPrimitives.Multiply(variance, 1f / rows, variance);
        for (var f = 0; f < features; f++)
        {
            runningVariance[f] = (momentum * runningVariance[f]) + ((1f - momentum) * variance[f]);
            inverseDeviation[f] = 1f / MathF.Sqrt(variance[f] + epsilon);
        }

        for (var r = 0; r < rows; r++)
        {
            var xhat = normalized.Slice(r * features, features);
            TensorPrimitives.Multiply(xhat, inverseDeviation, xhat);
            TensorPrimitives.FusedMultiplyAdd(xhat, gamma, beta, y.Slice(r * features, features));
        }
    }

    /// <summary>Batch normalization in inference: y = γ ⊙ (x − running mean) / √(running variance + ε) + β.</summary>
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
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < features; f++)
            {
                var i = (r * features) + f;
                y[i] = (gamma[f] * (x[i] - runningMean[f]) / MathF.Sqrt(runningVariance[f] + epsilon)) + beta[f];
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
        ScaleShiftGradients(dy, normalized, gammaGradient, betaGradient);

        if (dx.IsEmpty || rows == 0)
        {
            return;
        }

        Guard.Length(dx, dy.Length, nameof(dx));
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < features; f++)
            {
                // mean_B(g) = γ·Σdy / N = γ·∂L/∂β / N, mean_B(g ⊙ x̂) = γ·∂L/∂γ / N.
                var i = (r * features) + f;
                var meanG = gamma[f] * betaGradient[f] / rows;
                var meanGX = gamma[f] * gammaGradient[f] / rows;
                dx[i] = ((dy[i] * gamma[f]) - meanG - (normalized[i] * meanGX)) * inverseDeviation[f];
            }
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
