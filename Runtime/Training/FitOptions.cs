using System;
using System.Collections.Generic;
using System.Threading;

namespace ModelGen;

/// <summary>How <see cref="ModelTraining.Fit{TModel}(TModel, Dataset, FitOptions, IProgress{EpochResult})"/> trains, with Keras' defaults.</summary>
public sealed class FitOptions
{
    /// <summary>Passes over the training data. Default 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Samples per gradient step; the last batch of an epoch may be smaller. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The update rule. Default: <see cref="Sgd"/> with learning rate 0.01.</summary>
    public Optimizer Optimizer { get; init; } = new Sgd();

    /// <summary>Whether to visit the samples in a new random order each epoch. Default true.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seeds the shuffles: the same seed gives the same order, so training repeats bit for bit.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Random shifts and flips of each training image (<see cref="ImageAugmentation"/>), made to a copy of the batch
    /// before each step; its image size must be the model's <c>InputSize</c>. The dataset itself, validation and
    /// <c>Evaluate</c> are never augmented. Each epoch draws from a stream of its own derived from <see cref="Seed"/>
    /// and the epoch's number, apart from the shuffles: enabling it leaves the order of the samples as it was, and a
    /// run (also one resumed from a checkpoint) repeats bit for bit. None by default.
    /// </summary>
    public ImageAugmentation? Augmentation { get; init; }

    /// <summary>
    /// The fraction of the data, in [0, 1), held out to measure <see cref="EpochResult.ValidationLoss"/> after each
    /// epoch. As in Keras, it is the last samples of the dataset, taken before any shuffling. Default 0.
    /// </summary>
    public float ValidationSplit { get; init; }

    /// <summary>
    /// Samples to validate on after every epoch instead of a split of the training data (Keras' <c>validation_data</c>);
    /// cannot be combined with <see cref="ValidationSplit"/>.
    /// </summary>
    public Dataset? ValidationData { get; init; }

    /// <summary>
    /// Where to save progress every few epochs and resume from when the file exists (Keras' <c>BackupAndRestore</c>);
    /// none by default.
    /// </summary>
    public CheckpointOptions? Checkpoint { get; init; }

    /// <summary>Called as training begins, after each epoch (where one may stop training) and as it ends.</summary>
    public IList<TrainingCallback> Callbacks { get; } = new List<TrainingCallback>();

    /// <summary>
    /// Told after every batch (for a live progress bar); <c>Fit</c>'s own <see cref="IProgress{T}"/> argument is told
    /// after every epoch. Reports are made on the training thread.
    /// </summary>
    public IProgress<BatchProgress>? BatchProgress { get; init; }

    /// <summary>
    /// Stops training before the next batch once cancelled: <c>Fit</c> throws an <see cref="OperationCanceledException"/>
    /// and the model keeps the updates of the batches before (a checkpoint file keeps the last epoch it saved, so a run
    /// cancelled and started again resumes from there). A streamed <c>Fit</c> also stops its reader thread and closes
    /// its files before it throws. None by default.
    /// </summary>
    public CancellationToken CancellationToken { get; init; }
}
