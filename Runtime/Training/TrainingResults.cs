using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ModelGen;

/// <summary>What one epoch of training measured.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean training loss over the epoch's samples, each batch's loss taken at its step.</param>
/// <param name="ValidationLoss">The loss on the validation samples after the epoch (<see cref="FitOptions.ValidationSplit"/> or <see cref="FitOptions.ValidationData"/>).</param>
/// <param name="ValidationAccuracy">The accuracy on the held-out samples, for models trained with a classification loss.</param>
public readonly record struct EpochResult(int Epoch, float Loss, float? ValidationLoss = null, float? ValidationAccuracy = null);

/// <summary>What one batch of training measured.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Batch">1-based batch number within the epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">The batch's mean loss.</param>
public readonly record struct BatchProgress(int Epoch, int Batch, int Batches, float Loss);

/// <summary>The per-epoch record of a <see cref="ModelTraining.Fit{TModel}(TModel, Dataset, FitOptions, IProgress{EpochResult})"/> run.</summary>
public sealed class TrainingHistory
{
    private readonly List<EpochResult> _epochs = [];

    /// <summary>One entry per completed epoch.</summary>
    public IReadOnlyList<EpochResult> Epochs => _epochs;

    /// <summary>The mean training loss of each completed epoch.</summary>
    public IReadOnlyList<float> Loss => _epochs.ConvertAll(e => e.Loss);

    internal void Add(EpochResult epoch) => _epochs.Add(epoch);
}

/// <summary>What <see cref="ModelTraining.Evaluate{TModel}(TModel, Dataset)"/> measured over a dataset.</summary>
/// <remarks>
/// For a classification model it also holds who was taken for whom: <see cref="Confusion"/> (a single-label model)
/// or <see cref="LabelConfusions"/> (a multi-label one), and <see cref="Report"/>, per-class precision, recall, F1
/// and support with their macro and weighted averages. Two results are equal when their numbers and counts are.
/// </remarks>
/// <param name="Loss">Mean loss, as the model's compiled loss defines it.</param>
/// <param name="MeanAbsoluteError">Σ |y − t| / N over every output of every sample, for regression losses.</param>
/// <param name="Accuracy">
/// For <see cref="Loss.SoftmaxCrossEntropy"/>, the fraction of samples whose most probable class is the target's
/// (the label, or the largest target probability); for <see cref="Loss.BinaryCrossEntropy"/>, the fraction of outputs
/// on the target's side of ½.
/// </param>
/// <param name="Count">Samples evaluated.</param>
public readonly record struct EvaluationResult(float Loss, float? MeanAbsoluteError, float? Accuracy, int Count)
{
    /// <summary>
    /// Counts of [actual, predicted] class for a single-label classifier: with <see cref="Loss.SoftmaxCrossEntropy"/>,
    /// the most probable class against the target's class; with <see cref="Loss.BinaryCrossEntropy"/> and one output,
    /// the two classes 0 and 1 (output ≥ ½ predicts 1, target ≥ ½ is 1). Null for regression, for multi-label models
    /// (see <see cref="LabelConfusions"/>) and for models of more than 1024 classes, whose <see cref="Report"/> is
    /// counted without the full matrix.
    /// </summary>
    public ConfusionMatrix? Confusion { get; init; }

    /// <summary>
    /// For a multi-label classifier (<see cref="Loss.BinaryCrossEntropy"/> with several outputs), one 2 × 2 matrix per
    /// output, each output a yes/no decision of its own (scikit-learn's <c>multilabel_confusion_matrix</c>). Null otherwise.
    /// </summary>
    public IReadOnlyList<ConfusionMatrix>? LabelConfusions { get; init; }

    /// <summary>
    /// Per-class (for a multi-label model, per-output) precision, recall, F1 and support, with macro and weighted
    /// averages and a table as its <c>ToString()</c>; null for regression. A ratio with a zero denominator is 0.
    /// </summary>
    public ClassificationReport? Report { get; init; }

    /// <summary><see cref="Report"/>'s rows, indexed by class (by output, for a multi-label model); null for regression.</summary>
    public IReadOnlyList<ClassMetrics>? PerClass => Report?.PerClass;

    /// <summary>Equal when the numbers, the counts and the report are equal.</summary>
    public bool Equals(EvaluationResult other) =>
        Loss.Equals(other.Loss) && Nullable.Equals(MeanAbsoluteError, other.MeanAbsoluteError)
        && Nullable.Equals(Accuracy, other.Accuracy) && Count == other.Count
        && Equals(Confusion, other.Confusion) && Equals(Report, other.Report)
        && (LabelConfusions is null ? other.LabelConfusions is null
            : other.LabelConfusions is not null && LabelConfusions.SequenceEqual(other.LabelConfusions));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Loss, MeanAbsoluteError, Accuracy, Count, Confusion, Report);

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Loss = {Loss}, MeanAbsoluteError = {MeanAbsoluteError}, Accuracy = {Accuracy}, Count = {Count}");
        if (Report is { } report)
        {
            builder.Append(CultureInfo.InvariantCulture, $", MacroF1 = {report.MacroAverage.F1:F4}");
        }

        return true;
    }
}

/// <summary>
/// Thrown when the loss stops being a finite number. The step that produced it is not applied: the model keeps
/// the parameters it had before that step.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(int epoch, int batch, float loss)
        : base($"The loss became {loss} at epoch {epoch}, batch {batch}; training stopped and the parameters from before that step were kept. " +
               "Try a smaller learning rate, or check the data for NaN or infinite values.")
    {
        Epoch = epoch;
        Batch = batch;
        Loss = loss;
    }

    /// <summary>1-based epoch in which the loss diverged.</summary>
    public int Epoch { get; }

    /// <summary>1-based batch within that epoch.</summary>
    public int Batch { get; }

    /// <summary>The non-finite loss.</summary>
    public float Loss { get; }
}
