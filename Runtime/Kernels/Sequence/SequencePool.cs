using System;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>
/// Pooling of sequences [B × T × F] into vectors [B × F] for sequence classification: the mean over the T positions, or
/// the last position. Each sample's positions are summed in order t = 0, 1, … so the bits do not depend on the batch.
/// </summary>
public static class SequencePool
{
    /// <summary>y[b, :] = (1/T) Σₜ x[b, t, :].</summary>
    /// <exception cref="ArgumentException">A span's length does not fit the shape.</exception>
    public static void Mean(ReadOnlySpan<float> x, Span<float> y, int positions, int features)
    {
        var batch = Batch(x, y, positions, features);
        for (var b = 0; b < batch; b++)
        {
            var row = y.Slice(b * features, features);
            x.Slice(b * positions * features, features).CopyTo(row);
            for (var t = 1; t < positions; t++)
            {
                TensorPrimitives.Add(row, x.Slice(((b * positions) + t) * features, features), row);
            }

            TensorPrimitives.Multiply(row, 1f / positions, row);
        }
    }

    /// <summary>dx[b, t, :] = dy[b, :] / T at every position.</summary>
    /// <exception cref="ArgumentException">A span's length does not fit the shape.</exception>
    public static void MeanBackward(ReadOnlySpan<float> dy, Span<float> dx, int positions, int features)
    {
        var batch = Batch(dx, dy, positions, features);
        for (var b = 0; b < batch; b++)
        {
            var first = dx.Slice(b * positions * features, features);
            TensorPrimitives.Multiply(dy.Slice(b * features, features), 1f / positions, first);
            for (var t = 1; t < positions; t++)
            {
                first.CopyTo(dx.Slice(((b * positions) + t) * features, features));
            }
        }
    }

    /// <summary>y[b, :] = x[b, T − 1, :].</summary>
    /// <exception cref="ArgumentException">A span's length does not fit the shape.</exception>
    public static void Last(ReadOnlySpan<float> x, Span<float> y, int positions, int features)
    {
        var batch = Batch(x, y, positions, features);
        for (var b = 0; b < batch; b++)
        {
            x.Slice((((b + 1) * positions) - 1) * features, features).CopyTo(y.Slice(b * features, features));
        }
    }

    /// <summary>dx[b, T − 1, :] = dy[b, :], and 0 at the other positions.</summary>
    /// <exception cref="ArgumentException">A span's length does not fit the shape.</exception>
    public static void LastBackward(ReadOnlySpan<float> dy, Span<float> dx, int positions, int features)
    {
        var batch = Batch(dx, dy, positions, features);
        dx.Clear();
        for (var b = 0; b < batch; b++)
        {
            dy.Slice(b * features, features).CopyTo(dx.Slice((((b + 1) * positions) - 1) * features, features));
        }
    }

    private static int Batch(ReadOnlySpan<float> sequences, ReadOnlySpan<float> vectors, int positions, int features)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positions);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if (vectors.Length % features != 0 || sequences.Length != (long)vectors.Length * positions)
        {
            throw new ArgumentException(
                $"Expected sequences of {positions} × {features} and vectors of {features}, one of each per sample, but the spans hold {sequences.Length} and {vectors.Length} floats.");
        }

        return vectors.Length / features;
    }
}
