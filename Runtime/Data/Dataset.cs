using System;

namespace ModelGen;

/// <summary>
/// Samples for training or evaluation: features and targets, each stored sample after sample in one flat array. A
/// dataset may be a view of consecutive samples of another's arrays (<see cref="Slice"/>): views share, never copy.
/// </summary>
public sealed class Dataset
{
    private readonly float[] _features;
    private readonly float[] _targets;

    /// <summary>Where this dataset's first sample lies in the arrays (0 unless it is a <see cref="Slice"/>).</summary>
    private readonly int _first;

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

    /// <summary>A view of <paramref name="count"/> samples of <paramref name="whole"/>'s arrays from <paramref name="first"/> on.</summary>
    private Dataset(Dataset whole, int first, int count)
    {
        _features = whole._features;
        _targets = whole._targets;
        _first = whole._first + first;
        FeatureSize = whole.FeatureSize;
        TargetSize = whole.TargetSize;
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
    public ReadOnlySpan<float> Features => _features.AsSpan(_first * FeatureSize, Count * FeatureSize);

    /// <summary>Every sample's target, one after another.</summary>
    public ReadOnlySpan<float> Targets => _targets.AsSpan(_first * TargetSize, Count * TargetSize);

    /// <summary>
    /// The <paramref name="count"/> samples from <paramref name="start"/> on, as a view that shares this dataset's
    /// arrays: no copy is made, so a split of a large set costs no memory (but keeps the whole arrays alive).
    /// </summary>
    public Dataset Slice(int start, int count)
    {
        CheckRange(start, count);
        return new Dataset(this, start, count);
    }

    /// <summary>
    /// A copy of <paramref name="count"/> samples starting at <paramref name="start"/>, in arrays of its own
    /// (<see cref="Slice"/> gives the same samples without copying them).
    /// </summary>
    public Dataset Take(int start, int count)
    {
        CheckRange(start, count);
        return new Dataset(
            Features.Slice(start * FeatureSize, count * FeatureSize).ToArray(),
            FeatureSize,
            Targets.Slice(start * TargetSize, count * TargetSize).ToArray(),
            TargetSize);
    }

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> FeaturesOf(int index) => Features.Slice(index * FeatureSize, FeatureSize);

    /// <summary>The target of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> TargetOf(int index) => Targets.Slice(index * TargetSize, TargetSize);

    private void CheckRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Count - count, nameof(count));
    }
}
