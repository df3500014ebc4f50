using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>
/// Layer normalization (over each row, a sample) and batch normalization (over each column, a feature; in
/// Normalization.Batch.cs), with their backward passes.
/// </summary>
public static partial class Normalization
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

    /// <summary>∂L/∂γ = Σₙ dy ⊙ x̂ and ∂L/∂β = Σₙ dy over the rows of a layer normalization.</summary>
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
