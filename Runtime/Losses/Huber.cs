using System;
using System.Runtime.CompilerServices;

namespace ModelGen.Losses;

/// <summary>
/// L = Σ h(y − t) / N with h(e) = ½e² for |e| ≤ δ and δ·(|e| − ½δ) beyond: squared near the target, linear far from
/// it, so outliers pull with a bounded force. ∂L/∂y = clamp(y − t, −δ, δ) / N.
/// </summary>
public static class Huber
{
    /// <summary>The loss of <paramref name="predictions"/> against <paramref name="targets"/>.</summary>
    public static float Value(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, float delta) =>
        Compute(predictions, targets, delta, Span<float>.Empty);

    /// <summary>The loss, and its gradient written to <paramref name="gradient"/>.</summary>
    public static float ValueAndGradient(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, float delta)
    {
        Guard.Length(gradient, predictions.Length, nameof(gradient));
        return Compute(predictions, targets, delta, gradient);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Compute(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, float delta, Span<float> gradient)
    {
        if (!(delta > 0f) || float.IsPositiveInfinity(delta))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "Huber's δ must be positive and finite.");
        }

        Guard.LossInputs(predictions, targets, nameof(predictions));
        var total = 0.0;
        var scale = 1f / predictions.Length;
        for (var i = 0; i < predictions.Length; i++)
        {
            var error = predictions[i] - targets[i];
            var size = MathF.Abs(error);
            total += size <= delta ? 0.5f * error * error : delta * (size - (0.5f * delta));
            if (!gradient.IsEmpty)
            {
                gradient[i] = Math.Clamp(error, -delta, delta) * scale;
            }
        }

        return (float)(total / predictions.Length);
    }
}
