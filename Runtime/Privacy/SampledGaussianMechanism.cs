using System;

namespace ModelGen.Privacy;

/// <summary>
/// Rényi differential privacy of one step of the sampled Gaussian mechanism: each record is included independently
/// with probability q (Poisson subsampling), the included records' contributions, each of L2 norm at most C, are
/// summed, and Gaussian noise N(0, σ²C²) is added per coordinate (DP-SGD's step, with σ the noise multiplier).
/// </summary>
/// <remarks>
/// <para>
/// Following Mironov, Talwar &amp; Zhang (2019), "Rényi Differential Privacy of the Sampled Gaussian Mechanism"
/// (arXiv:1908.10530), the mechanism is (α, ε(α))-RDP with ε(α) = log A_α / (α − 1), where, for μ₀ = N(0, σ²),
/// μ₁ = N(1, σ²) and μ = (1 − q)·μ₀ + q·μ₁,
/// </para>
/// <para>A_α = E_{z∼μ₀}[(μ(z)/μ₀(z))^α] = E_{z∼μ₀}[((1 − q) + q·e^((2z − 1)/(2σ²)))^α].</para>
/// <para>
/// <b>Integer α</b> (Section 3.2 of the paper): the binomial expansion is finite and E_{μ₀}[e^(i(2z−1)/(2σ²))] = e^((i² − i)/(2σ²)), so
/// A_α = Σ_{i=0..α} C(α, i)·(1 − q)^(α−i)·q^i·e^((i² − i)/(2σ²)). Because Σ C(α, i)(1 − q)^(α−i)q^i = 1, this is computed as
/// log A_α = log(1 + B) with B = Σ_{i=2..α} C(α, i)·(1 − q)^(α−i)·q^i·(e^((i² − i)/(2σ²)) − 1), a sum of positive terms added in
/// log space: log A_α keeps its relative accuracy even when it is tiny (small q), where summing the terms of A_α
/// directly would leave an absolute error of about 10⁻¹⁶.
/// </para>
/// <para>
/// <b>Fractional α</b> (Section 3.3): the integral is split at z₀ = σ²·log(1/q − 1) + ½, where q·μ₁ and (1 − q)·μ₀ cross,
/// and each half is expanded as a binomial series that converges there:
/// A_α = Σ_{i≥0} C(α, i)·[(1 − q)^(α−i)·q^i·e^((i² − i)/(2σ²))·½·erfc((i − z₀)/(√2·σ))
///                      + (1 − q)^i·q^(α−i)·e^((j² − j)/(2σ²))·½·erfc((z₀ − j)/(√2·σ))], j = α − i,
/// with the generalized binomial coefficient C(α, i) = α(α − 1)…(α − i + 1)/i!, whose sign alternates once i &gt; α.
/// Every term is formed in log space (log erfc by <see cref="LogMath.LogErfc"/>) and summed with its sign; the sum stops
/// once i &gt; α and the terms, which then alternate and shrink, fall below e⁻³² of the sum, which bounds the error of an
/// alternating series. At an integer α the coefficients vanish past i = α and this series equals the integer formula
/// (the two halves' erfc factors add to 1), which the tests check.
/// </para>
/// <para>
/// The special cases are exact: q = 0 gives 0; σ = 0 (with q &gt; 0) gives +∞; q = 1 gives the Gaussian mechanism's
/// α/(2σ²). Opacus' <c>opacus/accountants/analysis/rdp.py</c> and TensorFlow Privacy's RDP accountant compute the
/// same quantities.
/// </para>
/// </remarks>
public static class SampledGaussianMechanism
{
    /// <summary>Series terms the fractional-order sum may take before that order is given up as +∞ (no guarantee).</summary>
    internal const int MaxSeriesTerms = 200_000;

    /// <summary>
    /// The Rényi differential privacy ε(α) of one step at <paramref name="order"/> α: log A_α / (α − 1) (see the remarks
    /// of <see cref="SampledGaussianMechanism"/>). T steps compose to T·ε(α).
    /// </summary>
    /// <param name="noiseMultiplier">σ ≥ 0: the noise's standard deviation over the L2 sensitivity (clipping norm).</param>
    /// <param name="sampleRate">q in [0, 1]: the probability with which each record joins a step's batch.</param>
    /// <param name="order">α &gt; 1, finite, integer or not.</param>
    /// <returns>ε(α) ≥ 0, or +∞ when no finite bound is known (σ = 0, or a result that does not fit a double).</returns>
    public static double Rdp(double noiseMultiplier, double sampleRate, double order)
    {
        CheckNoiseMultiplier(noiseMultiplier);
        CheckSampleRate(sampleRate);
        CheckOrder(order);
        return RdpUnchecked(noiseMultiplier, sampleRate, order);
    }

