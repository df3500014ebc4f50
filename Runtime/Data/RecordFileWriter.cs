using System;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.InteropServices;

namespace ModelGen;

/// <summary>
/// Writes a ModelGen record file: samples of float features and float targets, one record after another, that a
/// <see cref="StreamingDataset"/> reads back at random without holding the file in memory (the format is described
/// in docs/data-format.md). Write the samples, then dispose the writer: only then is the sample count written into
/// the header, so a file whose writer never finished is refused when it is opened rather than read short.
/// </summary>
/// <remarks>
/// A set too large for one file is written as several (shards) with the same sizes, each by a writer of its own;
/// <see cref="StreamingDataset.OpenRecords(string[])"/> reads them as one sequence, in the order given.
/// Values are stored as IEEE 754 single-precision floats, little-endian, whatever the machine.
/// </remarks>
public sealed class RecordFileWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly byte[] _record;
    private bool _disposed;

    /// <summary>Creates (or replaces) the record file at <paramref name="path"/> for samples of the sizes given.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="featureSize">Floats per sample's features: the model's <c>InputSize</c>.</param>
    /// <param name="targetSize">Floats per sample's target: the model's <c>OutputSize</c>, or 1 for a class label.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative, or a record would exceed 2³¹ − 1 bytes.</exception>
    public RecordFileWriter(string path, int featureSize, int targetSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetSize);
        var recordBytes = RecordFormat.RecordBytes(featureSize, targetSize);
        if (recordBytes > RecordFormat.MaxRecordBytes)
        {
            throw new ArgumentOutOfRangeException(
                nameof(featureSize), $"A record of {featureSize} + {targetSize} floats would take {recordBytes} bytes; at most {RecordFormat.MaxRecordBytes} are read.");
        }

        FeatureSize = featureSize;
        TargetSize = targetSize;
        _record = new byte[recordBytes];
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        Span<byte> header = stackalloc byte[RecordFormat.HeaderBytes];
        RecordFormat.WriteHeader(header, featureSize, targetSize, count: 0);
        _file.Write(header);
    }

    /// <summary>Floats per sample's features.</summary>
    public int FeatureSize { get; }

    /// <summary>Floats per sample's target.</summary>
    public int TargetSize { get; }

    /// <summary>The samples written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Writes every sample of <paramref name="data"/> to a new record file at <paramref name="path"/>.</summary>
    public static void WriteAll(string path, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var writer = new RecordFileWriter(path, data.FeatureSize, data.TargetSize);
        writer.Write(data.Features, data.Targets);
    }

    /// <summary>
    /// Appends whole samples: <paramref name="features"/> holds n × <see cref="FeatureSize"/> floats and
    /// <paramref name="targets"/> n × <see cref="TargetSize"/>, sample after sample (n may be 0).
    /// </summary>
    /// <exception cref="ArgumentException">The spans do not hold the same whole number of samples.</exception>
    /// <exception cref="InvalidOperationException">The file would hold more than 2³¹ − 1 samples, the most a dataset reads.</exception>
    public void Write(ReadOnlySpan<float> features, ReadOnlySpan<float> targets)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (features.Length % FeatureSize != 0 || targets.Length % TargetSize != 0 || features.Length / FeatureSize != targets.Length / TargetSize)
        {
            throw new ArgumentException(
                $"{features.Length} features and {targets.Length} targets are not the same whole number of samples of {FeatureSize} and {TargetSize}.",
                nameof(features));
        }

        var samples = features.Length / FeatureSize;
        if (Count + samples > int.MaxValue)
        {
            throw new InvalidOperationException($"A record file holds at most {int.MaxValue} samples; write the rest to another file (a shard).");
        }

        var featureBytes = FeatureSize * sizeof(float);
        for (var i = 0; i < samples; i++)
        {
            Store(features.Slice(i * FeatureSize, FeatureSize), _record.AsSpan(0, featureBytes));
            Store(targets.Slice(i * TargetSize, TargetSize), _record.AsSpan(featureBytes));
            _file.Write(_record);
        }

        Count += samples;
    }

    /// <summary>Writes the sample count into the header and closes the file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        using (_file)
        {
            Span<byte> count = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(count, (ulong)Count);
            _file.Position = RecordFormat.CountOffset;
            _file.Write(count);
            _file.Flush();
        }
    }

    /// <summary>Floats as little-endian bytes.</summary>
    private static void Store(ReadOnlySpan<float> values, Span<byte> bytes)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(bytes);
            return;
        }

        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.Slice(i * sizeof(float)), values[i]);
        }
    }
}
