using System;
using System.Threading;

namespace ModelGen;

/// <summary><c>Fit</c> and <c>Evaluate</c> over a <see cref="StreamingDataset"/>: the samples stay in their files.</summary>
public static partial class ModelTraining
{
    /// <summary>
    /// Trains <paramref name="model"/> on samples read from files as training goes: a thread of its own reads the next
    /// batches while the current step runs, so memory holds a few batches whatever the files' size. Everything else is
    /// the in-memory <c>Fit</c>'s: the same options, and, for the same samples and seed, the same bits in the end.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Every option of <see cref="FitOptions"/> applies as it does in memory: each epoch's order is a permutation of
    /// all training samples drawn from <see cref="FitOptions.Seed"/> (see <see cref="StreamingDataset"/> on why, and what
    /// it costs); <see cref="FitOptions.ValidationSplit"/> holds out the stream's last samples and validates on them
    /// after every epoch, read from the files in turn; <see cref="FitOptions.ValidationData"/> is a dataset in memory;
    /// augmentation is applied on the reader thread, in batch order, with the draws the in-memory <c>Fit</c> makes;
    /// checkpoints save and resume as in memory (the sample order is saved, the samples are not).
    /// </para>
    /// <para>
    /// What differs is when targets are checked. In memory, every target is checked before the first step. A stream
    /// cannot be read through first, so each batch's targets are checked as the batch is read, before any step sees
    /// them: a bad target stops training with the sample's index in the stream, its file and offset, but the batches
    /// before it have trained the model.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">
    /// The data do not fit the model (sizes), or a target is one the loss cannot take; the message names the sample's
    /// index in the stream and where it lies in which file.
    /// </exception>
    /// <exception cref="System.IO.InvalidDataException">A file changed or was cut short since the dataset was opened.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException"><see cref="FitOptions.CancellationToken"/> was cancelled.</exception>
    public static TrainingHistory Fit<TModel>(
        this TModel model, StreamingDataset data, FitOptions? options = null, IProgress<EpochResult>? progress = null)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        CheckShape(model, data.Count, data.FeatureSize, data.TargetSize, "the streamed dataset", nameof(data));
        CheckOptions(model, options);
        var validationCount = ValidationCount(data.Count, options.ValidationSplit);
        CheckValidationData(model, options, validationCount);
        var trainingCount = data.Count - validationCount;
        var batchSize = Math.Min(options.BatchSize, trainingCount);
        var validationChunk = Math.Min(EvaluationChunk, validationCount);

        using var pipeline = new BatchPipeline(
            data, Math.Max(batchSize, validationChunk), new TargetRules(model, data.TargetSize), options.CancellationToken);
        using var batches = new StreamBatches(pipeline, batchSize);
        Func<EvaluationResult>? validate = validationCount > 0
            ? () => EvaluateStream(model, pipeline, trainingCount, validationCount, data.TargetSize)
            : options.ValidationData is { } validationData ? () => EvaluateChecked(model, validationData) : null;
        return Train(model, batches, trainingCount, batchSize, validate, options, progress);
    }

    /// <summary>
    /// The model's loss and metrics over every sample of <paramref name="data"/>, read from its files in order by a
    /// thread of its own: the same result, to the bit, as <c>Evaluate</c> on the same samples in memory.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The data do not fit the model, or a target is one the loss cannot take (checked as each chunk is read; the message
    /// names the sample's index in the stream and where it lies).
    /// </exception>
    /// <exception cref="System.IO.InvalidDataException">A file changed or was cut short since the dataset was opened.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static EvaluationResult Evaluate<TModel>(this TModel model, StreamingDataset data, CancellationToken cancellationToken = default)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        CheckShape(model, data.Count, data.FeatureSize, data.TargetSize, "the streamed dataset", nameof(data));
        using var pipeline = new BatchPipeline(
            data, Math.Min(EvaluationChunk, data.Count), new TargetRules(model, data.TargetSize), cancellationToken);
        return EvaluateStream(model, pipeline, 0, data.Count, data.TargetSize, cancellationToken);
    }

    /// <summary>
    /// Loss and metrics over samples [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>)
    /// of the pipeline's dataset, in the in-memory <c>Evaluate</c>'s chunks (so its sums, and its bits).
    /// </summary>
    private static EvaluationResult EvaluateStream(
        ITrainableModel model, BatchPipeline pipeline, int start, int length, int targetSize, CancellationToken cancellationToken = default)
    {
        var predictions = new float[Math.Min(EvaluationChunk, length) * model.OutputSize];
        var tally = new EvaluationTally(model);
        pipeline.Begin(null, start, length, EvaluationChunk, null, default);
        for (var done = 0; done < length; done += EvaluationChunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = pipeline.Next(out var inputs, out var targets);
            var output = predictions.AsSpan(0, count * model.OutputSize);
            tally.Add(model.ComputeLoss(inputs, targets, output), count, output, targets);
            pipeline.Release();
        }

        return tally.Result(length, targetSize);
    }
}
