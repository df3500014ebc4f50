using System;

namespace ModelGen.Privacy;

/// <summary>
/// A privacy accountant for DP-SGD: it adds up the Rényi differential privacy of every step of the sampled Gaussian
/// mechanism (Poisson sampling at rate q, noise multiplier σ) at a fixed list of orders α, and converts the total to
/// an (ε, δ) guarantee.
/// </summary>
/// <remarks>
/// <para>
/// Steps compose additively in RDP: T steps at (σ, q) are (α, T·ρ(α))-RDP, with ρ(α) the one-step RDP of
/// <see cref="SampledGaussianMechanism.Rdp"/>, and steps with different (σ, q) add their own. <see cref="GetEpsilon"/>
/// then returns min over α of ε(α, ρ_total(α), δ) by the chosen <see cref="RdpConversion"/> (by default the
/// <see cref="RdpConversion.Improved"/> conversion of Balle et al. 2020; <see cref="RdpConversion.Standard"/> is
/// Mironov 2017's ε = ρ + log(1/δ)/(α − 1)). Every order gives a valid bound, so more orders can only lower ε.
/// </para>
/// <para>
/// <see cref="Step"/> costs O(1) and allocates nothing: steps with the same (σ, q) as the previous ones are only
/// counted, and the per-order RDP (a few milliseconds for the default orders) is computed once per run of equal
/// steps, when (σ, q) changes or when ε is asked for. An instance is not thread-safe.
/// </para>
/// </remarks>
public sealed class RdpAccountant
{
    private static readonly double[] DefaultOrderList = BuildDefaultOrders();

    private readonly double[] _orders;
    private readonly double[] _rdp;
    private double _pendingSigma;
    private double _pendingRate;
    private long _pendingSteps;

    /// <summary>Creates an accountant over <see cref="DefaultOrders"/>.</summary>
    public RdpAccountant()
        : this(DefaultOrderList)
    {
    }

    /// <summary>Creates an accountant over the given orders.</summary>
    /// <param name="orders">At least one order α, each finite and &gt; 1 (integer or fractional, in any order).</param>
    public RdpAccountant(ReadOnlySpan<double> orders)
    {
        if (orders.IsEmpty)
        {
            throw new ArgumentException("An accountant needs at least one Rényi order.", nameof(orders));
        }

        foreach (var order in orders)
        {
            SampledGaussianMechanism.CheckOrder(order, nameof(orders));
        }

        _orders = orders.ToArray();
        _rdp = new double[_orders.Length];
    }

    /// <summary>
    /// The orders an accountant uses unless given others: 1.1, 1.2, …, 10.9 (and 1.25, 1.75, 2.25), every integer from 11 to
    /// 63, and 128, 256, 512. This is the union of Opacus' <c>RDPAccountant.DEFAULT_ALPHAS</c> (1 + x/10 for x = 1…99, and
    /// 12…63) and the list of TensorFlow Privacy's <c>compute_dp_sgd_privacy</c> (1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5,
    /// 4, 4.5, 5…63, 128, 256, 512), so ε is never above what either reports.
    /// </summary>
    public static ReadOnlySpan<double> DefaultOrders => DefaultOrderList;

    /// <summary>The orders α this accountant tracks.</summary>
    public ReadOnlySpan<double> Orders => _orders;

    /// <summary>The number of steps accounted so far.</summary>
    public long Steps { get; private set; }

