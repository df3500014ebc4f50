using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ModelGen;

/// <summary>
/// Precision, recall and F1 of one class (or one output of a multi-label model), or their average over classes.
/// </summary>
/// <remarks>
/// With tp the samples of the class predicted as the class, <see cref="Support"/> the samples of the class and
/// <c>predicted</c> the samples predicted as the class: precision = tp / predicted, recall = tp / support and
/// F1 = 2·tp / (support + predicted), the harmonic mean of the two. A ratio whose denominator is 0 (a class never
/// predicted has no precision, a class with no samples no recall) is reported as 0, as scikit-learn does with its
/// default <c>zero_division=0</c>.
/// </remarks>
/// <param name="Precision">Of the samples predicted as the class, the fraction that belong to it.</param>
/// <param name="Recall">Of the samples that belong to the class, the fraction predicted as it.</param>
/// <param name="F1">The harmonic mean of precision and recall.</param>
/// <param name="Support">Samples that belong to the class; for an average, the samples of all its classes.</param>
public readonly record struct ClassMetrics(double Precision, double Recall, double F1, long Support)
{
    /// <summary>
    /// The metrics of a class from its counts: <paramref name="truePositives"/> samples of the class predicted as it,
    /// <paramref name="support"/> samples of the class, <paramref name="predicted"/> samples predicted as it. A ratio
    /// with a zero denominator is 0 (scikit-learn's <c>zero_division=0</c>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or the true positives exceed either total.</exception>
    public static ClassMetrics FromCounts(long truePositives, long support, long predicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(truePositives);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(truePositives, support);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(truePositives, predicted);
        return new ClassMetrics(
            Ratio(truePositives, predicted),
            Ratio(truePositives, support),
            Ratio(2 * truePositives, support + predicted),
            support);
    }

    internal static double Ratio(long numerator, long denominator) => denominator == 0 ? 0.0 : numerator / (double)denominator;
}

/// <summary>
/// Per-class precision, recall, F1 and support, with their macro and weighted averages: scikit-learn's
/// <c>classification_report</c>. <see cref="ToString()"/> prints it as a table.
/// </summary>
/// <remarks>
/// <para>
/// For a single-label classifier (softmax cross-entropy, or binary cross-entropy with one output read as the two
/// classes 0 and 1) there is one row per class, from a <see cref="ConfusionMatrix"/>. For a multi-label classifier
/// (binary cross-entropy with several outputs) there is one row per output: the metrics of its positive side (output
/// ≥ ½ predicted, target ≥ ½ actual), its support the samples whose target is positive, as scikit-learn reports
/// multi-label data.
/// </para>
/// <para>
/// Zero denominators give 0 (see <see cref="ClassMetrics"/>). The macro average is the unweighted mean over the
/// classes that have samples or predictions; a class with neither says nothing about the model and is left out, as
/// scikit-learn and torchmetrics leave it out. The weighted average weighs each class by its support. Both average
/// the per-class F1 scores (not the F1 of the averaged precision and recall), and their <see cref="ClassMetrics.Support"/>
/// is the total support.
/// </para>
/// </remarks>
public sealed class ClassificationReport : IEquatable<ClassificationReport>
{
    private readonly long[] _predicted;

    private ClassificationReport(ClassMetrics[] perClass, long[] predicted, double? accuracy, bool multiLabel)
    {
        PerClass = new ReadOnlyCollection<ClassMetrics>(perClass);
        _predicted = predicted;
        Accuracy = accuracy;
        MultiLabel = multiLabel;
        long support = 0, counted = 0;
        double precision = 0, recall = 0, f1 = 0, weightedPrecision = 0, weightedRecall = 0, weightedF1 = 0;
        for (var c = 0; c < perClass.Length; c++)
        {
            var metrics = perClass[c];
            support += metrics.Support;
            weightedPrecision += metrics.Precision * metrics.Support;
            weightedRecall += metrics.Recall * metrics.Support;
            weightedF1 += metrics.F1 * metrics.Support;
            if (metrics.Support > 0 || predicted[c] > 0)
            {
                counted++;
                precision += metrics.Precision;
                recall += metrics.Recall;
                f1 += metrics.F1;
            }
        }

        MacroAverage = counted == 0 ? new ClassMetrics(0, 0, 0, support)
            : new ClassMetrics(precision / counted, recall / counted, f1 / counted, support);
        WeightedAverage = support == 0 ? new ClassMetrics(0, 0, 0, support)
            : new ClassMetrics(weightedPrecision / support, weightedRecall / support, weightedF1 / support, support);
    }

    /// <summary>One entry per class (per output, for a multi-label model), indexed by class.</summary>
    public IReadOnlyList<ClassMetrics> PerClass { get; }

    /// <summary>The unweighted mean over the classes that have samples or predictions.</summary>
    public ClassMetrics MacroAverage { get; }

    /// <summary>The mean over classes weighted by their support.</summary>
    public ClassMetrics WeightedAverage { get; }

    /// <summary>The fraction of samples classified right; null for a multi-label report.</summary>
    public double? Accuracy { get; }

    /// <summary>True when the rows are the outputs of a multi-label model rather than classes.</summary>
    public bool MultiLabel { get; }

    /// <summary>Samples predicted as <paramref name="index"/> (as positive, for a multi-label output).</summary>
    public long PredictedCount(int index) => _predicted[index];

    /// <summary>The report of a single-label classifier, from its confusion matrix.</summary>
    public static ClassificationReport FromConfusion(ConfusionMatrix confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        var classes = confusion.Classes;
        var truePositives = new long[classes];
        var support = new long[classes];
        var predicted = new long[classes];
        for (var c = 0; c < classes; c++)
        {
            truePositives[c] = confusion[c, c];
            support[c] = confusion.Support(c);
            predicted[c] = confusion.PredictedCount(c);
        }

        return FromClassCounts(truePositives, support, predicted);
    }

