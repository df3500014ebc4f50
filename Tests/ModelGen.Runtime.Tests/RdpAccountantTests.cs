using System;
using System.Linq;
using ModelGen.Privacy;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The RDP accountant: (ε, δ) figures that TensorFlow Privacy and Opacus publish, reproduced with the orders, step
/// counts and conversion each one used; monotonicity in σ, q and T; the conversions; σ for a budget; and the
/// accountant's bookkeeping (composition, no allocation on <see cref="RdpAccountant.Step"/>).
/// </summary>
public class RdpAccountantTests
{
    /// <summary>
    /// [1 + x / 10. for x in range(1, 100)] + range(12, 64): the orders of TensorFlow Privacy's MNIST tutorial
    /// (<c>tutorials/mnist_dpsgd_tutorial.py</c>, <c>compute_epsilon</c>), which are also Opacus'
    /// <c>RDPAccountant.DEFAULT_ALPHAS</c> (<c>opacus/accountants/rdp.py</c>).
    /// </summary>
    private static readonly double[] TutorialOrders =
        [.. Enumerable.Range(1, 99).Select(x => 1 + x / 10.0), .. Enumerable.Range(12, 52).Select(a => (double)a)];

    /// <summary>
    /// [1.25, 1.5, 1.75, 2., 2.25, 2.5, 3., 3.5, 4., 4.5] + range(5, 64) + [128, 256, 512]: the orders of TensorFlow
    /// Privacy's <c>compute_dp_sgd_privacy.py</c> / <c>compute_dp_sgd_privacy_lib.py</c>.
    /// </summary>
    private static readonly double[] CommandLineOrders =
        [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, .. Enumerable.Range(5, 59).Select(a => (double)a), 128, 256, 512];

    private static PrivacySpent Epsilon(double[] orders, double sigma, double q, long steps, double delta, RdpConversion conversion)
    {
        var accountant = new RdpAccountant(orders);
        accountant.Step(sigma, q, steps);
        return accountant.GetEpsilon(delta, conversion);
    }

    /// <summary>
    /// The MNIST DP-SGD figures of TensorFlow Privacy's <c>tutorials/README.md</c> (60,000 examples, batch 256, δ = 1e-5;
    /// two decimals), with the Standard conversion its accountant then used (ε = ρ + log(1/δ)/(α − 1)):
    /// <list type="bullet">
    /// <item>"Using Command-Line Interface for Privacy Budgeting": <c>compute_dp_sgd_privacy.py --N=60000 --batch_size=256
    /// --noise_multiplier=1.1 --epochs=60 --delta=1e-5</c> "satisfies differential privacy with eps = 3.01"; that script
    /// takes q = 256/60000, T = ⌈60·60000/256⌉ = 14063 and its own orders. Its docstring gives (2.92, 1e-5) for σ = 1.12.</item>
    /// <item>"Expected Output" of <c>mnist_dpsgd_tutorial.py</c> (σ = 1.1: ε = 1.03, 1.11, 3.01 after 1, 2, 60 epochs; in
    /// the later README with σ = 1.12: 1.00, 1.04, 2.92) and "Select Parameters" (σ = 1.3 for 15 epochs: 1.19, σ = 0.7 for
    /// 45: 7.10, σ = 0.6 for 30: 9.74, σ = 1.2 for 10: 1.20); the tutorial counts 60000 // 256 = 234 steps an epoch and
    /// uses its own orders.</item>
    /// </list>
    /// Each is matched within 1%, and all but one to their two published decimals: σ = 0.6 for 30 epochs gives 9.747
    /// (the README says 9.74; 0.07% apart, with either list of orders and step count the figure is 9.747 or 9.774).
    /// </summary>
    [Theory]
    [InlineData("cli", 1.1, 14063, 3.01, true)]
    [InlineData("cli", 1.12, 14063, 2.92, true)]
    [InlineData("tutorial", 1.1, 234, 1.03, true)]
    [InlineData("tutorial", 1.1, 2 * 234, 1.11, true)]
    [InlineData("tutorial", 1.1, 60 * 234, 3.01, true)]
    [InlineData("tutorial", 1.12, 234, 1.00, true)]
    [InlineData("tutorial", 1.12, 2 * 234, 1.04, true)]
    [InlineData("tutorial", 1.12, 60 * 234, 2.92, true)]
    [InlineData("tutorial", 1.3, 15 * 234, 1.19, true)]
    [InlineData("tutorial", 0.7, 45 * 234, 7.10, true)]
    [InlineData("tutorial", 0.6, 30 * 234, 9.74, false)]
    [InlineData("tutorial", 1.2, 10 * 234, 1.20, true)]
    public void Mnist_figures_of_TensorFlow_Privacy(string how, double sigma, long steps, double published, bool sameDigits)
    {
        var orders = how == "cli" ? CommandLineOrders : TutorialOrders;
        var spent = Epsilon(orders, sigma, 256 / 60000.0, steps, 1e-5, RdpConversion.Standard);
        Assert.True(Math.Abs(spent.Epsilon - published) <= 0.01 * published, $"ε = {spent.Epsilon:R}, published {published}");
        if (sameDigits)
        {
            Assert.Equal(published, Math.Round(spent.Epsilon, 2));
        }
    }

