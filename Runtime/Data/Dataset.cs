using System;

namespace ModelGen;

/// <summary>
/// Samples for training or evaluation: features and targets, each stored sample after sample in one flat array.
/// </summary>
public sealed class Dataset
{
    private readonly float[] _features;
    private readonly float[] _targets;

    /// <summary>Wraps the arrays (no copy).</summary>
    /// <param name="features">Count × <paramref name="featureSize"/> floats.</param>
    /// <param name="featureSize">Floats per sample's features: the model's <c>InputSize</c>.</param>
    /// <param name="targets">Count × <paramref name="targetSize"/> floats.</param>
    /// <param name="targetSize">Floats per sample's target: the model's <c>OutputSize</c>.</param>
    public Dataset(float[] features, int featureSize, float[] targets, int targetSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetSize);
        if (features.Length % featureSize != 0)
        {
            throw new ArgumentException($"{features.Length} features do not divide into samples of {featureSize}.", nameof(features));
        }

        var count = features.Length / featureSize;
        if (targets.Length != count * targetSize)
        {
            throw new ArgumentException(
                $"{count} samples need {count * targetSize} targets of size {targetSize}, but {targets.Length} were given.", nameof(targets));
        }

        _features = features;
        _targets = targets;
        FeatureSize = featureSize;
        TargetSize = targetSize;
        Count = count;
    }

    /// <summary>
    /// A classification dataset with one class index per sample (for <see cref="Loss.SoftmaxCrossEntropy"/>): the
    /// labels are stored as floats, one per sample.
    /// </summary>
    /// <param name="features">Count × <paramref name="featureSize"/> floats.</param>
    /// <param name="featureSize">Floats per sample's features: the model's <c>InputSize</c>.</param>
    /// <param name="labels">One class index per sample.</param>
    public static Dataset FromLabels(float[] features, int featureSize, ReadOnlySpan<byte> labels)
    {
        var targets = new float[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            targets[i] = labels[i];
        }

        return new Dataset(features, featureSize, targets, 1);
    }

    /// <inheritdoc cref="FromLabels(float[], int, ReadOnlySpan{byte})"/>
    public static Dataset FromLabels(float[] features, int featureSize, ReadOnlySpan<int> labels)
    {
        var targets = new float[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(labels[i], nameof(labels));
            targets[i] = labels[i];
        }

        return new Dataset(features, featureSize, targets, 1);
    }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>Floats per sample's features.</summary>
    public int FeatureSize { get; }

    /// <summary>Floats per sample's target.</summary>
    public int TargetSize { get; }

    /// <summary>Every sample's features, one after another.</summary>
    public ReadOnlySpan<float> Features => _features;

    /// <summary>Every sample's target, one after another.</summary>
    public ReadOnlySpan<float> Targets => _targets;

    /// <summary>A copy of <paramref name="count"/> samples starting at <paramref name="start"/>.</summary>
    public Dataset Take(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Count, nameof(count));
        return new Dataset(
            _features.AsSpan(start * FeatureSize, count * FeatureSize).ToArray(),
            FeatureSize,
            _targets.AsSpan(start * TargetSize, count * TargetSize).ToArray(),
            TargetSize);
    }

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> FeaturesOf(int index) => _features.AsSpan(index * FeatureSize, FeatureSize);

    /// <summary>The target of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> TargetOf(int index) => _targets.AsSpan(index * TargetSize, TargetSize);
}
