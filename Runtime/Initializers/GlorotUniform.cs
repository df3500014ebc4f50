using System;

namespace ModelGen.Initializers;

/// <summary>
/// Glorot (Xavier) uniform initialization: W ~ U(−limit, limit) with limit = √(6 / (fanIn + fanOut)), which keeps
/// the variance of activations and gradients roughly equal across layers (Glorot &amp; Bengio, 2010). Keras' default.
/// </summary>
public static class GlorotUniform
{
    /// <summary>Fills <paramref name="weights"/> from <paramref name="random"/>.</summary>
    public static void Fill(Span<float> weights, int fanIn, int fanOut, ref SeededRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanIn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanOut);
        var limit = MathF.Sqrt(6f / (fanIn + fanOut));
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = random.NextSingle(-limit, limit);
        }
    }
}
