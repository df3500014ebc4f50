using System;
using System.Numerics.Tensors;

namespace ModelGen;

/// <summary>The counts behind <see cref="EvaluationResult"/>'s metrics.</summary>
internal static class Metrics
{
    /// <summary>
    /// Samples whose most probable class (the first, on ties) is the target's: its label when targets hold one class
    /// index per sample, else its largest target probability.
    /// </summary>
    public static long CountCorrectClasses(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> targets, int classes)
    {
        var rows = probabilities.Length / classes;
        var labels = targets.Length == rows;
        long correct = 0;
        for (var r = 0; r < rows; r++)
        {
            var predicted = TensorPrimitives.IndexOfMax(probabilities.Slice(r * classes, classes));
            var expected = labels
                ? Losses.SoftmaxCrossEntropy.Label(targets[r], classes, r)
                : TensorPrimitives.IndexOfMax(targets.Slice(r * classes, classes));
            if (predicted == expected)
            {
                correct++;
            }
        }

        return correct;
    }

    /// <summary>Outputs on the same side of ½ as their target.</summary>
    public static long CountCorrectBinary(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> targets)
    {
        long correct = 0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            if (probabilities[i] >= 0.5f == targets[i] >= 0.5f)
            {
                correct++;
            }
        }

        return correct;
    }

    public static double SumAbsoluteDifference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += Math.Abs(x[i] - y[i]);
        }

        return sum;
    }
}