    /// <summary>
    /// Opacus' <c>examples/mnist_README.md</c>: <c>mnist.py -n=15 --sigma=1.3 -sr=0.004</c> logs "(ε = 0.71, δ = 1e-05) for
    /// α = 18.0" after its first epoch of 240 steps (60,000 × 0.004), with the Standard conversion Opacus used then.
    /// </summary>
    [Fact]
    public void Mnist_first_epoch_of_Opacus_example()
    {
        var spent = Epsilon(TutorialOrders, 1.3, 0.004, 240, 1e-5, RdpConversion.Standard);
        Assert.Equal(0.71, Math.Round(spent.Epsilon, 2));
        Assert.Equal(18.0, spent.Order);
    }

    /// <summary>
    /// Opacus' <c>opacus/tests/accountants_test.py</c>, <c>test_rdp_accountant</c>: σ = 1.5, q = 0.04, T = int(90 / 0.04) =
    /// 2250 steps one by one, δ = 1e-5 → ε = 7.32911117143 (to 7 places), over <c>DEFAULT_ALPHAS</c> with the Improved
    /// conversion of Balle et al. (2020) that <c>get_privacy_spent</c> applies. Reproduced to 10⁻¹⁰, stepping one at a time.
    /// </summary>
    [Fact]
    public void Opacus_accountant_test_value()
    {
        var accountant = new RdpAccountant(TutorialOrders);
        for (var i = 0; i < 2250; i++)
        {
            accountant.Step(noiseMultiplier: 1.5, sampleRate: 0.04);
        }

        var spent = accountant.GetEpsilon(1e-5);
        Assert.Equal(7.32911117143, spent.Epsilon, 1e-9);
        Assert.Equal(2250, accountant.Steps);
    }

    /// <summary>
    /// TensorFlow Privacy's <c>tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py</c>,
    /// <c>test_compute_dp_sgd_privacy</c>: (n, batch, σ, epochs, δ) → (ε, best order), through
    /// <c>compute_dp_sgd_privacy_lib.compute_dp_sgd_privacy</c> (q = batch/n, T = ⌈epochs·n/batch⌉, its orders, and
    /// <c>dp_accounting</c>'s Improved conversion). The last row (σ = 0.1, a million steps) stresses the series far out.
    /// </summary>
    [Theory]
    [InlineData(60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0)]
    [InlineData(100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0)]
    [InlineData(100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25)]
    public void TensorFlow_Privacy_compute_dp_sgd_privacy_test_values(long n, int batch, double sigma, int epochs, double delta, double published, double order)
    {
        var steps = (long)Math.Ceiling(epochs * (double)n / batch);
        var spent = Epsilon(CommandLineOrders, sigma, (double)batch / n, steps, delta, RdpConversion.Improved);
        Assert.True(Math.Abs(spent.Epsilon - published) <= 1e-10 * published, $"ε = {spent.Epsilon:R}, published {published:R}");
        Assert.Equal(order, spent.Order);
    }

