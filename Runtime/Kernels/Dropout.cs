using System;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>Inverted dropout: the training-time forward pass that draws a mask, and the backward pass that reuses it.</summary>
public static class Dropout
{
    /// <summary>
    /// y = x ⊙ mask, where each mask value is 0 with probability <paramref name="rate"/> and 1 / (1 − rate)
    /// otherwise, drawn from <paramref name="random"/>; the mask is kept for <see cref="Backward"/>.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float rate, ref SeededRandom random)
    {
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must lie in [0, 1).");
        }

        Guard.Length(y, x.Length, nameof(y));
        Guard.Length(mask, x.Length, nameof(mask));
        var scale = 1f / (1f - rate);
        for (var i = 0; i < mask.Length; i++)
        {
            mask[i] = random.NextSingle() < rate ? 0f : scale;
        }

        TensorPrimitives.Multiply(x, mask, y);
    }

    /// <summary>dx = dy ⊙ mask: the gradient flows only through the values the forward pass kept.</summary>
    public static void Backward(ReadOnlySpan<float> mask, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.Length(dy, mask.Length, nameof(dy));
        Guard.Length(dx, mask.Length, nameof(dx));
        TensorPrimitives.Multiply(dy, mask, dx);
    }
}