    /// <summary>
    /// Accounts for <paramref name="steps"/> steps of the sampled Gaussian mechanism. Allocation-free, and O(1) when
    /// (σ, q) is the previous step's; otherwise the previous run of equal steps is added at every order first.
    /// </summary>
    /// <param name="noiseMultiplier">σ ≥ 0: the noise's standard deviation over the clipping norm (0 means no privacy).</param>
    /// <param name="sampleRate">q in [0, 1]: the Poisson sampling probability (batch size / dataset size).</param>
    /// <param name="steps">How many such steps, ≥ 0.</param>
    public void Step(double noiseMultiplier, double sampleRate, long steps = 1)
    {
        SampledGaussianMechanism.CheckNoiseMultiplier(noiseMultiplier);
        SampledGaussianMechanism.CheckSampleRate(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (steps == 0)
        {
            return;
        }

        if (_pendingSteps == 0 || noiseMultiplier != _pendingSigma || sampleRate != _pendingRate)
        {
            Flush();
            _pendingSigma = noiseMultiplier;
            _pendingRate = sampleRate;
        }

        _pendingSteps += steps;
        Steps += steps;
    }

    /// <summary>
    /// The smallest ε, over the orders, for which every step so far is (ε, <paramref name="delta"/>)-DP together, and
    /// the order that gives it.
    /// </summary>
    /// <param name="delta">δ in (0, 1).</param>
    /// <param name="conversion">How RDP becomes (ε, δ)-DP; <see cref="RdpConversion.Improved"/> by default.</param>
    public PrivacySpent GetEpsilon(double delta, RdpConversion conversion = RdpConversion.Improved)
    {
        CheckDelta(delta);
        CheckConversion(conversion);
        Flush();
        var best = double.PositiveInfinity;
        var bestOrder = double.NaN;
        for (var k = 0; k < _orders.Length; k++)
        {
            var epsilon = RdpToDp.Epsilon(_orders[k], _rdp[k], delta, conversion);
            if (epsilon < best)
            {
                best = epsilon;
                bestOrder = _orders[k];
            }
        }

        return new PrivacySpent(best, delta, bestOrder);
    }

    /// <summary>Writes the total RDP ρ(α) of all steps so far at each of <see cref="Orders"/>.</summary>
    /// <param name="destination">As long as <see cref="Orders"/>.</param>
    public void GetRdp(Span<double> destination)
    {
        if (destination.Length != _orders.Length)
        {
            throw new ArgumentException($"Expected a span of {_orders.Length} doubles (one per order), but it holds {destination.Length}.", nameof(destination));
        }

        Flush();
        _rdp.CopyTo(destination);
    }

    /// <summary>Forgets every step: back to zero privacy loss.</summary>
    public void Reset()
    {
        Array.Clear(_rdp);
        _pendingSteps = 0;
        Steps = 0;
    }

    /// <summary>
    /// ε at <paramref name="delta"/> for <paramref name="steps"/> steps of the sampled Gaussian mechanism, over
    /// <see cref="DefaultOrders"/>.
    /// </summary>
    /// <param name="noiseMultiplier">σ ≥ 0.</param>
    /// <param name="sampleRate">q in [0, 1].</param>
    /// <param name="steps">T ≥ 0.</param>
    /// <param name="delta">δ in (0, 1).</param>
    /// <param name="conversion">How RDP becomes (ε, δ)-DP; <see cref="RdpConversion.Improved"/> by default.</param>
    public static PrivacySpent Epsilon(double noiseMultiplier, double sampleRate, long steps, double delta, RdpConversion conversion = RdpConversion.Improved)
    {
        var accountant = new RdpAccountant();
        accountant.Step(noiseMultiplier, sampleRate, steps);
        return accountant.GetEpsilon(delta, conversion);
    }

    /// <summary>
    /// The smallest noise multiplier σ (to a relative <paramref name="tolerance"/>) for which <paramref name="steps"/>
    /// steps at sample rate <paramref name="sampleRate"/> stay within (<paramref name="targetEpsilon"/>,
    /// <paramref name="delta"/>)-DP over <see cref="DefaultOrders"/>: the σ to train DP-SGD with for a privacy budget.
    /// </summary>
    /// <remarks>
    /// ε falls as σ grows (at every order, more noise can only lower the Rényi divergence), so σ is found by doubling
    /// from 1 until ε ≤ target and then bisecting. The σ returned is the upper end of the final interval: its ε is at
    /// most the target, never above it. 0 when q = 0 or no steps are taken (no privacy is spent).
    /// </remarks>
    /// <param name="targetEpsilon">The budget ε &gt; 0.</param>
    /// <param name="sampleRate">q in [0, 1].</param>
    /// <param name="steps">T ≥ 0.</param>
    /// <param name="delta">δ in (0, 1).</param>
    /// <param name="conversion">How RDP becomes (ε, δ)-DP; <see cref="RdpConversion.Improved"/> by default.</param>
    /// <param name="tolerance">The bisection stops when the interval is narrower than this fraction of σ; in (0, 0.1].</param>
    /// <exception cref="ArgumentException">No σ up to 10⁶ reaches the target (δ and ε too small for the orders).</exception>
    public static double NoiseMultiplierFor(double targetEpsilon, double sampleRate, long steps, double delta,
        RdpConversion conversion = RdpConversion.Improved, double tolerance = 1e-6)
    {
        if (!(targetEpsilon > 0.0 && double.IsFinite(targetEpsilon)))
        {
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon, "The target ε must be finite and > 0.");
        }

        SampledGaussianMechanism.CheckSampleRate(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        CheckDelta(delta);
        CheckConversion(conversion);
        if (!(tolerance > 0.0 && tolerance <= 0.1))
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must lie in (0, 0.1].");
        }

        if (sampleRate == 0.0 || steps == 0)
        {
            return 0.0;
        }

        const double MaxNoiseMultiplier = 1e6;
        var accountant = new RdpAccountant();
        double EpsilonAt(double sigma)
        {
            accountant.Reset();
            accountant.Step(sigma, sampleRate, steps);
            return accountant.GetEpsilon(delta, conversion).Epsilon;
        }

        // Invariant: ε(low) > target ≥ ε(high); σ = 0 has ε = +∞.
        var low = 0.0;
        var high = 1.0;
        while (EpsilonAt(high) > targetEpsilon)
        {
            low = high;
            high *= 2.0;
            if (high > MaxNoiseMultiplier)
            {
                throw new ArgumentException(
                    $"No noise multiplier up to {MaxNoiseMultiplier:G} keeps {steps} steps at q = {sampleRate} within (ε = {targetEpsilon}, δ = {delta}).",
                    nameof(targetEpsilon));
            }
        }

        while (high - low > tolerance * high)
        {
            var middle = 0.5 * (low + high);
            if (EpsilonAt(middle) > targetEpsilon)
            {
                low = middle;
            }
            else
            {
                high = middle;
            }
        }

        return high;
    }

