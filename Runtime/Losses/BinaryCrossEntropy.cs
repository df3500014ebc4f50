using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace ModelGen.Losses;

/// <summary>
/// Sigmoid followed by binary cross-entropy, fused, on every output: per element
/// L = max(z, 0) − z·t + log(1 + exp(−|z|)), which equals −t·log σ(z) − (1 − t)·log(1 − σ(z)) without ever
/// forming log 0 or exp of a large positive number; averaged over the batch and the outputs (Keras'
/// <c>binary_crossentropy(from_logits=True)</c>). The gradient is ∂L/∂z = (σ(z) − t) / N, with values below 2⁻⁶⁴ in
/// magnitude stored as zero (see <see cref="SoftmaxCrossEntropy"/>).
/// </summary>
public static class BinaryCrossEntropy
{
    /// <summary>The mean loss of <paramref name="logits"/> against <paramref name="targets"/> (each in [0, 1]; others are refused).</summary>
    public static float Value(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets) => Compute(logits, targets, Span<float>.Empty);

    /// <summary>The mean loss, and ∂L/∂z = (σ(z) − t) / N written to <paramref name="gradient"/>.</summary>
    public static float ValueAndGradient(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient)
    {
        Guard.Length(gradient, logits.Length, nameof(gradient));
        return Compute(logits, targets, gradient);
    }

    /// <summary>
    /// Carries a gradient on the predictions (σ(z), what <c>PredictBatch</c> gives) back to the logits:
    /// ∂/∂z = g · σ(z) · (1 − σ(z)) per value. The seed of a model's <c>InputGradients</c>.
    /// </summary>
    public static void PredictionGradient(ReadOnlySpan<float> logits, ReadOnlySpan<float> predictionGradient, Span<float> logitGradient)
    {
        Guard.Length(predictionGradient, logits.Length, nameof(predictionGradient));
        Guard.Length(logitGradient, logits.Length, nameof(logitGradient));
        for (var i = 0; i < logits.Length; i++)
        {
            var p = 1f / (1f + MathF.Exp(-logits[i]));
            logitGradient[i] = predictionGradient[i] * p * (1f - p);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Compute(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient)
    {
        Guard.LossInputs(logits, targets, nameof(logits));
        var total = 0.0;
        var scale = 1f / logits.Length;
        for (var i = 0; i < logits.Length; i++)
        {
            var (z, t) = (logits[i], targets[i]);
            if (!(t >= 0f && t <= 1f))
            {
                ThrowTarget(i, t);
            }

            var e = MathF.Exp(-MathF.Abs(z));
            total += MathF.Max(z, 0f) - (z * t) + MathF.Log(1f + e);
            if (!gradient.IsEmpty)
            {
                // σ(z) from e = exp(−|z|): 1 / (1 + e) for z ≥ 0, e / (1 + e) below, neither overflowing.
                var sigmoid = z >= 0f ? 1f / (1f + e) : e / (1f + e);
                gradient[i] = (sigmoid - t) * scale;
            }
        }

        if (!gradient.IsEmpty)
        {
            ModelGen.Kernels.Underflow.FlushBelow(gradient, ModelGen.Kernels.Underflow.LossGradientFloor);
        }

        return (float)(total / logits.Length);
    }

    /// <summary>
    /// A target outside [0, 1] (or NaN) would give a loss with no meaning and no lower bound, so it is refused rather
    /// than trained on. <c>Fit</c> and <c>Evaluate</c> check their whole dataset first and name the sample's index in it.
    /// </summary>
    [DoesNotReturn]
    private static void ThrowTarget(int index, float target) =>
        throw new ArgumentException(
            $"Target {index} of the batch is {target.ToString(CultureInfo.InvariantCulture)}, but binary cross-entropy takes targets from 0 to 1.",
            "targets");
}
