using System;
using System.Diagnostics.CodeAnalysis;

namespace ModelGen;

/// <summary>Argument checks shared by generated models and the runtime, with messages that say what was expected.</summary>
public static class Guard
{
    /// <summary>Throws unless <paramref name="span"/> holds exactly <paramref name="expected"/> floats.</summary>
    public static void Length(ReadOnlySpan<float> span, int expected, string parameterName)
    {
        if (span.Length != expected)
        {
            ThrowLength(span.Length, expected, parameterName);
        }
    }

    /// <summary>Throws unless <paramref name="span"/> holds exactly <paramref name="expected"/> floats.</summary>
    public static void Length(Span<float> span, int expected, string parameterName) => Length((ReadOnlySpan<float>)span, expected, parameterName);

    /// <summary>The number of samples of <paramref name="sampleSize"/> floats in <paramref name="data"/>, which must hold at least one and a whole number of them.</summary>
    public static int SampleCount(ReadOnlySpan<float> data, int sampleSize, string parameterName)
    {
        if (data.Length == 0 || data.Length % sampleSize != 0)
        {
            ThrowSampleCount(data.Length, sampleSize, parameterName);
        }

        return data.Length / sampleSize;
    }

    /// <summary>
    /// Floats per sample in <paramref name="targets"/> for <paramref name="count"/> samples: <paramref name="outputSize"/>,
    /// or 1 when <paramref name="allowLabels"/> and the targets hold one class index per sample.
    /// </summary>
    public static int TargetSize(ReadOnlySpan<float> targets, int count, int outputSize, bool allowLabels, string parameterName)
    {
        if (targets.Length == (long)count * outputSize)
        {
            return outputSize;
        }

        if (allowLabels && targets.Length == count)
        {
            return 1;
        }

        throw new ArgumentException(
            allowLabels
                ? $"Expected {count} class indices or {count} × {outputSize} probabilities, but the span holds {targets.Length} floats."
                : $"Expected {count} × {outputSize} = {(long)count * outputSize} floats, but the span holds {targets.Length}.",
            parameterName);
    }

    /// <summary>
    /// Floats per sample in the targets of a sequence's cross-entropy: one class index (or −1, not counted) per position,
    /// <paramref name="positions"/> per sample; throws unless there are exactly that many for <paramref name="count"/> samples.
    /// </summary>
    public static int SequenceTargets(ReadOnlySpan<float> targets, int count, int positions, string parameterName)
    {
        if (targets.Length != (long)count * positions)
        {
            throw new ArgumentException(
                $"Expected one class index per position, {count} × {positions} = {(long)count * positions} floats, but the span holds {targets.Length}.", parameterName);
        }

        return positions;
    }

    /// <summary>
    /// Throws unless a loss's inputs are usable: at least one output, and exactly one target per output.
    /// </summary>
    public static void LossInputs(ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets, string outputsName)
    {
        if (outputs.IsEmpty)
        {
            throw new ArgumentException("The loss of an empty batch is undefined.", outputsName);
        }

        Length(targets, outputs.Length, nameof(targets));
    }

    [DoesNotReturn]
    private static void ThrowLength(int actual, int expected, string parameterName) =>
        throw new ArgumentException($"Expected a length of {expected} floats, but the span holds {actual}.", parameterName);

    [DoesNotReturn]
    private static void ThrowSampleCount(int actual, int sampleSize, string parameterName) =>
        throw new ArgumentException(
            $"Expected a non-zero multiple of {sampleSize} floats (whole samples of {sampleSize}), but the span holds {actual}.",
            parameterName);
}