    /// <summary>Adds the pending run of equal steps to the per-order totals.</summary>
    private void Flush()
    {
        if (_pendingSteps == 0)
        {
            return;
        }

        for (var k = 0; k < _orders.Length; k++)
        {
            var perStep = SampledGaussianMechanism.RdpUnchecked(_pendingSigma, _pendingRate, _orders[k]);
            if (perStep != 0.0)
            {
                _rdp[k] += _pendingSteps * perStep;
            }
        }

        _pendingSteps = 0;
    }

    private static void CheckDelta(double delta)
    {
        if (!(delta > 0.0 && delta < 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must lie in (0, 1).");
        }
    }

    private static void CheckConversion(RdpConversion conversion)
    {
        if (conversion is not (RdpConversion.Improved or RdpConversion.Standard))
        {
            throw new ArgumentOutOfRangeException(nameof(conversion), conversion, "Unknown RDP conversion.");
        }
    }

    private static double[] BuildDefaultOrders()
    {
        var orders = new System.Collections.Generic.List<double>();
        for (var x = 1; x < 100; x++)
        {
            orders.Add(1.0 + x / 10.0);
            switch (x)
            {
                case 2: orders.Add(1.25); break;       // 1.25, 1.75 and 2.25: from TensorFlow Privacy's list
                case 7: orders.Add(1.75); break;
                case 12: orders.Add(2.25); break;
            }
        }

        for (var alpha = 11; alpha < 64; alpha++)
        {
            orders.Add(alpha);
        }

        orders.AddRange([128, 256, 512]);
        return orders.ToArray();
    }
}
