using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;

namespace ModelGen.Losses;

/// <summary>
/// Softmax followed by cross-entropy, fused, over rows of <c>classes</c> logits: per sample
/// L = log Σⱼ exp(zⱼ) − Σⱼ yⱼ·zⱼ (with Σ y = 1), averaged over the batch: Keras'
/// <c>categorical_crossentropy(from_logits=True)</c> and, with class indices, its sparse form. The log-sum-exp is
/// taken after subtracting the row's maximum, so no logit is large enough to overflow; the gradient is
/// ∂L/∂z = (softmax(z) − y) / batch, with values below 2⁻⁶⁴ in magnitude stored as zero.
/// </summary>
/// <remarks>
/// <para>
/// Why the floor: once the model is sure of a sample, its other classes' probabilities underflow into the subnormal
/// floats (exp(z) below z = −87), and every multiply-add of the backward products that reads one takes a microcode
/// assist. Measured on the Fashion MLP trained past its fit on 3,000 images, a training step slowed from about 500 µs
/// to 700-940 µs over 40,000 steps; with the floor it stayed at 360-500 µs. What is dropped is far below anything that
/// could change a weight: the optimizers already read weight gradients below 2⁻⁵⁵ as zero.
/// </para>
/// <para>
/// Targets come in one of two layouts, told apart by their length: one class index per sample (a float holding a
/// whole number in [0, classes)), or one probability per class and sample (one-hot or soft labels).
/// </para>
/// </remarks>
public static class SoftmaxCrossEntropy
{
    /// <summary>The mean loss of <paramref name="logits"/> (rows of <paramref name="classes"/>) against <paramref name="targets"/>.</summary>
    public static float Value(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, int classes) =>
        Compute(logits, targets, classes, Span<float>.Empty);

    /// <summary>The mean loss, and ∂L/∂z = (softmax(z) − y) / batch written to <paramref name="gradient"/>.</summary>
    public static float ValueAndGradient(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient, int classes)
    {
        Guard.Length(gradient, logits.Length, nameof(gradient));
        return Compute(logits, targets, classes, gradient);
    }

