using System;
using System.Numerics.Tensors;

namespace ModelGen;

/// <summary>The counts behind <see cref="EvaluationResult"/>'s metrics, added up batch by batch into spans the caller holds.</summary>
internal static class Metrics
{
    /// <summary>
    /// The most classes for which <see cref="ModelTraining.Evaluate{TModel}(TModel, Dataset)"/> keeps a full confusion matrix
    /// (1024² counts, 8 MiB). Beyond it only each class's true positives, support and predictions are counted.
    /// </summary>
    public const int MaxConfusionClasses = 1024;

    /// <summary>
    /// Adds one to <c>counts[actual × classes + predicted]</c> for every sample: predicted is the most probable
    /// class (the first, on ties), actual the target's class (its label when targets hold one class index per sample,
    /// else its largest target probability).
    /// </summary>
    public static void CountClasses(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> targets, int classes, Span<long> counts)
    {
        var rows = probabilities.Length / classes;
        var labels = targets.Length == rows;
        for (var r = 0; r < rows; r++)
        {
            // −1: a position of a sequence that does not count.
            if (labels && targets[r] < 0f)
            {
                continue;
            }

            var (actual, predicted) = Classify(probabilities, targets, classes, r, labels);
            counts[(actual * classes) + predicted]++;
        }
    }

    /// <summary>
    /// As <see cref="CountClasses"/>, without the full matrix: <paramref name="tallies"/> holds each class's
    /// support in [0, classes), its predictions in [classes, 2·classes) and its true positives in [2·classes, 3·classes).
    /// </summary>
    public static void TallyClasses(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> targets, int classes, Span<long> tallies)
    {
        var rows = probabilities.Length / classes;
        var labels = targets.Length == rows;
        for (var r = 0; r < rows; r++)
        {
            // −1: a position of a sequence that does not count.
            if (labels && targets[r] < 0f)
            {
                continue;
            }

            var (actual, predicted) = Classify(probabilities, targets, classes, r, labels);
            tallies[actual]++;
            tallies[classes + predicted]++;
            if (actual == predicted)
            {
                tallies[(2 * classes) + actual]++;
            }
        }
    }

    /// <summary>
    /// Adds one to <c>counts[output × 4 + actual × 2 + predicted]</c> for every output of every sample: each output
    /// is a yes/no decision, predicted yes when the probability is at least ½, actually yes when the target is.
    /// </summary>
    public static void CountBinary(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> targets, int outputs, Span<long> counts)
    {
        for (var i = 0; i < probabilities.Length; i++)
        {
            var actual = targets[i] >= 0.5f ? 2 : 0;
            var predicted = probabilities[i] >= 0.5f ? 1 : 0;
            counts[((i % outputs) * 4) + actual + predicted]++;
        }
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

    private static (int Actual, int Predicted) Classify(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> targets, int classes, int row, bool labels)
    {
        var predicted = TensorPrimitives.IndexOfMax(probabilities.Slice(row * classes, classes));
        var actual = labels
            ? Losses.SoftmaxCrossEntropy.Label(targets[row], classes, row)
            : TensorPrimitives.IndexOfMax(targets.Slice(row * classes, classes));
        return (actual, predicted);
    }
}
