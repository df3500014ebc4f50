using System;

namespace ModelGen;

/// <summary>
/// <c>Fit</c> and <c>Evaluate</c> for every generated model. Generic over the model type: no reflection, and the
/// model is called once per batch.
/// </summary>
public static class ModelTraining
{
    private const int EvaluationChunk = 256;

    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="data"/>: per epoch, the samples in (optionally shuffled)
    /// batches, one <see cref="ITrainableModel.TrainStep"/> and one optimizer update per batch.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    public static TrainingHistory Fit<TModel>(this TModel model, Dataset data, FitOptions? options = null, IProgress<EpochResult>? progress = null)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new FitOptions();
        CheckShapes(model, data);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epochs, nameof(options.Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize, nameof(options.BatchSize));
        ArgumentNullException.ThrowIfNull(options.Optimizer, nameof(options.Optimizer));
        var (training, validation) = Split(data, options.ValidationSplit);
        data = training;

        var batchSize = Math.Min(options.BatchSize, data.Count);
        var order = new int[data.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // Batches are gathered into cache-line-aligned buffers: the first layer's GEMM streams its input rows, and
        // vector loads that straddle two cache lines cost it about a fifth of its speed (docs/performance.md).
        var inputs = new AlignedBuffer(batchSize * data.FeatureSize);
        var targets = new AlignedBuffer(batchSize * data.TargetSize);
        var random = new SeededRandom(options.Seed);
        var history = new TrainingHistory();
        foreach (var callback in options.Callbacks)
        {
            callback.OnTrainingBegin(model);
        }

        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            if (options.Shuffle)
            {
                random.Shuffle(order.AsSpan());
            }

            var lossSum = 0.0;
            var batchNumber = 0;
            for (var start = 0; start < data.Count; start += batchSize)
            {
                batchNumber++;
                var count = Math.Min(batchSize, data.Count - start);
                var batchInputs = inputs.Span.Slice(0, count * data.FeatureSize);
                var batchTargets = targets.Span.Slice(0, count * data.TargetSize);
                Gather(data, order.AsSpan(start, count), batchInputs, batchTargets);

                var loss = model.TrainStep(batchInputs, batchTargets);
                if (!float.IsFinite(loss))
                {
                    throw new TrainingDivergedException(epoch, batchNumber, loss);
                }

                options.Optimizer.Step(model.Parameters, model.Gradients);
                lossSum += (double)loss * count;
            }

            var validationLoss = validation is null ? (float?)null : model.Evaluate(validation).Loss;
            var result = new EpochResult(epoch, (float)(lossSum / data.Count), validationLoss);
            history.Add(result);
            progress?.Report(result);
            var stop = false;
            foreach (var callback in options.Callbacks)
            {
                stop |= callback.OnEpochEnd(model, result) == EpochDecision.Stop;
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

    /// <summary>Keras' validation split: the last ⌊count × fraction⌋ samples, before any shuffling.</summary>
    private static (Dataset Training, Dataset? Validation) Split(Dataset data, float fraction)
    {
        if (!(fraction >= 0f && fraction < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(FitOptions.ValidationSplit), fraction, "The validation split must lie in [0, 1).");
        }

        var held = (int)(data.Count * (double)fraction);
        if (fraction == 0f)
        {
            return (data, null);
        }

        if (held == 0 || held == data.Count)
        {
            throw new ArgumentException(
                $"A validation split of {fraction} of {data.Count} samples leaves {held} for validation and {data.Count - held} for training; both need at least one.",
                nameof(data));
        }

        var kept = data.Count - held;
        return (data.Take(0, kept), data.Take(kept, held));
    }

    /// <summary>The model's loss and mean absolute error over <paramref name="data"/>.</summary>
    public static EvaluationResult Evaluate<TModel>(this TModel model, Dataset data)
        where TModel : class, ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        CheckShapes(model, data);

        var predictions = new float[Math.Min(EvaluationChunk, data.Count) * data.TargetSize];
        double lossSum = 0, absoluteErrorSum = 0;
        for (var start = 0; start < data.Count; start += EvaluationChunk)
        {
            var count = Math.Min(EvaluationChunk, data.Count - start);
            var output = predictions.AsSpan(0, count * data.TargetSize);
            var targets = data.Targets.Slice(start * data.TargetSize, count * data.TargetSize);
            model.PredictBatch(data.Features.Slice(start * data.FeatureSize, count * data.FeatureSize), output);
            lossSum += (double)LossValue(model.Loss, output, targets) * count;
            absoluteErrorSum += SumAbsoluteDifference(output, targets);
        }

        return new EvaluationResult(
            (float)(lossSum / data.Count),
            (float)(absoluteErrorSum / ((double)data.Count * data.TargetSize)),
            data.Count);
    }

    private static float LossValue(Loss loss, ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets) => loss switch
    {
        Loss.MeanSquaredError => Losses.MeanSquaredError.Value(predictions, targets),
        _ => throw new NotSupportedException($"Loss {loss} has no runtime implementation."),
    };

    private static double SumAbsoluteDifference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += Math.Abs(x[i] - y[i]);
        }

        return sum;
    }

    private static void Gather(Dataset data, ReadOnlySpan<int> indices, Span<float> inputs, Span<float> targets)
    {
        for (var i = 0; i < indices.Length; i++)
        {
            data.FeaturesOf(indices[i]).CopyTo(inputs.Slice(i * data.FeatureSize, data.FeatureSize));
            data.TargetOf(indices[i]).CopyTo(targets.Slice(i * data.TargetSize, data.TargetSize));
        }
    }

    private static void CheckShapes(ITrainableModel model, Dataset data)
    {
        if (data.Count == 0)
        {
            throw new ArgumentException("The dataset holds no samples.", nameof(data));
        }

        if (data.FeatureSize != model.InputSize || data.TargetSize != model.OutputSize)
        {
            throw new ArgumentException(
                $"The model takes {model.InputSize} inputs and gives {model.OutputSize} outputs per sample, " +
                $"but the dataset has {data.FeatureSize} features and {data.TargetSize} targets per sample.",
                nameof(data));
        }
    }
}
