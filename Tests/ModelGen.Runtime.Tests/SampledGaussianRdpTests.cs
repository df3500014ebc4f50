using System;
using ModelGen.Privacy;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The one-step Rényi DP of the sampled Gaussian mechanism and the log-space helpers under it: special functions
/// against 50-digit values, the integer-order closed form against the fractional-order series and against exact
/// small cases, the series against direct numerical integration of A_α, and TensorFlow Privacy's published RDP values.
/// </summary>
public class SampledGaussianRdpTests
{
    /// <summary>log erfc(x), computed with mpmath at 50 significant digits (mpmath.log(mpmath.erfc(x))).</summary>
    [Theory]
    [InlineData(-30.0, 0.69314718055994530942)]
    [InlineData(-5.0, 0.69314718055917657952)]
    [InlineData(-1.5, 0.67605450273396056397)]
    [InlineData(-0.3, 0.28414589714140825864)]
    [InlineData(0.0, 0.0)]
    [InlineData(1e-10, -1.1283791671591745511e-10)]
    [InlineData(0.2, -0.25193223378261666096)]
    [InlineData(1.0, -1.8496055099332482486)]
    [InlineData(1.4999, -3.384141218397752249)]
    [InlineData(1.5, -3.3844920895515527203)]
    [InlineData(2.0, -5.3649412646166375745)]
    [InlineData(5.0, -27.200889545537434422)]
    [InlineData(27.0, -732.86888650789741098)]
    [InlineData(1000.0, -1000007.4801207219062)]
    public void LogErfc_matches_50_digit_values(double x, double expected)
    {
        var actual = LogMath.LogErfc(x);
        Assert.True(Math.Abs(actual - expected) <= 2e-15 * Math.Abs(expected), $"log erfc({x}) = {actual:R}, expected {expected:R}");
    }

    [Fact]
    public void LogErfc_at_the_ends_of_the_line()
    {
        Assert.Equal(Math.Log(2.0), LogMath.LogErfc(double.NegativeInfinity));
        Assert.Equal(double.NegativeInfinity, LogMath.LogErfc(double.PositiveInfinity));
        Assert.True(double.IsNaN(LogMath.LogErfc(double.NaN)));
    }

    [Theory]
    [InlineData(1e-20)]
    [InlineData(-3e-12)]
    [InlineData(1e-5)]
    [InlineData(0.3)]
    [InlineData(-0.7)]
    [InlineData(40.0)]
    public void Log1P_ExpM1_and_their_compositions_keep_small_arguments_exact(double x)
    {
        // Against the Taylor series where |x| is small, and against the naive formula where it is not.
        var log1P = Math.Abs(x) < 1e-4 ? x - x * x / 2 + x * x * x / 3 : Math.Log(1 + x);
        var expM1 = Math.Abs(x) < 1e-4 ? x + x * x / 2 + x * x * x / 6 : Math.Exp(x) - 1;
        if (x > -1)
        {
            Assert.Equal(log1P, LogMath.Log1P(x), 1e-15 * Math.Abs(log1P));
        }

        Assert.Equal(expM1, LogMath.ExpM1(x), 1e-15 * Math.Abs(expM1));
        if (x > 0)
        {
            Assert.Equal(Math.Log(expM1), LogMath.LogExpM1(x), 1e-15 * Math.Max(1, Math.Abs(Math.Log(expM1))));
        }

        Assert.Equal(LogMath.Log1P(Math.Exp(x)), LogMath.Log1PExp(x), 1e-15 * Math.Max(1, Math.Abs(x)));
    }

    /// <summary>With q = 1 every record is in every batch: the Gaussian mechanism's RDP α/(2σ²), exactly.</summary>
    [Theory]
    [InlineData(1.0, 2.0)]
    [InlineData(1.1, 1.25)]
    [InlineData(0.3, 63.0)]
    [InlineData(4.530877117, 17.5)]
    [InlineData(100.0, 512.0)]
    public void Full_sampling_is_the_Gaussian_mechanism_exactly(double sigma, double alpha)
    {
        Assert.Equal(alpha / (2 * sigma * sigma), SampledGaussianMechanism.Rdp(sigma, 1.0, alpha));
    }

    /// <summary>And the general formulas (integer and fractional α) tend to α/(2σ²) as q → 1.</summary>
    [Theory]
    [InlineData(1.0, 2.0)]
    [InlineData(1.1, 1.25)]
    [InlineData(0.8, 7.5)]
    [InlineData(2.0, 32.0)]
    [InlineData(3.0, 10.9)]
    public void The_general_formulas_tend_to_the_Gaussian_mechanism_as_q_tends_to_1(double sigma, double alpha)
    {
        const double q = 1 - 1e-10;
        var gaussian = alpha / (2 * sigma * sigma);
        Assert.Equal(gaussian, SampledGaussianMechanism.Rdp(sigma, q, alpha), 1e-7 * gaussian);
        if (alpha == Math.Floor(alpha))
        {
            Assert.Equal(gaussian, SampledGaussianMechanism.LogASeries(q, sigma, alpha) / (alpha - 1), 1e-7 * gaussian);
        }
    }

