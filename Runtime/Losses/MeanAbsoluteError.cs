using System;
using System.Runtime.CompilerServices;

namespace ModelGen.Losses;

/// <summary>L = Σ |y − t| / N over the N = batch × outputs elements; ∂L/∂y = sign(y − t) / N (0 where y = t).</summary>
public static class MeanAbsoluteError
{
    /// <summary>The loss of <paramref name="predictions"/> against <paramref name="targets"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Value(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        Guard.LossInputs(predictions, targets, nameof(predictions));
        var total = 0.0;
        for (var i = 0; i < predictions.Length; i++)
        {
            total += MathF.Abs(predictions[i] - targets[i]);
        }

        return (float)(total / predictions.Length);
    }

    /// <summary>The loss, and its gradient written to <paramref name="gradient"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ValueAndGradient(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient)
    {
        var value = Value(predictions, targets);
        Guard.Length(gradient, predictions.Length, nameof(gradient));
        var scale = 1f / predictions.Length;
        for (var i = 0; i < predictions.Length; i++)
        {
            var error = predictions[i] - targets[i];
            gradient[i] = error > 0f ? scale : error < 0f ? -scale : error * 0f;
        }

        return value;
    }
}
