using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ModelGen;

/// <summary>
/// How often each actual class was predicted as each class: <c>this[actual, predicted]</c> counts the samples of
/// class <c>actual</c> that the model classified as <c>predicted</c> (rows are actual classes, columns predictions,
/// as in scikit-learn's <c>confusion_matrix</c>). The diagonal holds the samples classified right. Immutable.
/// </summary>
public sealed class ConfusionMatrix : IEquatable<ConfusionMatrix>
{
    private readonly long[] _counts;
    private ClassificationReport? _report;

    /// <summary>A matrix of the given counts, <c>counts[actual, predicted]</c> (copied).</summary>
    /// <exception cref="ArgumentException">The array is not square, is empty, or holds a negative count.</exception>
    public ConfusionMatrix(long[,] counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var classes = counts.GetLength(0);
        if (classes == 0 || counts.GetLength(1) != classes)
        {
            throw new ArgumentException(
                $"A confusion matrix is square, one row and one column per class, with at least one class; this array is {counts.GetLength(0)} × {counts.GetLength(1)}.",
                nameof(counts));
        }

        _counts = new long[classes * classes];
        for (var actual = 0; actual < classes; actual++)
        {
            for (var predicted = 0; predicted < classes; predicted++)
            {
                var count = counts[actual, predicted];
                if (count < 0)
                {
                    throw new ArgumentException($"counts[{actual}, {predicted}] is {count}; counts cannot be negative.", nameof(counts));
                }

                _counts[(actual * classes) + predicted] = count;
            }
        }

        Classes = classes;
        Total = _counts.Sum();
    }

    /// <summary>Takes <paramref name="counts"/> (row-major, <paramref name="classes"/>²) as the matrix's own.</summary>
    internal ConfusionMatrix(long[] counts, int classes)
    {
        _counts = counts;
        Classes = classes;
        Total = counts.Sum();
    }

    /// <summary>Classes: the number of rows, and of columns.</summary>
    public int Classes { get; }

    /// <summary>Samples counted.</summary>
    public long Total { get; }

    /// <summary>Samples of class <paramref name="actual"/> that were predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(actual);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(actual, Classes);
            ArgumentOutOfRangeException.ThrowIfNegative(predicted);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(predicted, Classes);
            return _counts[(actual * Classes) + predicted];
        }
    }

    /// <summary>Samples classified right: the sum of the diagonal.</summary>
    public long Correct
    {
        get
        {
            long correct = 0;
            for (var c = 0; c < Classes; c++)
            {
                correct += _counts[(c * Classes) + c];
            }

            return correct;
        }
    }

    /// <summary>The fraction of samples classified right (0 for an empty matrix).</summary>
    public double Accuracy => ClassMetrics.Ratio(Correct, Total);

    /// <summary>Samples whose actual class is <paramref name="actual"/>: the sum of its row.</summary>
    public long Support(int actual)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actual);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(actual, Classes);
        long sum = 0;
        foreach (var count in _counts.AsSpan(actual * Classes, Classes))
        {
            sum += count;
        }

        return sum;
    }

    /// <summary>Samples predicted as <paramref name="predicted"/>: the sum of its column.</summary>
    public long PredictedCount(int predicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(predicted);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(predicted, Classes);
        long sum = 0;
        for (var actual = 0; actual < Classes; actual++)
        {
            sum += _counts[(actual * Classes) + predicted];
        }

        return sum;
    }

    /// <summary>Per-class precision, recall, F1 and support with their averages (computed once, then kept).</summary>
    public ClassificationReport Report() => _report ??= ClassificationReport.FromConfusion(this);

    /// <summary>The counts as a new array, <c>[actual, predicted]</c>.</summary>
    public long[,] ToArray()
    {
        var array = new long[Classes, Classes];
        for (var actual = 0; actual < Classes; actual++)
        {
            for (var predicted = 0; predicted < Classes; predicted++)
            {
                array[actual, predicted] = _counts[(actual * Classes) + predicted];
            }
        }

        return array;
    }

    /// <summary>
    /// Each row divided by its sum, <c>[actual, predicted]</c>: the share of each actual class given each prediction,
    /// so the diagonal is each class's recall (scikit-learn's <c>normalize="true"</c>). A class with no samples is a
    /// row of zeros.
    /// </summary>
    public double[,] RowNormalized()
    {
        var array = new double[Classes, Classes];
        for (var actual = 0; actual < Classes; actual++)
        {
            var support = Support(actual);
            for (var predicted = 0; predicted < Classes; predicted++)
            {
                array[actual, predicted] = ClassMetrics.Ratio(_counts[(actual * Classes) + predicted], support);
            }
        }

        return array;
    }

    /// <summary>The counts as a grid, a row per actual class, classes by number.</summary>
    public override string ToString() => ToString(null);

    /// <summary>
    /// The counts as a grid: a row per actual class (named by <paramref name="classNames"/> when given, after its
    /// number), a column per predicted class (by number).
    /// </summary>
    public string ToString(IReadOnlyList<string>? classNames)
    {
        var names = ClassificationReport.RowNames(Classes, classNames);
        var labels = Enumerable.Range(0, Classes)
            .Select(c => classNames is null ? names[c] : c.ToString(CultureInfo.InvariantCulture) + " " + names[c]).ToArray();
        const string corner = "actual \\ predicted";
        var labelWidth = Math.Max(corner.Length, labels.Max(l => l.Length));
        var cellWidth = Math.Max(_counts.Max().ToString(CultureInfo.InvariantCulture).Length, (Classes - 1).ToString(CultureInfo.InvariantCulture).Length) + 2;
        var text = new StringBuilder();
        text.Append(corner.PadRight(labelWidth));
        for (var c = 0; c < Classes; c++)
        {
            text.Append(c.ToString(CultureInfo.InvariantCulture).PadLeft(cellWidth));
        }

        text.Append('\n');
        for (var actual = 0; actual < Classes; actual++)
        {
            text.Append(labels[actual].PadRight(labelWidth));
            for (var predicted = 0; predicted < Classes; predicted++)
            {
                text.Append(_counts[(actual * Classes) + predicted].ToString(CultureInfo.InvariantCulture).PadLeft(cellWidth));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Equal when both hold the same counts.</summary>
    public bool Equals(ConfusionMatrix? other) =>
        other is not null && Classes == other.Classes && _counts.AsSpan().SequenceEqual(other._counts);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ConfusionMatrix);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Classes);
        foreach (var count in _counts)
        {
            hash.Add(count);
        }

        return hash.ToHashCode();
    }
}