    [Fact]
    public void No_sampling_costs_nothing_and_no_noise_gives_no_guarantee()
    {
        Assert.Equal(0.0, SampledGaussianMechanism.Rdp(0.0, 0.0, 2.5));
        Assert.Equal(0.0, SampledGaussianMechanism.Rdp(1.0, 0.0, 32));
        Assert.Equal(double.PositiveInfinity, SampledGaussianMechanism.Rdp(0.0, 0.01, 2.5));
        Assert.Equal(double.PositiveInfinity, SampledGaussianMechanism.Rdp(0.0, 1.0, 8));
    }

    /// <summary>
    /// At an integer α the fractional series of Mironov et al. (2019, Section 3.3) stops after α + 1 terms and must
    /// equal the closed form of Section 3.2, computed here as log(1 + B) by a different route.
    /// </summary>
    [Theory]
    [InlineData(0.004, 1.1, 2)]
    [InlineData(0.004, 1.1, 13)]
    [InlineData(0.01, 2.5, 50)]
    [InlineData(0.01, 2.5, 100)]
    [InlineData(0.04, 1.5, 4)]
    [InlineData(0.1, 2.0, 5)]
    [InlineData(0.3, 0.7, 20)]
    [InlineData(0.5, 1.0, 9)]
    [InlineData(0.9, 0.5, 30)]
    [InlineData(1e-5, 0.1, 256)]
    [InlineData(0.99, 0.1, 256)]
    [InlineData(1e-3, 10.0, 512)]
    public void Integer_closed_form_equals_the_fractional_series_at_integer_orders(double q, double sigma, int alpha)
    {
        var closedForm = SampledGaussianMechanism.LogAIntegerOrder(q, sigma, alpha);
        var series = SampledGaussianMechanism.LogASeries(q, sigma, alpha);
        Assert.True(Math.Abs(closedForm - series) <= 1e-10 * closedForm + 1e-15,
            $"log A: closed form {closedForm:R}, series {series:R}");
    }

    /// <summary>Just off an integer, the fractional series joins the integer closed form continuously.</summary>
    [Theory]
    [InlineData(0.004, 1.1, 8)]
    [InlineData(0.04, 1.5, 3)]
    [InlineData(0.2, 0.9, 17)]
    [InlineData(0.6, 2.0, 2)]
    public void The_fractional_series_is_continuous_across_integer_orders(double q, double sigma, int alpha)
    {
        var atInteger = SampledGaussianMechanism.Rdp(sigma, q, alpha);
        foreach (var offset in new[] { -1e-9, 1e-9 })
        {
            var near = SampledGaussianMechanism.Rdp(sigma, q, alpha + offset);
            Assert.True(Math.Abs(near - atInteger) <= 1e-6 * atInteger, $"ρ({alpha + offset:R}) = {near:R}, ρ({alpha}) = {atInteger:R}");
        }
    }

    /// <summary>
    /// α = 2 has the exact form A₂ = (1 − q)² + 2q(1 − q) + q²e^(1/σ²) = 1 + q²(e^(1/σ²) − 1): the closed form keeps full
    /// relative accuracy of log A₂ even at q = 10⁻⁸, where it is about 10⁻¹⁶.
    /// </summary>
    [Theory]
    [InlineData(1e-8, 1.0)]
    [InlineData(1e-6, 3.0)]
    [InlineData(0.004, 1.1)]
    [InlineData(0.3, 0.5)]
    public void Order_two_matches_its_exact_form_to_full_relative_accuracy(double q, double sigma)
    {
        var exact = LogMath.Log1P(q * q * LogMath.ExpM1(1 / (sigma * sigma)));
        var rdp = SampledGaussianMechanism.Rdp(sigma, q, 2);
        Assert.True(Math.Abs(rdp - exact) <= 1e-14 * exact, $"ρ(2) = {rdp:R}, exact {exact:R}");
    }

