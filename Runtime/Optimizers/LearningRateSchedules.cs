using System;

namespace ModelGen;

/// <summary>
/// A step size that changes over training, evaluated by an <see cref="Optimizer"/> before each update (Keras'
/// <c>LearningRateSchedule</c>). Steps count optimizer updates from 0.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The step size for update <paramref name="step"/> (0-based), given the optimizer's base rate.</summary>
    public abstract float Rate(long step, float baseRate);

    /// <summary>Throws unless <paramref name="value"/> is positive.</summary>
    private protected static void CheckPositive(long value, string name) => ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, name);

    /// <summary>Throws unless <paramref name="value"/> lies in (0, 1].</summary>
    private protected static void CheckFactor(float value, string name)
    {
        if (!(value > 0f && value <= 1f))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in (0, 1].");
        }
    }
}

/// <summary>η·factor^⌊step / every⌋: the rate drops by <c>factor</c> every <c>every</c> steps.</summary>
public sealed class StepDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="every">Steps between drops.</param>
    /// <param name="factor">What each drop multiplies the rate by, in (0, 1].</param>
    public StepDecay(long every, float factor)
    {
        CheckPositive(every, nameof(every));
        CheckFactor(factor, nameof(factor));
        (Every, Factor) = (every, factor);
    }

    /// <summary>Steps between drops.</summary>
    public long Every { get; }

    /// <summary>What each drop multiplies the rate by.</summary>
    public float Factor { get; }

    /// <inheritdoc/>
    public override float Rate(long step, float baseRate) => (float)(baseRate * Math.Pow(Factor, step / Every));
}

/// <summary>η·rate^(step / steps), or with <c>staircase</c> η·rate^⌊step / steps⌋ (Keras' <c>ExponentialDecay</c>).</summary>
public sealed class ExponentialDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="steps">Steps over which the rate is multiplied by <paramref name="rate"/> once.</param>
    /// <param name="rate">The decay per <paramref name="steps"/> steps, in (0, 1].</param>
    /// <param name="staircase">Whether to decay in whole steps of <paramref name="steps"/>.</param>
    public ExponentialDecay(long steps, float rate, bool staircase = false)
    {
        CheckPositive(steps, nameof(steps));
        CheckFactor(rate, nameof(rate));
        (Steps, DecayRate, Staircase) = (steps, rate, staircase);
    }

    /// <summary>Steps per decay.</summary>
    public long Steps { get; }

    /// <summary>The decay per <see cref="Steps"/> steps.</summary>
    public float DecayRate { get; }

    /// <summary>Whether the decay happens in whole steps.</summary>
    public bool Staircase { get; }

    /// <inheritdoc/>
    public override float Rate(long step, float baseRate)
    {
        var exponent = Staircase ? (double)(step / Steps) : (double)step / Steps;
        return (float)(baseRate * Math.Pow(DecayRate, exponent));
    }
}

/// <summary>
/// η·((1 − α)·½·(1 + cos(π·min(step, steps) / steps)) + α): from η down to α·η along half a cosine over
/// <c>steps</c> steps, then constant (Keras' <c>CosineDecay</c>).
/// </summary>
public sealed class CosineDecay : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="steps">Steps to decay over, e.g. epochs × batches per epoch.</param>
    /// <param name="alpha">The final rate as a fraction of the base rate, in [0, 1].</param>
    public CosineDecay(long steps, float alpha = 0f)
    {
        CheckPositive(steps, nameof(steps));
        if (!(alpha >= 0f && alpha <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must lie in [0, 1].");
        }

        (Steps, Alpha) = (steps, alpha);
    }

    /// <summary>Steps to decay over.</summary>
    public long Steps { get; }

    /// <summary>The final fraction of the base rate.</summary>
    public float Alpha { get; }

    /// <inheritdoc/>
    public override float Rate(long step, float baseRate)
    {
        var progress = (double)Math.Min(step, Steps) / Steps;
        var cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return (float)(baseRate * (((1 - Alpha) * cosine) + Alpha));
    }
}

/// <summary>
/// A linear warm-up from η / warm-up steps to η over the first <c>steps</c> updates, then another schedule (counting
/// its steps from the end of the warm-up), or the base rate.
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="steps">Warm-up steps.</param>
    /// <param name="then">The schedule after the warm-up; none keeps the base rate.</param>
    public LinearWarmup(long steps, LearningRateSchedule? then = null)
    {
        CheckPositive(steps, nameof(steps));
        (Steps, Then) = (steps, then);
    }

    /// <summary>Warm-up steps.</summary>
    public long Steps { get; }

    /// <summary>The schedule after the warm-up.</summary>
    public LearningRateSchedule? Then { get; }

    /// <inheritdoc/>
    public override float Rate(long step, float baseRate) => step < Steps
        ? (float)(baseRate * (step + 1) / Steps)
        : Then?.Rate(step - Steps, baseRate) ?? baseRate;
}
