using System;

namespace ModelGen.Privacy;

/// <summary>
/// How a Rényi DP guarantee (α, ρ) becomes an (ε, δ)-DP guarantee. Either way the accountant takes the smallest ε
/// over its orders, and both also use that ρ bounds the KL divergence, so that δ ≥ √(1 − e^(−ρ)) bounds the total
/// variation distance (Bretagnolle–Huber) and gives ε = 0; a negative ε is reported as 0.
/// </summary>
public enum RdpConversion
{
    /// <summary>
    /// Balle, Barthe, Gaboardi, Hsu &amp; Sato (2020), "Hypothesis testing interpretations and Rényi differential privacy",
    /// Theorem 21 (also Canonne, Kamath &amp; Steinke 2020, Proposition 12): ε = ρ + log((α − 1)/α) − (log δ + log α)/(α − 1).
    /// Smaller than <see cref="Standard"/> at every order, by log(α)/(α − 1) − log(1 − 1/α) &gt; 0, and a theorem in its own
    /// right, so the default; Opacus' <c>RDPAccountant</c> and Google's <c>dp_accounting</c> (TensorFlow Privacy) use it.
    /// </summary>
    Improved,

    /// <summary>
    /// Mironov (2017), "Rényi differential privacy", Proposition 3: ε = ρ + log(1/δ)/(α − 1). What TensorFlow Privacy
    /// and Opacus used before they adopted <see cref="Improved"/>, so what their older published figures (the MNIST
    /// tutorial's ε ≈ 3.01 for σ = 1.1 over 60 epochs at δ = 1e-5) were computed with.
    /// </summary>
    Standard,
}

/// <summary>An (ε, δ)-DP guarantee and the Rényi order it came from.</summary>
/// <param name="Epsilon">ε ≥ 0, or +∞ when no order gives a finite bound.</param>
/// <param name="Delta">δ, as asked for.</param>
/// <param name="Order">The order α that gives the smallest ε (the first such in the accountant's list); NaN when ε is +∞.</param>
public readonly record struct PrivacySpent(double Epsilon, double Delta, double Order);

/// <summary>The conversions of <see cref="RdpConversion"/>, one order at a time.</summary>
internal static class RdpToDp
{
    /// <summary>ε of (<paramref name="alpha"/>, <paramref name="rdp"/>)-RDP at <paramref name="delta"/> in (0, 1).</summary>
    public static double Epsilon(double alpha, double rdp, double delta, RdpConversion conversion)
    {
        if (double.IsPositiveInfinity(rdp) || double.IsNaN(rdp))
        {
            return double.PositiveInfinity;
        }

        // δ ≥ TV ≥ … : with TV ≤ √(1 − e^(−KL)) and KL ≤ ρ, the pair is (0, δ)-DP outright.
        if (delta * delta >= -LogMath.ExpM1(-rdp))
        {
            return 0.0;
        }

        var epsilon = conversion switch
        {
            RdpConversion.Improved => rdp + LogMath.Log1P(-1.0 / alpha) - (Math.Log(delta) + Math.Log(alpha)) / (alpha - 1.0),
            RdpConversion.Standard => rdp - Math.Log(delta) / (alpha - 1.0),
            _ => throw new ArgumentOutOfRangeException(nameof(conversion), conversion, "Unknown RDP conversion."),
        };
        return Math.Max(0.0, epsilon);
    }
}