    /// <summary>
    /// TensorFlow Privacy's <c>rdp_accountant_test.py</c>, <c>test_get_privacy_spent_check_target_delta</c>: a constant
    /// ρ = 1.1 at orders 2…32 (pure DP) at δ = 1e-5 gives ε = 1.32783806176 at α = 32 under the Improved conversion.
    /// </summary>
    [Fact]
    public void Improved_conversion_matches_TensorFlow_Privacy_on_constant_rdp()
    {
        var best = double.PositiveInfinity;
        var bestOrder = 0.0;
        for (var alpha = 2; alpha <= 32; alpha++)
        {
            var epsilon = RdpToDp.Epsilon(alpha, 1.1, 1e-5, RdpConversion.Improved);
            if (epsilon < best)
            {
                (best, bestOrder) = (epsilon, alpha);
            }
        }

        Assert.Equal(1.32783806176, best, 1e-10);
        Assert.Equal(32, bestOrder);
        Assert.Equal(1.1 + Math.Log(1e5) / 31, RdpToDp.Epsilon(32, 1.1, 1e-5, RdpConversion.Standard), 1e-15);
    }

    /// <summary>
    /// The same test's Gaussian case: q = 1, σ = 4.530877117, "chosen to obtain exactly (1, 1e-6)-DP" over the fine orders
    /// 0.001·i (TensorFlow Privacy asserts ε = 1 to 7 places; α = 1 itself is left out here, as no conversion uses it).
    /// </summary>
    [Fact]
    public void Gaussian_mechanism_calibrated_to_epsilon_one()
    {
        var orders = Enumerable.Range(1001, 99000 - 1).Select(i => 0.001 * i).ToArray();
        var spent = Epsilon(orders, 4.530877117, 1.0, 1, 1e-6, RdpConversion.Improved);
        Assert.Equal(1.0, spent.Epsilon, 5e-8);
    }

    /// <summary>Opacus <c>get_noise_multiplier</c> (bisected to 0.01): ε = 8, δ = 1e-5, q = 0.04, for 90 epochs (2250 steps)
    /// σ = 1.416, for 2000 steps σ = 1.3562 (<c>opacus/tests/accountants_test.py</c>, <c>test_get_noise_multiplier_rdp_*</c>).</summary>
    [Theory]
    [InlineData(2250, 1.416)]
    [InlineData(2000, 1.3562)]
    public void NoiseMultiplierFor_matches_Opacus(long steps, double published)
    {
        var sigma = RdpAccountant.NoiseMultiplierFor(8, 0.04, steps, 1e-5);
        Assert.True(Math.Abs(sigma - published) <= 0.01 * published, $"σ = {sigma:R}, published {published}");
        Assert.True(Math.Abs(sigma - published) <= 0.01, "within Opacus' own bisection tolerance");
    }

    [Fact]
    public void Epsilon_falls_as_the_noise_multiplier_grows()
    {
        foreach (var conversion in new[] { RdpConversion.Improved, RdpConversion.Standard })
        {
            var previous = double.PositiveInfinity;
            foreach (var sigma in new[] { 0.5, 0.6, 0.8, 1.0, 1.1, 1.5, 2.0, 4.0, 10.0 })
            {
                var epsilon = RdpAccountant.Epsilon(sigma, 0.01, 1000, 1e-5, conversion).Epsilon;
                Assert.True(epsilon < previous, $"σ = {sigma}: ε = {epsilon} not below {previous}");
                previous = epsilon;
            }
        }
    }

    [Fact]
    public void Epsilon_grows_with_the_number_of_steps()
    {
        foreach (var conversion in new[] { RdpConversion.Improved, RdpConversion.Standard })
        {
            var previous = 0.0;
            foreach (var steps in new long[] { 1, 10, 100, 1000, 10_000, 100_000 })
            {
                var epsilon = RdpAccountant.Epsilon(1.1, 0.004, steps, 1e-5, conversion).Epsilon;
                Assert.True(epsilon > previous, $"T = {steps}: ε = {epsilon} not above {previous}");
                previous = epsilon;
            }
        }
    }

    [Fact]
    public void Epsilon_grows_with_the_sample_rate()
    {
        foreach (var conversion in new[] { RdpConversion.Improved, RdpConversion.Standard })
        {
            var previous = 0.0;
            foreach (var q in new[] { 1e-4, 1e-3, 0.004, 0.01, 0.1, 0.5, 0.9, 1.0 })
            {
                var epsilon = RdpAccountant.Epsilon(1.5, q, 100, 1e-5, conversion).Epsilon;
                Assert.True(epsilon > previous, $"q = {q}: ε = {epsilon} not above {previous}");
                previous = epsilon;
            }
        }
    }

