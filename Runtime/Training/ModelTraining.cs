using System;
using System.IO;

namespace ModelGen;

/// <summary>
/// <c>Fit</c> and <c>Evaluate</c> for every generated model. Generic over the model type: no reflection, and the
/// model is called once per batch.
/// </summary>
public static partial class ModelTraining
{
    private const int EvaluationChunk = 256;

    /// <summary>The first of the streams (one per epoch) that <see cref="FitOptions.Augmentation"/> draws from.</summary>
    private const ulong AugmentationStream = 1UL << 32;

    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="data"/>: per epoch, the samples in (optionally shuffled)
    /// batches, one <see cref="ITrainableModel.TrainStep"/> and one optimizer update per batch.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The data do not fit the model: wrong sizes, or a target the loss cannot take (a class label outside
    /// [0, classes), a binary cross-entropy target outside [0, 1], a non-finite target). Every target of the training and
    /// validation data is checked before the first step, so the model is unchanged; the message names the sample's
    /// index in its dataset.
    /// </exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException"><see cref="FitOptions.CancellationToken"/> was cancelled.</exception>
    public static TrainingHistory Fit<TModel>(this TModel model, Dataset data, FitOptions? options = null, IProgress<EpochResult>? progress = null)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        CheckData(model, data, "the dataset", nameof(data));
        CheckOptions(model, options);

        // Keras' validation split: the last samples, before any shuffling. Training only ever draws from the rest.
        var validationCount = ValidationCount(data.Count, options.ValidationSplit);
        CheckValidationData(model, options, validationCount);
        var trainingCount = data.Count - validationCount;

