using System;
using System.IO;

namespace ModelGen;

/// <summary>
/// <c>Fit</c> and <c>Evaluate</c> for every generated model. Generic over the model type: no reflection, and the
/// model is called once per batch.
/// </summary>
public static class ModelTraining
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
    public static TrainingHistory Fit<TModel>(this TModel model, Dataset data, FitOptions? options = null, IProgress<EpochResult>? progress = null)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        CheckData(model, data, "the dataset", nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epochs, nameof(options.Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize, nameof(options.BatchSize));
        ArgumentNullException.ThrowIfNull(options.Optimizer, nameof(options.Optimizer));
        // Keras' validation split: the last samples, before any shuffling. Training only ever draws from the rest.
        var validationCount = ValidationCount(data.Count, options.ValidationSplit);
        if (options.ValidationData is not null)
        {
            if (validationCount > 0)
            {
                throw new ArgumentException("Give either a validation split or validation data, not both.", nameof(options));
            }

            CheckData(model, options.ValidationData, "the validation data (FitOptions.ValidationData)", nameof(options));
        }

        if (options.Augmentation is { } augmentation && augmentation.SampleSize != model.InputSize)
        {
            throw new ArgumentException(
                $"The augmentation's images are {augmentation.Channels} × {augmentation.Height} × {augmentation.Width} = " +
                $"{augmentation.SampleSize} floats, but the model takes {model.InputSize} inputs per sample.",
                nameof(options));
        }

        var trainingCount = data.Count - validationCount;

        // The split's samples are a view of the data's tail (no copy); with ValidationData, that set as it is.
        var validationSet = validationCount > 0 ? data.Slice(trainingCount, validationCount) : options.ValidationData;

        var batchSize = Math.Min(options.BatchSize, trainingCount);
        var batches = (trainingCount + batchSize - 1) / batchSize;
        var order = new int[trainingCount];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // Batches are gathered into cache-line-aligned buffers: the first layer's GEMM streams its input rows, and
        // vector loads that straddle two cache lines made it 1.2–1.3× slower (docs/performance.md).
        var inputs = new AlignedBuffer(batchSize * data.FeatureSize);
        var targets = new AlignedBuffer(batchSize * data.TargetSize);
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
            var augmentationRandom = new SeededRandom(options.Seed, AugmentationStream + (ulong)epoch);
            var lossSum = 0.0;
            var batchNumber = 0;
            for (var start = 0; start < trainingCount; start += batchSize)
            {
                batchNumber++;
                var count = Math.Min(batchSize, trainingCount - start);
                var batchInputs = inputs.Span.Slice(0, count * data.FeatureSize);
                var batchTargets = targets.Span.Slice(0, count * data.TargetSize);
                Gather(data, order.AsSpan(start, count), batchInputs, batchTargets);
                options.Augmentation?.Apply(batchInputs, ref augmentationRandom);

                var loss = model.TrainStep(batchInputs, batchTargets);
                if (!float.IsFinite(loss))
                {
                    throw new TrainingDivergedException(epoch, batchNumber, loss);
                }

                options.Optimizer.Step(model.Parameters, model.Gradients);
                lossSum += (double)loss * count;
                options.BatchProgress?.Report(new BatchProgress(epoch, batchNumber, batches, loss));
            }

            var validation = validationSet is null ? (EvaluationResult?)null : EvaluateChecked(model, validationSet);
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
        var outputs = model.OutputSize;
        // The classification counts, one array for the whole call: a confusion matrix [actual × outputs + predicted]
        // (softmax), per-class tallies beyond Metrics.MaxConfusionClasses, or a 2 × 2 matrix per output (binary).
        var counts = model.Loss switch
        {
            Loss.SoftmaxCrossEntropy => new long[outputs <= Metrics.MaxConfusionClasses ? outputs * outputs : 3 * outputs],
            Loss.BinaryCrossEntropy => new long[4 * outputs],
            _ => null,
        };
        double lossSum = 0, absoluteErrorSum = 0;
        for (var start = 0; start < length; start += EvaluationChunk)
        {
            var count = Math.Min(EvaluationChunk, length - start);
            var output = predictions.AsSpan(0, count * outputs);
            var batchInputs = inputs.Span.Slice(0, count * data.FeatureSize);
            data.Features.Slice(start * data.FeatureSize, count * data.FeatureSize).CopyTo(batchInputs);
            var targets = data.Targets.Slice(start * data.TargetSize, count * data.TargetSize);
            lossSum += (double)model.ComputeLoss(batchInputs, targets, output) * count;
            switch (model.Loss)
            {
                case Loss.SoftmaxCrossEntropy when outputs <= Metrics.MaxConfusionClasses:
                    Metrics.CountClasses(output, targets, outputs, counts);
                    break;
                case Loss.SoftmaxCrossEntropy:
                    Metrics.TallyClasses(output, targets, outputs, counts);
                    break;
                case Loss.BinaryCrossEntropy:
                    Metrics.CountBinary(output, targets, outputs, counts);
                    break;
                default:
                    absoluteErrorSum += Metrics.SumAbsoluteDifference(output, targets);
                    break;
            }
        }

        var loss = (float)(lossSum / length);
        switch (model.Loss)
        {
            case Loss.SoftmaxCrossEntropy when outputs <= Metrics.MaxConfusionClasses:
            {
                var confusion = new ConfusionMatrix(counts!, outputs);
                return new EvaluationResult(loss, null, (float)(confusion.Correct / (double)length), length)
                {
                    Confusion = confusion,
                    Report = confusion.Report(),
                };
            }

            case Loss.SoftmaxCrossEntropy:
            {
                var report = ClassificationReport.FromClassCounts(
                    counts![(2 * outputs)..], counts[..outputs], counts[outputs..(2 * outputs)]);
                return new EvaluationResult(loss, null, (float)report.Accuracy!.Value, length) { Report = report };
            }

            case Loss.BinaryCrossEntropy:
            {
                var labels = new ConfusionMatrix[outputs];
                long correct = 0;
                for (var o = 0; o < outputs; o++)
                {
                    labels[o] = new ConfusionMatrix(counts![(4 * o)..((4 * o) + 4)], 2);
                    correct += labels[o].Correct;
                }

                var accuracy = (float)(correct / ((double)length * outputs));
                return outputs == 1
                    ? new EvaluationResult(loss, null, accuracy, length) { Confusion = labels[0], Report = labels[0].Report() }
                    : new EvaluationResult(loss, null, accuracy, length)
                    {
                        LabelConfusions = Array.AsReadOnly(labels),
                        Report = ClassificationReport.FromLabelConfusions(labels),
                    };
            }

            default:
                return new EvaluationResult(loss, (float)(absoluteErrorSum / ((double)length * data.TargetSize)), null, length);
        }
    }

    /// <summary>The batch's samples, copied out of the dataset in the order given (the features on both kernel threads).</summary>
    private static void Gather(Dataset data, ReadOnlySpan<int> indices, Span<float> inputs, Span<float> targets)
    {
        Kernels.RowGather.Gather(data.Features, data.FeatureSize, indices, inputs);
        for (var i = 0; i < indices.Length; i++)
        {
            data.TargetOf(indices[i]).CopyTo(targets.Slice(i * data.TargetSize, data.TargetSize));
        }
    }

    /// <summary>
    /// Throws unless <paramref name="data"/> fits the model: samples of the model's input and output sizes (or one class
    /// label each for softmax cross-entropy), and every target one the loss can take. Named after <paramref name="what"/>
    /// and the sample's index in the dataset, so the user can find it (the losses themselves only see a batch).
    /// </summary>
    private static void CheckData(ITrainableModel model, Dataset data, string what, string parameterName)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException($"{char.ToUpperInvariant(what[0])}{what[1..]} holds no samples.", parameterName);
        }

        var labels = model.Loss == Loss.SoftmaxCrossEntropy && data.TargetSize == 1;
        if (data.FeatureSize != model.InputSize || (data.TargetSize != model.OutputSize && !labels))
        {
            throw new ArgumentException(
                $"The model takes {model.InputSize} inputs and gives {model.OutputSize} outputs per sample, " +
                $"but {what} has {data.FeatureSize} features and {data.TargetSize} targets per sample.",
                parameterName);
        }

        var targets = data.Targets;
        if (labels)
        {
            var classes = model.OutputSize;
            for (var i = 0; i < targets.Length; i++)
            {
                var label = targets[i];
                if (!(label >= 0f && label < classes) || label != MathF.Floor(label))
                {
                    throw new ArgumentException(
                        $"Sample {i} of {what} has the label {Text(label)}, but a class label must be a whole number from 0 to {classes - 1} " +
                        $"(the model has {classes} classes).",
                        parameterName);
                }
            }

            return;
        }

        var binary = model.Loss == Loss.BinaryCrossEntropy;
        for (var i = 0; i < targets.Length; i++)
        {
            var target = targets[i];
            if (binary ? !(target >= 0f && target <= 1f) : !float.IsFinite(target))
            {
                var sample = i / data.TargetSize;
                var where = data.TargetSize == 1 ? string.Empty : $" at output {i % data.TargetSize}";
                throw new ArgumentException(
                    binary
                        ? $"Sample {sample} of {what} has the target {Text(target)}{where}, but binary cross-entropy takes targets from 0 to 1."
                        : $"Sample {sample} of {what} has the target {Text(target)}{where}, but targets must be finite numbers.",
                    parameterName);
            }
        }
    }

    private static string Text(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