    /// <summary>
    /// The Improved conversion is below the Standard one at every order (by log(α)/(α − 1) − log(1 − 1/α) &gt; 0), and the
    /// default orders, a superset of both references' lists, never give more than either list.
    /// </summary>
    [Theory]
    [InlineData(1.1, 256 / 60000.0, 14063)]
    [InlineData(0.7, 0.004, 10_000)]
    [InlineData(1.5, 0.04, 2250)]
    [InlineData(5.0, 0.01, 10)]
    public void Improved_conversion_and_default_orders_only_tighten(double sigma, double q, long steps)
    {
        var improved = RdpAccountant.Epsilon(sigma, q, steps, 1e-5, RdpConversion.Improved).Epsilon;
        var standard = RdpAccountant.Epsilon(sigma, q, steps, 1e-5, RdpConversion.Standard).Epsilon;
        Assert.True(improved < standard);
        foreach (var orders in new[] { TutorialOrders, CommandLineOrders })
        {
            Assert.True(improved <= Epsilon(orders, sigma, q, steps, 1e-5, RdpConversion.Improved).Epsilon);
            Assert.True(standard <= Epsilon(orders, sigma, q, steps, 1e-5, RdpConversion.Standard).Epsilon);
        }

        foreach (var alpha in RdpAccountant.DefaultOrders)
        {
            Assert.True(RdpToDp.Epsilon(alpha, 0.5, 1e-5, RdpConversion.Improved) < RdpToDp.Epsilon(alpha, 0.5, 1e-5, RdpConversion.Standard));
        }
    }

    /// <summary>ε(σ*) for σ* = NoiseMultiplierFor(ε₀) is at most ε₀ and within 10⁻⁴ of it; and σ round-trips through ε.</summary>
    [Theory]
    [InlineData(1.0, 0.004, 14063, 1e-5, RdpConversion.Improved)]
    [InlineData(3.0, 256 / 60000.0, 14063, 1e-5, RdpConversion.Standard)]
    [InlineData(8.0, 0.04, 2250, 1e-5, RdpConversion.Improved)]
    [InlineData(0.5, 0.01, 500, 1e-6, RdpConversion.Improved)]
    [InlineData(10.0, 0.1, 100, 1e-5, RdpConversion.Standard)]
    [InlineData(2.0, 1.0, 1, 1e-5, RdpConversion.Improved)]
    public void NoiseMultiplierFor_round_trips(double targetEpsilon, double q, long steps, double delta, RdpConversion conversion)
    {
        var sigma = RdpAccountant.NoiseMultiplierFor(targetEpsilon, q, steps, delta, conversion);
        var epsilon = RdpAccountant.Epsilon(sigma, q, steps, delta, conversion).Epsilon;
        Assert.True(epsilon <= targetEpsilon, $"σ = {sigma}: ε = {epsilon:R} above the target {targetEpsilon}");
        Assert.True(epsilon >= targetEpsilon * (1 - 1e-4), $"σ = {sigma}: ε = {epsilon:R} far below the target {targetEpsilon}");

        var again = RdpAccountant.NoiseMultiplierFor(epsilon, q, steps, delta, conversion);
        Assert.True(Math.Abs(again - sigma) <= 2e-6 * sigma, $"σ = {sigma:R} → ε = {epsilon:R} → σ = {again:R}");
    }