        // The split's samples are a view of the data's tail (no copy); with ValidationData, that set as it is.
        var validationSet = validationCount > 0 ? data.Slice(trainingCount, validationCount) : options.ValidationData;
        var batchSize = Math.Min(options.BatchSize, trainingCount);
        using var batches = new DatasetBatches(data, batchSize);
        return Train(model, batches, trainingCount, batchSize, validationSet is null ? null : () => EvaluateChecked(model, validationSet), options, progress);
    }

    /// <summary>Throws unless <paramref name="options"/> can train <paramref name="model"/> (the data are checked apart).</summary>
    private static void CheckOptions(ITrainableModel model, FitOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epochs, nameof(options.Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize, nameof(options.BatchSize));
        ArgumentNullException.ThrowIfNull(options.Optimizer, nameof(options.Optimizer));
        if (options.Augmentation is { } augmentation && augmentation.SampleSize != model.InputSize)
        {
            throw new ArgumentException(
                $"The augmentation's images are {augmentation.Channels} × {augmentation.Height} × {augmentation.Width} = " +
                $"{augmentation.SampleSize} floats, but the model takes {model.InputSize} inputs per sample.",
                nameof(options));
        }
    }

    /// <summary>Throws when <see cref="FitOptions.ValidationData"/> is given beside a split, or does not fit the model.</summary>
    private static void CheckValidationData(ITrainableModel model, FitOptions options, int validationCount)
    {
        if (options.ValidationData is null)
        {
            return;
        }

        if (validationCount > 0)
        {
            throw new ArgumentException("Give either a validation split or validation data, not both.", nameof(options));
        }

        CheckData(model, options.ValidationData, "the validation data (FitOptions.ValidationData)", nameof(options));
    }

    /// <summary>
    /// The epochs themselves, whatever the data come from: per epoch, the order of the <paramref name="trainingCount"/>
    /// training samples (shuffled when asked), its batches from <paramref name="batches"/>, one step and one optimizer
    /// update per batch, then validation, callbacks and checkpoint. Everything that decides the bits of the result lives
    /// here, once: a streamed <c>Fit</c> gives what an in-memory one gives on the same samples.
    /// </summary>
    private static TrainingHistory Train(
        ITrainableModel model, IBatchSource batches, int trainingCount, int batchSize, Func<EvaluationResult>? validate,
        FitOptions options, IProgress<EpochResult>? progress)
    {
        var batchCount = (trainingCount + batchSize - 1) / batchSize;
        var order = new int[trainingCount];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var cancellation = options.CancellationToken;
        var random = new SeededRandom(options.Seed);
        var history = new TrainingHistory();
        foreach (var callback in options.Callbacks)
        {
            callback.OnTrainingBegin(model);
        }

        var firstEpoch = 1;
        if (options.Checkpoint is { } checkpoint && File.Exists(checkpoint.Path))
        {
            var resumed = Checkpoint.Restore(checkpoint.Path, model, options.Optimizer, options.Callbacks, trainingCount);
            resumed.Order.CopyTo(order, 0);
            random = resumed.ShuffleRandom;
            foreach (var result in resumed.History)
            {
                history.Add(result);
            }

            // A run that a callback stopped stays stopped: resuming it only ends it as it would have ended.
            firstEpoch = resumed.Stopped ? int.MaxValue : resumed.Epoch + 1;
        }

        for (var epoch = firstEpoch; epoch <= options.Epochs; epoch++)
        {
            if (options.Shuffle)
            {
                random.Shuffle(order.AsSpan());
            }

            // Augmentation draws from a stream of its own, a function of the seed and the epoch alone: the shuffles
            // are the same with it or without, and a resumed run needs no state to continue it.
            batches.BeginEpoch(order, options.Augmentation, new SeededRandom(options.Seed, AugmentationStream + (ulong)epoch));
            var lossSum = 0.0;
            for (var batchNumber = 1; batchNumber <= batchCount; batchNumber++)
            {
                cancellation.ThrowIfCancellationRequested();
                var count = batches.Next(out var batchInputs, out var batchTargets);
                var loss = model.TrainStep(batchInputs, batchTargets);
                batches.Release();
                if (!float.IsFinite(loss))
                {
                    throw new TrainingDivergedException(epoch, batchNumber, loss);
                }

                options.Optimizer.Step(model.Parameters, model.Gradients);
                lossSum += (double)loss * count;
                options.BatchProgress?.Report(new BatchProgress(epoch, batchNumber, batchCount, loss));
            }

            var validation = validate?.Invoke();
            var result = new EpochResult(epoch, (float)(lossSum / trainingCount), validation?.Loss, validation?.Accuracy);
            history.Add(result);
            progress?.Report(result);
            var stop = false;
            foreach (var callback in options.Callbacks)
            {
                stop |= callback.OnEpochEnd(model, result) == EpochDecision.Stop;
            }

            if (options.Checkpoint is { } due && (stop || epoch == options.Epochs || epoch % due.EveryEpochs == 0))
            {
                Checkpoint.Save(due.Path, model, options.Optimizer, options.Callbacks, new Checkpoint.Progress
                {
                    Epoch = epoch,
                    Stopped = stop,
                    Order = order,
                    ShuffleRandom = random,
                    History = history.Epochs,
                });
            }

            if (stop)
            {
                break;
            }
        }

        foreach (var callback in options.Callbacks)
        {
            callback.OnTrainingEnd(model);
        }

        return history;
    }

    /// <summary>How many samples a validation split holds out: ⌊count × fraction⌋, which must leave some on each side.</summary>
    private static int ValidationCount(int count, float fraction)
    {
        if (!(fraction >= 0f && fraction < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(FitOptions.ValidationSplit), fraction, "The validation split must lie in [0, 1).");
        }

        if (fraction == 0f)
        {
            return 0;
        }

        var held = (int)(count * (double)fraction);
        if (held == 0 || held == count)
        {
            throw new ArgumentException(
                $"A validation split of {fraction} of {count} samples leaves {held} for validation and {count - held} for training; both need at least one.",
                "data");
        }

        return held;
    }

    /// <summary>
    /// The model's loss over <paramref name="data"/>, and its mean absolute error (regression losses) or its accuracy,
    /// confusion matrix and per-class precision, recall and F1 (classification losses; see
    /// <see cref="EvaluationResult.Confusion"/>, <see cref="EvaluationResult.LabelConfusions"/> and
    /// <see cref="EvaluationResult.Report"/>).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The data do not fit the model, or a target is one the loss cannot take (checked for every sample first; the
    /// message names the sample's index in <paramref name="data"/>).
    /// </exception>
    public static EvaluationResult Evaluate<TModel>(this TModel model, Dataset data)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        CheckData(model, data, "the dataset", nameof(data));
        return EvaluateChecked(model, data);
    }

    /// <summary>Loss and metrics over every sample of <paramref name="data"/> (checked already).</summary>
    private static EvaluationResult EvaluateChecked(ITrainableModel model, Dataset data)
    {
        var length = data.Count;
        var chunk = Math.Min(EvaluationChunk, length);
        var predictions = new float[chunk * model.OutputSize];
        var inputs = new AlignedBuffer(chunk * data.FeatureSize);
        var tally = new EvaluationTally(model);
        for (var start = 0; start < length; start += EvaluationChunk)
        {
            var count = Math.Min(EvaluationChunk, length - start);
            var output = predictions.AsSpan(0, count * model.OutputSize);
            var batchInputs = inputs.Span.Slice(0, count * data.FeatureSize);
            data.Features.Slice(start * data.FeatureSize, count * data.FeatureSize).CopyTo(batchInputs);
            var targets = data.Targets.Slice(start * data.TargetSize, count * data.TargetSize);
            tally.Add(model.ComputeLoss(batchInputs, targets, output), count, output, targets);
        }

        return tally.Result(length, data.TargetSize);
    }

    /// <summary>
    /// Throws unless <paramref name="data"/> fits the model: samples of the model's input and output sizes (or one class
    /// label each for softmax cross-entropy), and every target one the loss can take. Named after <paramref name="what"/>
    /// and the sample's index in the dataset, so the user can find it (the losses themselves only see a batch).
    /// </summary>
    private static void CheckData(ITrainableModel model, Dataset data, string what, string parameterName)
    {
        CheckShape(model, data.Count, data.FeatureSize, data.TargetSize, what, parameterName);
        var rules = new TargetRules(model, data.TargetSize);
        var targets = data.Targets;
        var invalid = rules.FindInvalid(targets);
        if (invalid >= 0)
        {
            throw new ArgumentException(rules.Describe(targets[invalid], invalid, $"Sample {rules.SampleOf(invalid)} of {what}"), parameterName);
        }
    }

    /// <summary>
    /// Throws unless the data hold samples, of the model's input and output sizes (or one class label each for softmax
    /// cross-entropy); what the targets hold is checked apart.
    /// </summary>
    private static void CheckShape(ITrainableModel model, int count, int featureSize, int targetSize, string what, string parameterName)
    {
        if (count == 0)
        {
            throw new ArgumentException($"{char.ToUpperInvariant(what[0])}{what[1..]} holds no samples.", parameterName);
        }

        var labels = new TargetRules(model, targetSize).Labels;
        if (featureSize != model.InputSize || (targetSize != model.OutputSize && !labels))
        {
            throw new ArgumentException(
                $"The model takes {model.InputSize} inputs and gives {model.OutputSize} outputs per sample, " +
                $"but {what} has {featureSize} features and {targetSize} targets per sample.",
                parameterName);
        }
    }
}
