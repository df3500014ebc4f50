using System;
using System.Numerics.Tensors;

namespace ModelGen;

/// <summary>
/// Picks the next token from a language model's logits: the most likely at temperature 0, else a draw from
/// softmax(z / temperature) over the <c>topK</c> most likely tokens (all of them for topK = 0). Allocates nothing.
/// </summary>
public static class TokenSampler
{
    /// <summary>Token ids whose logits are kept for the draw, at most; the scratch must hold as many floats as there are logits.</summary>
    /// <param name="logits">z, one per token of the vocabulary.</param>
    /// <param name="temperature">0 for the most likely token; otherwise positive: below 1 sharpens, above 1 flattens.</param>
    /// <param name="topK">How many of the most likely tokens may be drawn; 0 for all.</param>
    /// <param name="random">The generator the draw advances.</param>
    /// <param name="scratch">At least as many floats as <paramref name="logits"/>, overwritten.</param>
    /// <returns>The token id.</returns>
    /// <exception cref="ArgumentException">The logits are empty, the scratch is too short, or a logit is NaN.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The temperature is negative or not finite, or topK is negative.</exception>
    public static int Sample(ReadOnlySpan<float> logits, float temperature, int topK, ref SeededRandom random, Span<float> scratch)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("There are no logits to sample from.", nameof(logits));
        }

        if (!(temperature >= 0f) || float.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be 0 (the most likely token) or positive and finite.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        if (scratch.Length < logits.Length)
        {
            throw new ArgumentException($"The scratch holds {scratch.Length} floats; {logits.Length} are needed.", nameof(scratch));
        }

        if (TensorPrimitives.IndexOfMax(logits) is var best && float.IsNaN(logits[best]))
        {
            throw new ArgumentException("A logit is NaN: the model's weights have diverged.", nameof(logits));
        }

        if (temperature == 0f || topK == 1)
        {
            return best;
        }

        // The k-th largest logit bounds the tokens kept; ties at the bound are all kept.
        var weights = scratch.Slice(0, logits.Length);
        var bound = float.NegativeInfinity;
        if (topK > 0 && topK < logits.Length)
        {
            logits.CopyTo(weights);
            weights.Sort();
            bound = weights[logits.Length - topK];
        }

        var max = logits[best];
        var total = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            weights[i] = logits[i] >= bound ? MathF.Exp((logits[i] - max) / temperature) : 0f;
            total += weights[i];
        }

        var draw = random.NextSingle() * total;
        var sum = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            sum += weights[i];
            if (draw < sum && weights[i] > 0f)
            {
                return i;
            }
        }

        return best;
    }
}