    /// <summary>
    /// The report of a multi-label classifier: one row per output, each from that output's 2 × 2 confusion matrix
    /// (class 1 is the positive side).
    /// </summary>
    /// <exception cref="ArgumentException">A matrix is not 2 × 2.</exception>
    public static ClassificationReport FromLabelConfusions(IReadOnlyList<ConfusionMatrix> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var perClass = new ClassMetrics[labels.Count];
        var predicted = new long[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i] ?? throw new ArgumentException($"Output {i}'s confusion matrix is null.", nameof(labels));
            if (label.Classes != 2)
            {
                throw new ArgumentException($"Output {i}'s confusion matrix is {label.Classes} × {label.Classes}; a multi-label output has 2 × 2.", nameof(labels));
            }

            predicted[i] = label.PredictedCount(1);
            perClass[i] = ClassMetrics.FromCounts(label[1, 1], label.Support(1), predicted[i]);
        }

        return new ClassificationReport(perClass, predicted, accuracy: null, multiLabel: true);
    }

    /// <summary>A single-label report from each class's true positives, support and predictions (no full matrix).</summary>
    internal static ClassificationReport FromClassCounts(long[] truePositives, long[] support, long[] predicted)
    {
        var perClass = new ClassMetrics[truePositives.Length];
        long correct = 0, total = 0;
        for (var c = 0; c < perClass.Length; c++)
        {
            perClass[c] = ClassMetrics.FromCounts(truePositives[c], support[c], predicted[c]);
            correct += truePositives[c];
            total += support[c];
        }

        return new ClassificationReport(perClass, predicted, ClassMetrics.Ratio(correct, total), multiLabel: false);
    }

    /// <summary>The report as a table, classes (or outputs) by number.</summary>
    public override string ToString() => ToString(null);

    /// <summary>
    /// The report as a table: a row per class with its precision, recall, F1 and support, then the accuracy
    /// (single-label) and the two averages, then a line for each kind of class whose metrics a zero denominator set
    /// to 0. Classes are named by <paramref name="classNames"/> when given (one per class), else by number.
    /// </summary>
    public string ToString(IReadOnlyList<string>? classNames)
    {
        var names = RowNames(PerClass.Count, classNames);
        var width = Math.Max(names.Max(n => n.Length), "weighted avg".Length);
        var text = new StringBuilder();
        text.Append(Cell(MultiLabel ? "output" : "class", width, left: true)).Append("  precision     recall   f1-score    support\n");
        for (var c = 0; c < PerClass.Count; c++)
        {
            Row(text, names[c], width, PerClass[c]);
        }

        text.Append('\n');
        if (Accuracy is { } accuracy)
        {
            text.Append(Cell("accuracy", width, left: true)).Append(' ', 22)
                .Append(Number(accuracy)).Append(Cell(MacroAverage.Support.ToString(CultureInfo.InvariantCulture), 11, left: false)).Append('\n');
        }

        Row(text, "macro avg", width, MacroAverage);
        Row(text, "weighted avg", width, WeightedAverage);
        var unseen = Enumerable.Range(0, PerClass.Count).Where(c => PerClass[c].Support == 0 && _predicted[c] == 0).ToArray();
        var neverPredicted = Enumerable.Range(0, PerClass.Count).Where(c => PerClass[c].Support > 0 && _predicted[c] == 0).ToArray();
        var noSamples = Enumerable.Range(0, PerClass.Count).Where(c => PerClass[c].Support == 0 && _predicted[c] > 0).ToArray();
        Note(text, neverPredicted, names, MultiLabel ? "never predicted positive (precision and F1 taken as 0)" : "never predicted (precision and F1 taken as 0)");
        Note(text, noSamples, names, MultiLabel ? "no positive samples (recall and F1 taken as 0)" : "no samples (recall and F1 taken as 0)");
        Note(text, unseen, names, "neither samples nor predictions (all 0, left out of the macro average)");
        return text.ToString();
    }

    /// <summary>Equal when every row, the accuracy and the kind of report are equal.</summary>
    public bool Equals(ClassificationReport? other) =>
        other is not null && MultiLabel == other.MultiLabel && Accuracy == other.Accuracy
        && PerClass.SequenceEqual(other.PerClass) && _predicted.AsSpan().SequenceEqual(other._predicted);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ClassificationReport);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(PerClass.Count, MacroAverage, WeightedAverage, Accuracy, MultiLabel);

    internal static string[] RowNames(int count, IReadOnlyList<string>? classNames)
    {
        if (classNames is not null && classNames.Count != count)
        {
            throw new ArgumentException($"{classNames.Count} class names were given for {count} classes.", nameof(classNames));
        }

        return Enumerable.Range(0, count).Select(c => classNames?[c] ?? c.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    private static void Row(StringBuilder text, string name, int width, ClassMetrics metrics) =>
        text.Append(Cell(name, width, left: true))
            .Append(Number(metrics.Precision)).Append(Number(metrics.Recall)).Append(Number(metrics.F1))
            .Append(Cell(metrics.Support.ToString(CultureInfo.InvariantCulture), 11, left: false)).Append('\n');

    private static void Note(StringBuilder text, int[] classes, string[] names, string what)
    {
        if (classes.Length > 0)
        {
            text.Append(string.Join(", ", classes.Select(c => names[c]))).Append(": ").Append(what).Append('\n');
        }
    }

    private static string Number(double value) => Cell(value.ToString("F4", CultureInfo.InvariantCulture), 11, left: false);

    private static string Cell(string text, int width, bool left) => left ? text.PadRight(width) : text.PadLeft(width);
}