    /// <summary>
    /// Carries a gradient on the predictions (the softmax probabilities p = softmax(z) that <c>PredictBatch</c> gives)
    /// back to the logits: ∂/∂zⱼ = pⱼ · (gⱼ − Σₖ gₖ·pₖ) per row. The seed of a model's <c>InputGradients</c>.
    /// </summary>
    public static void PredictionGradient(ReadOnlySpan<float> logits, ReadOnlySpan<float> predictionGradient, Span<float> logitGradient, int classes)
    {
        var rows = Rows(logits, classes);
        Guard.Length(predictionGradient, logits.Length, nameof(predictionGradient));
        Guard.Length(logitGradient, logits.Length, nameof(logitGradient));
        for (var r = 0; r < rows; r++)
        {
            var z = logits.Slice(r * classes, classes);
            var g = predictionGradient.Slice(r * classes, classes);
            var dz = logitGradient.Slice(r * classes, classes);
            var logSum = LogSumExp(z);
            var weighted = 0.0;
            for (var j = 0; j < classes; j++)
            {
                weighted += g[j] * MathF.Exp(z[j] - logSum);
            }

            for (var j = 0; j < classes; j++)
            {
                dz[j] = MathF.Exp(z[j] - logSum) * (g[j] - (float)weighted);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Compute(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, int classes, Span<float> gradient)
    {
        var rows = Rows(logits, classes);
        var labels = targets.Length == rows;
        if (!labels)
        {
            Guard.Length(targets, logits.Length, nameof(targets));
        }

        if (!gradient.IsEmpty)
        {
            return WithGradient(logits, targets, labels, classes, gradient);
        }

        var total = 0.0;
        for (var r = 0; r < rows; r++)
        {
            var z = logits.Slice(r * classes, classes);
            var logSum = LogSumExp(z);
            total += labels
                ? logSum - z[Label(targets[r], classes, r)]
                : (logSum * TensorPrimitives.Sum(targets.Slice(r * classes, classes))) - TensorPrimitives.Dot(targets.Slice(r * classes, classes), z);
        }

        return (float)(total / rows);
    }

    /// <summary>
    /// The loss and its gradient in three passes over the whole batch (each row's maximum subtracted; one vectorized
    /// exponential of every value; each row's sum, loss and scaled gradient) rather than row by row: with ten classes,
    /// the half-dozen vector calls a row took cost more than their arithmetic (11 µs for a batch of 64, now 5-7 µs inside
    /// a training step; docs/performance.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float WithGradient(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, bool labels, int classes, Span<float> gradient)
    {
        var rows = logits.Length / classes;
        var scale = 1f / rows;
        var total = 0.0;
        const int RowBlock = 64;
        Span<float> maxima = stackalloc float[RowBlock];
        for (var first = 0; first < rows; first += RowBlock)
        {
            var count = Math.Min(RowBlock, rows - first);
            var block = gradient.Slice(first * classes, count * classes);
            for (var r = 0; r < count; r++)
            {
                ref var z = ref Unsafe.Add(ref MemoryMarshal.GetReference(logits), (first + r) * classes);
                var max = z;
                for (var j = 1; j < classes; j++)
                {
                    var value = Unsafe.Add(ref z, j);
                    max = value > max ? value : max;
                }

                maxima[r] = max;
                ref var shifted = ref Unsafe.Add(ref MemoryMarshal.GetReference(block), r * classes);
                for (var j = 0; j < classes; j++)
                {
                    Unsafe.Add(ref shifted, j) = Unsafe.Add(ref z, j) - max;
                }
            }

            TensorPrimitives.Exp(block, block);
            for (var r = 0; r < count; r++)
            {
                var row = first + r;
                ref var z = ref Unsafe.Add(ref MemoryMarshal.GetReference(logits), row * classes);
                ref var g = ref Unsafe.Add(ref MemoryMarshal.GetReference(block), r * classes);
                var sum = 0f;
                for (var j = 0; j < classes; j++)
                {
                    sum += Unsafe.Add(ref g, j);
                }

                var logSum = maxima[r] + MathF.Log(sum);
                var inverse = 1f / sum;
                if (labels)
                {
                    // (p − y) / batch: p = e / Σe, y one at the label (p − 0 is p itself, so only the label's value differs).
                    var label = Label(targets[row], classes, row);
                    total += logSum - Unsafe.Add(ref z, label);
                    var labelValue = ((Unsafe.Add(ref g, label) * inverse) - 1f) * scale;
                    for (var j = 0; j < classes; j++)
                    {
                        Unsafe.Add(ref g, j) = Unsafe.Add(ref g, j) * inverse * scale;
                    }

                    Unsafe.Add(ref g, label) = labelValue;
                }
                else
                {
                    ref var y = ref Unsafe.Add(ref MemoryMarshal.GetReference(targets), row * classes);
                    var targetSum = 0f;
                    var dot = 0f;
                    for (var j = 0; j < classes; j++)
                    {
                        var target = Unsafe.Add(ref y, j);
                        targetSum += target;
                        dot += target * Unsafe.Add(ref z, j);
                        Unsafe.Add(ref g, j) = ((Unsafe.Add(ref g, j) * inverse) - target) * scale;
                    }

                    total += (logSum * targetSum) - dot;
                }
            }

            ModelGen.Kernels.Underflow.FlushBelow(block, ModelGen.Kernels.Underflow.LossGradientFloor);
        }

        return (float)(total / rows);
    }

    /// <summary>The class index a label target holds; throws unless it is a whole number in [0, classes).</summary>
    internal static int Label(float target, int classes, int row)
    {
        var label = (int)target;
        if (label != target || label < 0 || label >= classes)
        {
            throw new ArgumentException(
                $"Sample {row}'s label is {target}; a class index must be a whole number from 0 to {classes - 1}.", "targets");
        }

        return label;
    }

    internal static int Rows(ReadOnlySpan<float> logits, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.IsEmpty || logits.Length % classes != 0)
        {
            throw new ArgumentException($"Expected whole rows of {classes} logits, at least one, but the span holds {logits.Length}.", nameof(logits));
        }

        return logits.Length / classes;
    }

    /// <summary>log Σ exp z, taken as max z + log Σ exp(z − max z) so that no exponent is positive.</summary>
    private static float LogSumExp(ReadOnlySpan<float> z)
    {
        var max = TensorPrimitives.Max(z);
        var sum = 0f;
        foreach (var value in z)
        {
            sum += MathF.Exp(value - max);
        }

        return max + MathF.Log(sum);
    }
}