    /// <summary>
    /// The series against the definition A_α = ∫ N(z; 0, σ²)·((1 − q) + q·e^((2z − 1)/(2σ²)))^α dz, integrated directly
    /// by the trapezoid rule in log space (fine enough that its error is below 10⁻¹²). The parameters are the ones
    /// TensorFlow Privacy's <c>rdp_accountant_test.py</c> checks against multi-precision integration
    /// (<c>test_compute_log_a_equals_mp</c>), plus DP-SGD's usual range; fractional and integer orders.
    /// </summary>
    [Theory]
    [InlineData(1e-7, 0.1, 1.01)]
    [InlineData(1e-6, 0.1, 256.0)]
    [InlineData(1e-5, 0.1, 256.1)]
    [InlineData(1e-6, 1.0, 27.0)]
    [InlineData(1e-4, 1.0, 1.5)]
    [InlineData(1e-3, 1.0, 2.0)]
    [InlineData(0.01, 10.0, 20.0)]
    [InlineData(0.1, 100.0, 20.5)]
    [InlineData(0.99, 0.1, 256.0)]
    [InlineData(0.999, 100.0, 256.1)]
    [InlineData(0.004, 1.1, 1.1)]
    [InlineData(0.004, 1.1, 8.8)]
    [InlineData(0.04, 1.5, 3.9)]
    [InlineData(0.5, 1.0, 1.1)]
    [InlineData(0.3, 0.6, 6.3)]
    public void LogA_matches_numerical_integration(double q, double sigma, double alpha)
    {
        var integral = LogAByIntegration(q, sigma, alpha);
        var computed = alpha == Math.Floor(alpha)
            ? SampledGaussianMechanism.LogAIntegerOrder(q, sigma, alpha)
            : SampledGaussianMechanism.LogASeries(q, sigma, alpha);
        Assert.True(Math.Abs(computed - integral) <= 1e-9 * Math.Abs(integral) + 1e-14,
            $"log A_{alpha}(q = {q}, σ = {sigma}): series {computed:R}, integral {integral:R}");
    }

    /// <summary>
    /// TensorFlow Privacy, <c>tensorflow_privacy/privacy/analysis/rdp_accountant_test.py</c>: <c>test_compute_rdp_scalar</c>
    /// (compute_rdp(q = 0.1, σ = 2, steps = 10, α = 5) = 0.07737 to 5 places) and <c>test_compute_rdp_sequence</c>
    /// (q = 0.01, σ = 2.5, 50 steps, α = 1.5, 2.5, 5, 50, 100 → 0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, to 1e-5).
    /// </summary>
    [Theory]
    [InlineData(0.1, 2.0, 10, 5.0, 0.07737, 5e-6)]
    [InlineData(0.01, 2.5, 50, 1.5, 0.00065, 1e-5)]
    [InlineData(0.01, 2.5, 50, 2.5, 0.001085, 1e-5)]
    [InlineData(0.01, 2.5, 50, 5.0, 0.00218075, 1e-5)]
    [InlineData(0.01, 2.5, 50, 50.0, 0.023846, 1e-5)]
    [InlineData(0.01, 2.5, 50, 100.0, 167.416307, 1e-5)]
    public void Rdp_matches_TensorFlow_Privacy_published_values(double q, double sigma, int steps, double alpha, double expected, double tolerance)
    {
        var accountant = new RdpAccountant([alpha]);
        accountant.Step(sigma, q, steps);
        Span<double> rdp = stackalloc double[1];
        accountant.GetRdp(rdp);
        Assert.Equal(expected, rdp[0], tolerance);
        Assert.Equal(steps * SampledGaussianMechanism.Rdp(sigma, q, alpha), rdp[0]);
    }

    [Theory]
    [InlineData(-1.0, 0.1, 2.0)]
    [InlineData(double.NaN, 0.1, 2.0)]
    [InlineData(double.PositiveInfinity, 0.1, 2.0)]
    [InlineData(1.0, -0.1, 2.0)]
    [InlineData(1.0, 1.1, 2.0)]
    [InlineData(1.0, double.NaN, 2.0)]
    [InlineData(1.0, 0.1, 1.0)]
    [InlineData(1.0, 0.1, 0.5)]
    [InlineData(1.0, 0.1, double.PositiveInfinity)]
    [InlineData(1.0, 0.1, double.NaN)]
    public void Rdp_rejects_arguments_outside_their_domain(double sigma, double q, double alpha)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SampledGaussianMechanism.Rdp(sigma, q, alpha));
    }

    /// <summary>
    /// log A_α by the trapezoid rule on log f(z) = log N(z; 0, σ²) + α·log((1 − q) + q·e^((2z − 1)/(2σ²))), summed in log
    /// space. The mass lies around z = 0 (the (1 − q)^α part) and z = α (the q^α part), each a Gaussian of width σ; the
    /// step resolves σ and the scale σ² over which the bracket turns from one part to the other, so that the rule,
    /// whose error falls exponentially for such smooth integrands, is far below the tolerance.
    /// </summary>
    private static double LogAByIntegration(double q, double sigma, double alpha)
    {
        var step = Math.Min(sigma / 20, sigma * sigma / 4);
        var from = -40 * sigma - 1;
        var to = alpha + 40 * sigma + 1;
        var count = (long)Math.Ceiling((to - from) / step);
        var logQ = Math.Log(q);
        var log1MinusQ = LogMath.Log1P(-q);
        var logNormalization = Math.Log(sigma * Math.Sqrt(2 * Math.PI));
        var sum = new SignedLogSum();
        for (var k = 0; k <= count; k++)
        {
            var z = from + k * step;
            var logF = -z * z / (2 * sigma * sigma) - logNormalization
                + alpha * LogMath.LogAdd(log1MinusQ, logQ + (2 * z - 1) / (2 * sigma * sigma));
            sum.Add(k == 0 || k == count ? logF + Math.Log(0.5) : logF, negative: false);
        }

        return sum.Log + Math.Log(step);
    }
}
