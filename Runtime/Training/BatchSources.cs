using System;

namespace ModelGen;

/// <summary>
/// Where <c>Fit</c>'s epochs take their batches from: a dataset in memory (<see cref="DatasetBatches"/>) or files read
/// by a background thread (<see cref="StreamBatches"/>). Called once per batch, on the training thread.
/// </summary>
internal interface IBatchSource : IDisposable
{
    /// <summary>
    /// Starts an epoch over the samples in <paramref name="order"/>, batch after batch. <paramref name="order"/> is not
    /// changed before every batch of the epoch has been taken. Each batch is augmented, when
    /// <paramref name="augmentation"/> is given, with draws from <paramref name="augmentationRandom"/> in batch order.
    /// </summary>
    void BeginEpoch(int[] order, ImageAugmentation? augmentation, SeededRandom augmentationRandom);

    /// <summary>The epoch's next batch; returns its number of samples. The spans stay valid until <see cref="Release"/>.</summary>
    int Next(out Span<float> inputs, out Span<float> targets);

    /// <summary>Hands the batch that <see cref="Next"/> gave back: the step is done with it.</summary>
    void Release();
}

/// <summary>
/// Batches gathered from a <see cref="Dataset"/> on the training thread into cache-line-aligned buffers: the first
/// layer's GEMM streams its input rows, and vector loads that straddle two cache lines made it 1.2–1.3× slower
/// (docs/performance.md).
/// </summary>
internal sealed class DatasetBatches(Dataset data, int batchSize) : IBatchSource
{
    private readonly AlignedBuffer _inputs = new(batchSize * data.FeatureSize);
    private readonly AlignedBuffer _targets = new(batchSize * data.TargetSize);
    private int[] _order = [];
    private int _next;
    private ImageAugmentation? _augmentation;
    private SeededRandom _augmentationRandom;

    public void BeginEpoch(int[] order, ImageAugmentation? augmentation, SeededRandom augmentationRandom)
    {
        (_order, _next, _augmentation, _augmentationRandom) = (order, 0, augmentation, augmentationRandom);
    }

    public int Next(out Span<float> inputs, out Span<float> targets)
    {
        var count = Math.Min(batchSize, _order.Length - _next);
        var indices = _order.AsSpan(_next, count);
        _next += count;
        inputs = _inputs.Span.Slice(0, count * data.FeatureSize);
        targets = _targets.Span.Slice(0, count * data.TargetSize);

        // The features on both kernel threads (Kernels.RowGather), the targets here.
        Kernels.RowGather.Gather(data.Features, data.FeatureSize, indices, inputs);
        for (var i = 0; i < indices.Length; i++)
        {
            data.TargetOf(indices[i]).CopyTo(targets.Slice(i * data.TargetSize, data.TargetSize));
        }

        _augmentation?.Apply(inputs, ref _augmentationRandom);
        return count;
    }

    public void Release()
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// Batches of a <see cref="StreamingDataset"/>, read ahead by a <see cref="BatchPipeline"/>'s thread while the
/// current step runs.
/// </summary>
internal sealed class StreamBatches(BatchPipeline pipeline, int batchSize) : IBatchSource
{
    public void BeginEpoch(int[] order, ImageAugmentation? augmentation, SeededRandom augmentationRandom) =>
        pipeline.Begin(order, 0, order.Length, batchSize, augmentation, augmentationRandom);

    public int Next(out Span<float> inputs, out Span<float> targets) => pipeline.Next(out inputs, out targets);

    public void Release() => pipeline.Release();

    /// <summary>The pipeline belongs to the caller, which may still validate with it.</summary>
    public void Dispose()
    {
    }
}