    [Fact]
    public void NoiseMultiplierFor_edge_cases()
    {
        Assert.Equal(0.0, RdpAccountant.NoiseMultiplierFor(1.0, 0.0, 1000, 1e-5));
        Assert.Equal(0.0, RdpAccountant.NoiseMultiplierFor(1.0, 0.01, 0, 1e-5));
        // With orders up to 512 the Improved conversion cannot go below about 0.03 at δ = 1e-10 unless ρ ≤ δ²: unreachable.
        Assert.Throws<ArgumentException>(() => RdpAccountant.NoiseMultiplierFor(0.01, 1.0, 1, 1e-10));
        Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.NoiseMultiplierFor(0.0, 0.01, 10, 1e-5));
        Assert.Throws<ArgumentOutOfRangeException>(() => RdpAccountant.NoiseMultiplierFor(1.0, 0.01, 10, 1e-5, tolerance: 0));
    }

    /// <summary>Steps at several (σ, q), in any grouping, add up to the sum of their separate RDP.</summary>
    [Fact]
    public void Steps_compose_additively_in_any_grouping()
    {
        var mixed = new RdpAccountant();
        mixed.Step(1.1, 0.004, 100);
        mixed.Step(2.0, 0.01, 7);
        mixed.Step(2.0, 0.01, 3);
        mixed.Step(1.1, 0.004);
        mixed.Step(0.8, 0.02, 0);
        var orders = RdpAccountant.DefaultOrders;
        var total = new double[orders.Length];
        mixed.GetRdp(total);
        Assert.Equal(111, mixed.Steps);
        for (var k = 0; k < orders.Length; k++)
        {
            var expected = 101 * SampledGaussianMechanism.Rdp(1.1, 0.004, orders[k]) + 10 * SampledGaussianMechanism.Rdp(2.0, 0.01, orders[k]);
            Assert.Equal(expected, total[k], 1e-12 * expected);
        }

        var oneByOne = new RdpAccountant();
        for (var i = 0; i < 500; i++)
        {
            oneByOne.Step(1.1, 0.004);
        }

        Assert.Equal(RdpAccountant.Epsilon(1.1, 0.004, 500, 1e-5), oneByOne.GetEpsilon(1e-5));

        oneByOne.Reset();
        Assert.Equal(0, oneByOne.Steps);
        Assert.Equal(0.0, oneByOne.GetEpsilon(1e-5).Epsilon);
    }

    [Fact]
    public void No_privacy_cost_and_no_guarantee()
    {
        var none = new RdpAccountant();
        Assert.Equal(0.0, none.GetEpsilon(1e-5).Epsilon);
        none.Step(1.0, 0.0, 1000);
        Assert.Equal(0.0, none.GetEpsilon(1e-5).Epsilon);

        var noNoise = new RdpAccountant();
        noNoise.Step(0.0, 0.01, 1);
        var spent = noNoise.GetEpsilon(1e-5);
        Assert.Equal(double.PositiveInfinity, spent.Epsilon);
        Assert.True(double.IsNaN(spent.Order));
    }

    [Fact]
    public void Step_allocates_nothing()
    {
        var accountant = new RdpAccountant();
        AllocationAssert.NoneAfterWarmUp(() => accountant.Step(1.1, 0.004));

        // Alternating σ makes every step compute the previous run's RDP at every order: still no allocation.
        var alternating = new RdpAccountant([1.5, 2, 2.5, 8, 16.5, 32]);
        var odd = false;
        AllocationAssert.NoneAfterWarmUp(() => alternating.Step((odd = !odd) ? 1.1 : 1.3, 0.004, 3));
    }

    [Fact]
    public void Default_orders_are_the_union_of_the_references_lists()
    {
        var orders = RdpAccountant.DefaultOrders.ToArray();
        Assert.Equal(orders.Length, orders.Distinct().Count());
        Assert.All(TutorialOrders, alpha => Assert.Contains(alpha, orders));
        Assert.All(CommandLineOrders, alpha => Assert.Contains(alpha, orders));
        Assert.Equal(TutorialOrders.Union(CommandLineOrders).Count(), orders.Length);
        Assert.Equal(orders, new RdpAccountant().Orders.ToArray());
    }

    [Fact]
    public void Arguments_outside_their_domain_are_refused()
    {
        var accountant = new RdpAccountant();
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Step(-1.0, 0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Step(1.0, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.Step(1.0, 0.01, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.GetEpsilon(0.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.GetEpsilon(1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.GetEpsilon(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => accountant.GetEpsilon(1e-5, (RdpConversion)7));
        Assert.Throws<ArgumentException>(() => new RdpAccountant([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant([2.0, 1.0]));
        Assert.Throws<ArgumentException>(() => accountant.GetRdp(new double[3]));
        Assert.Equal(0, accountant.Steps);
    }
}
