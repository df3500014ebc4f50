using System;
using System.Numerics.Tensors;

namespace ModelGen.Losses;

/// <summary>L = Σ (y − t)² / N over the N = batch × outputs elements: Keras' <c>mean_squared_error</c>, averaged over the batch.</summary>
public static class MeanSquaredError
{
    /// <summary>The loss of <paramref name="predictions"/> against <paramref name="targets"/>.</summary>
    public static float Value(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        Guard.LossInputs(predictions, targets, nameof(predictions));
        var distance = TensorPrimitives.Distance(predictions, targets);
        return distance * distance / predictions.Length;
    }

    /// <summary>The loss, and ∂L/∂y = 2·(y − t) / N written to <paramref name="gradient"/>.</summary>
    public static float ValueAndGradient(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient)
    {
        Guard.LossInputs(predictions, targets, nameof(predictions));
        Guard.Length(gradient, predictions.Length, nameof(gradient));
        TensorPrimitives.Subtract(predictions, targets, gradient);
        var sum = TensorPrimitives.SumOfSquares(gradient);
        TensorPrimitives.Multiply(gradient, 2f / predictions.Length, gradient);
        return sum / predictions.Length;
    }
}
