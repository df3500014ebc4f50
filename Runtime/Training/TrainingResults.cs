using System;
using System.Collections.Generic;

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

/// <summary>The per-epoch record of a <see cref="ModelTraining.Fit{TModel}"/> run.</summary>
public sealed class TrainingHistory
{
    private readonly List<EpochResult> _epochs = [];

    /// <summary>One entry per completed epoch.</summary>
    public IReadOnlyList<EpochResult> Epochs => _epochs;

    /// <summary>The mean training loss of each completed epoch.</summary>
    public IReadOnlyList<float> Loss => _epochs.ConvertAll(e => e.Loss);

    internal void Add(EpochResult epoch) => _epochs.Add(epoch);
}

/// <summary>What <see cref="ModelTraining.Evaluate{TModel}"/> measured over a dataset.</summary>
/// <param name="Loss">Mean loss, as the model's compiled loss defines it.</param>
/// <param name="MeanAbsoluteError">Σ |y − t| / N over every output of every sample, for regression losses.</param>
/// <param name="Accuracy">
/// For <see cref="Loss.SoftmaxCrossEntropy"/>, the fraction of samples whose most probable class is the target's
/// (the label, or the largest target probability); for <see cref="Loss.BinaryCrossEntropy"/>, the fraction of outputs
/// on the target's side of ½.
/// </param>
/// <param name="Count">Samples evaluated.</param>
public readonly record struct EvaluationResult(float Loss, float? MeanAbsoluteError, float? Accuracy, int Count);

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
