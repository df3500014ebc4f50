using System;

namespace ModelGen.Initializers;

/// <summary>Draws a layer's weights by an <see cref="Initializer"/>: the formulas of Glorot &amp; Bengio (2010), He et al. (2015) and LeCun (1998), as Keras implements them.</summary>
public static class WeightInitializer
{
    /// <summary>The standard deviation of N(0, 1) truncated to [−2, 2]: truncated draws are divided by it so that their variance is the one named.</summary>
    private const float TruncatedStandardDeviation = 0.879625661f;

    /// <summary>Fills <paramref name="weights"/> from <paramref name="random"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A fan is not positive, or <paramref name="kind"/> is <see cref="Initializer.Auto"/> or undefined.</exception>
    public static void Fill(Span<float> weights, Initializer kind, int fanIn, int fanOut, ref SeededRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanIn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanOut);
        switch (kind)
        {
            case Initializer.GlorotUniform:
                Uniform(weights, MathF.Sqrt(6f / (fanIn + fanOut)), ref random);
                break;
            case Initializer.HeUniform:
                Uniform(weights, MathF.Sqrt(6f / fanIn), ref random);
                break;
            case Initializer.LecunUniform:
                Uniform(weights, MathF.Sqrt(3f / fanIn), ref random);
                break;
            case Initializer.GlorotNormal:
                TruncatedNormal(weights, MathF.Sqrt(2f / (fanIn + fanOut)), ref random);
                break;
            case Initializer.HeNormal:
                TruncatedNormal(weights, MathF.Sqrt(2f / fanIn), ref random);
                break;
            case Initializer.LecunNormal:
                TruncatedNormal(weights, MathF.Sqrt(1f / fanIn), ref random);
                break;
            case Initializer.SmallNormal:
                Normal(weights, SmallStandardDeviation, ref random);
                break;
            case Initializer.StandardNormal:
                Normal(weights, 1f, ref random);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Pick a concrete initializer: Auto is resolved by the generator.");
        }
    }

    /// <summary>σ of <see cref="Initializer.SmallNormal"/>: GPT-2's 0.02.</summary>
    public const float SmallStandardDeviation = 0.02f;

    /// <summary>N(0, σ²), not truncated: standard normals by Box–Muller, scaled.</summary>
    public static void Normal(Span<float> weights, float standardDeviation, ref SeededRandom random)
    {
        for (var i = 0; i < weights.Length; i++)
        {
            // 1 − u lies in (0, 1], so the logarithm is finite.
            var u = 1f - random.NextSingle();
            var v = random.NextSingle();
            weights[i] = standardDeviation * MathF.Sqrt(-2f * MathF.Log(u)) * MathF.Cos(2f * MathF.PI * v);
        }
    }

    /// <summary>U(−limit, limit), e.g. PyTorch's recurrent layers' U(±1/√hidden).</summary>
    public static void Uniform(Span<float> weights, float limit, ref SeededRandom random)
    {
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = random.NextSingle(-limit, limit);
        }
    }

    /// <summary>N(0, σ²) truncated at 2σ: standard normals by Box–Muller, redrawn beyond ±2, rescaled.</summary>
    private static void TruncatedNormal(Span<float> weights, float standardDeviation, ref SeededRandom random)
    {
        var scale = standardDeviation / TruncatedStandardDeviation;
        for (var i = 0; i < weights.Length; i++)
        {
            float z;
            do
            {
                // 1 − u lies in (0, 1], so the logarithm is finite.
                var u = 1f - random.NextSingle();
                var v = random.NextSingle();
                z = MathF.Sqrt(-2f * MathF.Log(u)) * MathF.Cos(2f * MathF.PI * v);
            }
            while (MathF.Abs(z) > 2f);

            weights[i] = z * scale;
        }
    }
}
