using System;
using System.Numerics.Tensors;

namespace ModelGen.Losses;

/// <summary>
/// Softmax cross-entropy over the positions of a batch of sequences, as a language model is trained: logits [N × V]
/// (N = batch·positions rows of V classes) against one integer target per row, where rows whose target is the
/// ignore index (padding, or a prompt not to be learned) take no part. With C the number of rows that count:
/// <code>
/// L = (1/C) Σ_{n counted} (log Σⱼ exp(zₙⱼ) − zₙ,yₙ),   ∂L/∂zₙ = (softmax(zₙ) − onehot(yₙ)) / C, and 0 for ignored rows.
/// </code>
/// PyTorch's <c>cross_entropy(logits, targets, ignore_index=…)</c> with the mean reduction. Each counted row goes through
/// <see cref="SoftmaxCrossEntropy"/>'s fused softmax and loss (row maximum subtracted, tiny gradients flushed to zero).
/// When every row is ignored the loss is 0 and the gradient zero (PyTorch gives NaN; a training step then learns nothing
/// rather than poisoning its weights).
/// </summary>
public static class SequenceCrossEntropy
{
    /// <summary>The mean loss over the rows whose target is not <paramref name="ignoreIndex"/>.</summary>
    /// <exception cref="ArgumentException">The logits are not whole rows of <paramref name="classes"/>, one per target.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A counted target lies outside [0, classes).</exception>
    public static float Value(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, int ignoreIndex) =>
        Compute(logits, targets, classes, ignoreIndex, Span<float>.Empty);

    /// <summary>The mean loss, and ∂L/∂z written to <paramref name="gradient"/> (zero on ignored rows).</summary>
    /// <exception cref="ArgumentException">The logits are not whole rows of <paramref name="classes"/>, one per target, or the gradient's length differs from theirs.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A counted target lies outside [0, classes).</exception>
    public static float ValueAndGradient(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> gradient, int classes, int ignoreIndex)
    {
        Guard.Length(gradient, logits.Length, nameof(gradient));
        return Compute(logits, targets, classes, ignoreIndex, gradient);
    }

    /// <summary>The index a target takes to be ignored when targets are held as floats (<see cref="ValueAndGradient(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int)"/>): −1.</summary>
    public const int IgnoreIndex = -1;

    /// <summary>
    /// The mean loss, with targets held as floats as a model's dataset holds them: each a whole number in [0, classes),
    /// or −1 (<see cref="IgnoreIndex"/>) for a row that does not count.
    /// </summary>
    /// <exception cref="ArgumentException">The logits are not whole rows of <paramref name="classes"/>, one per target.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is neither −1 nor a whole number in [0, classes).</exception>
    public static float Value(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, int classes) =>
        Compute(logits, targets, classes, Span<float>.Empty);

    /// <summary>The mean loss with float targets, and ∂L/∂z written to <paramref name="gradient"/> (zero on ignored rows).</summary>
    /// <exception cref="ArgumentException">The logits are not whole rows of <paramref name="classes"/>, one per target, or the gradient's length differs from theirs.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is neither −1 nor a whole number in [0, classes).</exception>
    public static float ValueAndGradient(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> gradient, int classes)
    {
        Guard.Length(gradient, logits.Length, nameof(gradient));
        return Compute(logits, targets, classes, gradient);
    }

    private static float Compute(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, int classes, Span<float> gradient)
    {
        var rows = SoftmaxCrossEntropy.Rows(logits, classes);
        if (targets.Length != rows)
        {
            throw new ArgumentException($"Expected one target per row of logits, {rows}, but there are {targets.Length}.", nameof(targets));
        }

        var counted = 0;
        for (var r = 0; r < rows; r++)
        {
            var target = targets[r];
            if (target == IgnoreIndex)
            {
                continue;
            }

            if (!(target >= 0f && target < classes) || target != MathF.Floor(target))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(targets), target, $"Row {r}'s target is {target}; a class index must be a whole number in [0, {classes}), or {IgnoreIndex} to be ignored.");
            }

            counted++;
        }

        if (!gradient.IsEmpty)
        {
            gradient.Clear();
        }

        var total = 0.0;
        var scale = counted == 0 ? 0f : 1f / counted;
        for (var r = 0; r < rows; r++)
        {
            if (targets[r] == IgnoreIndex)
            {
                continue;
            }

            var z = logits.Slice(r * classes, classes);
            var label = targets.Slice(r, 1);
            if (gradient.IsEmpty)
            {
                total += SoftmaxCrossEntropy.Value(z, label, classes);
            }
            else
            {
                var g = gradient.Slice(r * classes, classes);
                total += SoftmaxCrossEntropy.ValueAndGradient(z, label, g, classes);
                TensorPrimitives.Multiply(g, scale, g);
            }
        }

        return counted == 0 ? 0f : (float)(total / counted);
    }

    private static float Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int classes, int ignoreIndex, Span<float> gradient)
    {
        var rows = SoftmaxCrossEntropy.Rows(logits, classes);
        if (targets.Length != rows)
        {
            throw new ArgumentException($"Expected one target per row of logits, {rows}, but there are {targets.Length}.", nameof(targets));
        }

        var counted = CountTargets(targets, classes, ignoreIndex);
        if (!gradient.IsEmpty)
        {
            gradient.Clear();
        }

        var total = 0.0;
        Span<float> label = stackalloc float[1];
        for (var r = 0; r < rows; r++)
        {
            if (targets[r] == ignoreIndex)
            {
                continue;
            }

            label[0] = targets[r];
            var z = logits.Slice(r * classes, classes);
            if (gradient.IsEmpty)
            {
                total += SoftmaxCrossEntropy.Value(z, label, classes);
            }
            else
            {
                // One row's mean is its own loss, its gradient softmax − onehot; scaled to the batch's mean here.
                var g = gradient.Slice(r * classes, classes);
                total += SoftmaxCrossEntropy.ValueAndGradient(z, label, g, classes);
                TensorPrimitives.Multiply(g, 1f / counted, g);
            }
        }

        return counted == 0 ? 0f : (float)(total / counted);
    }

    /// <summary>The rows that count; throws at the first counted target outside [0, classes).</summary>
    private static int CountTargets(ReadOnlySpan<int> targets, int classes, int ignoreIndex)
    {
        var counted = 0;
        for (var r = 0; r < targets.Length; r++)
        {
            var target = targets[r];
            if (target == ignoreIndex)
            {
                continue;
            }

            if ((uint)target >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(targets), target,
                    $"Row {r}'s target is {target}; a class index must lie in [0, {classes}) unless it is the ignore index {ignoreIndex}.");
            }

            counted++;
        }

        return counted;
    }
}