    /// <summary><see cref="Rdp"/> without the argument checks.</summary>
    internal static double RdpUnchecked(double sigma, double q, double alpha)
    {
        if (q == 0.0)
        {
            return 0.0;
        }

        if (sigma == 0.0)
        {
            return double.PositiveInfinity;
        }

        if (q == 1.0)
        {
            return alpha / (2.0 * sigma * sigma);
        }

        var logA = alpha == Math.Floor(alpha) ? LogAIntegerOrder(q, sigma, alpha) : LogASeries(q, sigma, alpha);
        if (double.IsNaN(logA) || double.IsPositiveInfinity(logA))
        {
            return double.PositiveInfinity;
        }

        // A_α ≥ 1 (a Rényi divergence is never negative): a negative value is rounding.
        return Math.Max(0.0, logA / (alpha - 1.0));
    }

    /// <summary>
    /// log A_α for an integer α ≥ 2 and 0 &lt; q &lt; 1, as log(1 + B) with B the positive sum of the remarks.
    /// </summary>
    internal static double LogAIntegerOrder(double q, double sigma, double alpha)
    {
        var logQ = Math.Log(q);
        var log1MinusQ = LogMath.Log1P(-q);
        var halfOverSigma2 = 1.0 / (2.0 * sigma * sigma);

        // log C(α, i), built up from C(α, 0) = 1 by C(α, i + 1) = C(α, i)·(α − i)/(i + 1).
        var logBinomial = Math.Log(alpha) + Math.Log(alpha - 1.0) - Math.Log(2.0);
        var logB = double.NegativeInfinity;
        for (var i = 2.0; i <= alpha; i++)
        {
            var logTerm = logBinomial + i * logQ + (alpha - i) * log1MinusQ + LogMath.LogExpM1((i * i - i) * halfOverSigma2);
            logB = LogMath.LogAdd(logB, logTerm);
            logBinomial += Math.Log((alpha - i) / (i + 1.0));
        }

        return LogMath.Log1PExp(logB);
    }

    /// <summary>
    /// log A_α for 0 &lt; q &lt; 1 by the two-sided series of Mironov et al. (2019), Section 3.3, for any α &gt; 1 (integer
    /// or not). +∞ if the series has not converged after <see cref="MaxSeriesTerms"/> terms, NaN if the signed sum
    /// came out non-positive.
    /// </summary>
    internal static double LogASeries(double q, double sigma, double alpha)
    {
        var logQ = Math.Log(q);
        var log1MinusQ = LogMath.Log1P(-q);
        var halfOverSigma2 = 1.0 / (2.0 * sigma * sigma);
        var sqrt2Sigma = Math.Sqrt(2.0) * sigma;
        var z0 = sigma * sigma * (log1MinusQ - logQ) + 0.5;

        var sum = new SignedLogSum();
        var logBinomial = 0.0;      // log |C(α, i)|
        var negative = false;       // the sign of C(α, i)
        var previousTerm = double.PositiveInfinity;
        for (var n = 0; n < MaxSeriesTerms; n++)
        {
            double i = n;
            var j = alpha - i;
            var below = logBinomial + i * logQ + j * log1MinusQ + (i * i - i) * halfOverSigma2
                + LogMath.LogHalfErfc((i - z0) / sqrt2Sigma);
            var above = logBinomial + j * logQ + i * log1MinusQ + (j * j - j) * halfOverSigma2
                + LogMath.LogHalfErfc((z0 - j) / sqrt2Sigma);
            var term = LogMath.LogAdd(below, above);
            if (double.IsNaN(term))
            {
                return double.NaN;
            }

            sum.Add(term, negative);

            // Past i = α the terms alternate in sign; once they also shrink, the error of stopping is below the last one.
            if (i > alpha && term < previousTerm && term < sum.Log - 32.0)
            {
                return sum.Log;
            }

            previousTerm = term;
            var ratio = (alpha - i) / (i + 1.0);
            if (ratio == 0.0)
            {
                return sum.Log;     // an integer α: C(α, i) = 0 from here on
            }

            if (ratio < 0.0)
            {
                negative = !negative;
                ratio = -ratio;
            }

            logBinomial += Math.Log(ratio);
        }

        return double.PositiveInfinity;
    }

    /// <summary>Throws unless σ is finite and ≥ 0.</summary>
    internal static void CheckNoiseMultiplier(double noiseMultiplier, string name = "noiseMultiplier")
    {
        if (!(noiseMultiplier >= 0.0 && double.IsFinite(noiseMultiplier)))
        {
            throw new ArgumentOutOfRangeException(name, noiseMultiplier, "The noise multiplier σ must be finite and ≥ 0.");
        }
    }

    /// <summary>Throws unless q lies in [0, 1].</summary>
    internal static void CheckSampleRate(double sampleRate, string name = "sampleRate")
    {
        if (!(sampleRate >= 0.0 && sampleRate <= 1.0))
        {
            throw new ArgumentOutOfRangeException(name, sampleRate, "The sample rate q must lie in [0, 1].");
        }
    }

    /// <summary>Throws unless α is finite and &gt; 1.</summary>
    internal static void CheckOrder(double order, string name = "order")
    {
        if (!(order > 1.0 && double.IsFinite(order)))
        {
            throw new ArgumentOutOfRangeException(name, order, "A Rényi order α must be finite and > 1.");
        }
    }
}
