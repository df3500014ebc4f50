using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelGen;

/// <summary>
/// Samples that stay in their files and are read as they are needed, for data that do not fit in memory:
/// <c>Fit</c> and <c>Evaluate</c> take it as they take a <see cref="Dataset"/>; a dataset too large to map is read by
/// a thread of their own, which reads the next batches while the current step runs. It reads ModelGen record files
/// (<see cref="OpenRecords(string[])"/>, written by <see cref="RecordFileWriter"/>; the format is described in
/// docs/data-format.md) and raw IDX files (<see cref="OpenIdx"/>), and reads several files (shards) as one sequence
/// (<see cref="OpenRecords(string[])"/> with several paths, <see cref="Concat"/>).
/// </summary>
/// <remarks>
/// <para>
/// Opening a dataset reads and checks each file's header and length (so a truncated or foreign file fails here, with
/// its name and the offset at fault); it keeps no file open. Each <c>Fit</c> or <c>Evaluate</c> opens the files for
/// itself and closes them as it returns or throws. The object holds no samples (but the labels of IDX files, one
/// byte per sample) and may be used by several calls at once.
/// </para>
/// <para>
/// Memory. A streamed <c>Fit</c> holds three batches (the one in the step and two read ahead), a 1 MiB read buffer,
/// and the order of the training samples: 4 bytes per sample, as the in-memory <c>Fit</c> keeps it (5.6 MB for 1.4
/// million samples). That order is what lets the shuffle be exact: each epoch visits the samples in a random
/// permutation of the whole set, drawn from <see cref="FitOptions.Seed"/> as in memory, so the streamed <c>Fit</c>
/// gives the very bits that the in-memory one gives on the same samples. The price is reads at random, one per sample
/// (consecutive samples are read together: an unshuffled epoch or an evaluation reads sequentially), which cost what
/// sequential ones cost when the file is on an SSD or in the page cache. A shuffle buffer (tf.data's, WebDataset's)
/// would read sequentially from disks that seek slowly, but its order depends on the buffer's size, only mixes
/// samples that lie near each other, and could not repeat the in-memory run; it is not offered.
/// </para>
/// <para>
/// How files are read. A dataset whose files hold at most <see cref="MappingLimit"/> bytes in all (256 MiB by default)
/// is read through read-only memory mappings: a sample is converted from where it lies, with no system call, which
/// keeps the reader thread's share of a two-core machine small (one positioned read per sample cost a shuffled epoch of
/// Fashion-MNIST a sixth of its speed). Mapped pages count in the process's resident memory once touched, so a larger
/// dataset is read with positioned reads (<see cref="RandomAccess"/>): its pages stay in the operating system's cache,
/// outside the process, and the resident memory does not grow with the files. The bits read are the same either way.
/// </para>
/// </remarks>
public sealed class StreamingDataset
{
    private readonly SampleFile[] _files;

    /// <summary>The index of each file's first sample in the sequence, then <see cref="Count"/>.</summary>
    private readonly int[] _starts;

    private StreamingDataset(SampleFile[] files)
    {
        if (files.Length == 0)
        {
            throw new ArgumentException("A dataset needs at least one file.", "paths");
        }

        var first = files[0];
        _starts = new int[files.Length + 1];
        long count = 0;
        for (var f = 0; f < files.Length; f++)
        {
            var file = files[f];
            if (file.FeatureSize != first.FeatureSize || file.TargetSize != first.TargetSize)
            {
                throw new InvalidDataException(
                    $"'{file.Name}' has {file.FeatureSize} features and {file.TargetSize} targets per sample, but '{first.Name}' has " +
                    $"{first.FeatureSize} and {first.TargetSize}: the files of one dataset must agree.");
            }

            _starts[f] = (int)count;
            count += file.Count;
            if (count > int.MaxValue)
            {
                throw new NotSupportedException($"The files hold more than {int.MaxValue} samples in all, more than one dataset reads.");
            }
        }

        _starts[^1] = (int)count;
        _files = files;
        Count = (int)count;
        FeatureSize = first.FeatureSize;
        TargetSize = first.TargetSize;
    }

    /// <summary>The default <see cref="MappingLimit"/>: 256 MiB.</summary>
    public const long DefaultMappingLimit = 256L << 20;

    /// <summary>
    /// The most bytes, over all files, that are read through memory mappings rather than positioned reads (see the
    /// remarks): what a run may add to its resident memory for speed. 0 never maps.
    /// </summary>
    public long MappingLimit
    {
        get => _mappingLimit;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _mappingLimit = value;
        }
    }

    private long _mappingLimit = DefaultMappingLimit;

    /// <summary>The number of samples, over all files.</summary>
    public int Count { get; }

    /// <summary>Floats per sample's features.</summary>
    public int FeatureSize { get; }

    /// <summary>Floats per sample's target (1 for a class label).</summary>
    public int TargetSize { get; }

    /// <summary>
    /// The samples of one or more ModelGen record files (written by <see cref="RecordFileWriter"/>), read as one
    /// sequence in the order given: sample 0 is the first file's first record.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// A file is not a record file of a version this runtime reads, is truncated or has bytes after its last record
    /// (the message names the file and the offset), or the files' sizes differ.
    /// </exception>
    /// <exception cref="NotSupportedException">The files hold more than 2³¹ − 1 samples in all.</exception>
    public static StreamingDataset OpenRecords(params string[] paths) => OpenRecords((IEnumerable<string>)paths);

    /// <inheritdoc cref="OpenRecords(string[])"/>
    public static StreamingDataset OpenRecords(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return new StreamingDataset(paths.Select(path =>
        {
            ArgumentException.ThrowIfNullOrEmpty(path, nameof(paths));
            return (SampleFile)RecordFile.Open(path);
        }).ToArray());
    }

    /// <summary>
    /// The samples of a pair of raw (not gzipped) unsigned-byte IDX files, the format of MNIST: each sample's values v
    /// as the floats v / 255 and its label as one float, as <see cref="Idx.ReadImages"/> and <see cref="Idx.ReadLabels"/>
    /// give them. The samples file may have any number of dimensions after the count (images have two).
    /// </summary>
    /// <param name="imagesPath">An <c>…-images-idx3-ubyte</c> file.</param>
    /// <param name="labelsPath">The matching <c>…-labels-idx1-ubyte</c> file: its labels (one byte per sample) are read now.</param>
    /// <exception cref="InvalidDataException">A file is not an unsigned-byte IDX file, is truncated or too long, or the counts differ.</exception>
    /// <exception cref="NotSupportedException">A file is gzipped: gzip can only be read from the start, not at random.</exception>
    public static StreamingDataset OpenIdx(string imagesPath, string labelsPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        return new StreamingDataset([IdxFile.Open(imagesPath, labelsPath)]);
    }

    /// <summary>
    /// The samples of <paramref name="parts"/> one after another, as one dataset (for shards of IDX files, or a mix of
    /// formats). The parts must have the same feature and target sizes; nothing is read.
    /// </summary>
    public static StreamingDataset Concat(params StreamingDataset[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return new StreamingDataset(parts.SelectMany(part => (part ?? throw new ArgumentNullException(nameof(parts)))._files).ToArray());
    }

    /// <summary>
    /// Reads <paramref name="count"/> samples from <paramref name="start"/> on into memory, as a <see cref="Dataset"/>
    /// (for a validation or test set that fits, or to look at the data).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range lies outside the dataset, or would not fit in one array.</exception>
    /// <exception cref="InvalidDataException">A file changed or was cut short since the dataset was opened.</exception>
    public Dataset Take(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Count - count, nameof(count));
        if ((long)count * FeatureSize > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{count} samples of {FeatureSize} features would not fit in one array.");
        }

        var features = new float[count * FeatureSize];
        var targets = new float[count * TargetSize];
        using var reader = new SampleReader(this);
        reader.Read(null, start, count, features, targets);
        return new Dataset(features, FeatureSize, targets, TargetSize);
    }

    /// <summary>The files, in order.</summary>
    internal IReadOnlyList<SampleFile> Files => _files;

    /// <summary>The first sample of each file, then <see cref="Count"/>.</summary>
    internal ReadOnlySpan<int> Starts => _starts;

    /// <summary>Where sample <paramref name="index"/> lies, for messages: "'train.mgrec', record 17 at offset 53412".</summary>
    internal string Locate(int index)
    {
        var file = FileOf(index, 0);
        return _files[file].Locate(index - _starts[file]);
    }

    /// <summary>The file that holds sample <paramref name="index"/>; <paramref name="guess"/> (the last one found) is tried first.</summary>
    internal int FileOf(int index, int guess)
    {
        if (index >= _starts[guess] && index < _starts[guess + 1])
        {
            return guess;
        }

        // The last file that starts at or before the index (an empty file starts where the next one does).
        int low = 0, high = _files.Length - 1;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (_starts[middle] <= index)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }
}

/// <summary>
/// Reads samples of a <see cref="StreamingDataset"/> by index, on one thread: its files open (each through a handle
/// or a mapping of its own) from construction to <see cref="Dispose"/>, and one staging buffer through which positioned
/// reads pass. Samples that follow each other in a file are read with one positioned read. Allocates nothing once constructed.
/// </summary>
internal sealed class SampleReader : IDisposable
{
    /// <summary>The staging buffer's size: a run of consecutive samples is read in parts of at most this many bytes.</summary>
    private const int StagingBytes = 1 << 20;

    private readonly StreamingDataset _data;
    private readonly SampleFileReader[] _readers;
    private readonly byte[] _staging;
    private int _lastFile;

    /// <summary>Opens every file of <paramref name="data"/> (none stays open when one fails).</summary>
    /// <exception cref="InvalidDataException">A file changed since the dataset was opened.</exception>
    public SampleReader(StreamingDataset data)
    {
        _data = data;
        var files = data.Files;
        _readers = new SampleFileReader[files.Count];
        var largest = 0;
        var mapped = Mapped = files.Sum(file => file.Length) <= data.MappingLimit;
        try
        {
            for (var f = 0; f < files.Count; f++)
            {
                _readers[f] = files[f].OpenReader(mapped);
                largest = Math.Max(largest, files[f].SampleBytes);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        _staging = new byte[Math.Max(largest, StagingBytes - (StagingBytes % largest))];
    }

    /// <summary>Whether the files are read through memory mappings (see <see cref="StreamingDataset.MappingLimit"/>).</summary>
    public bool Mapped { get; }

    /// <summary>
    /// Reads <paramref name="count"/> samples into <paramref name="features"/> and <paramref name="targets"/> (sample
    /// after sample): the samples <paramref name="order"/>[<paramref name="start"/> + k], or, without an order,
    /// <paramref name="start"/> + k, for k from 0 to <paramref name="count"/> − 1.
    /// </summary>
    /// <exception cref="InvalidDataException">A file was cut short since it was opened.</exception>
    public void Read(int[]? order, int start, int count, Span<float> features, Span<float> targets)
    {
        var (featureSize, targetSize) = (_data.FeatureSize, _data.TargetSize);
        var starts = _data.Starts;
        var files = _data.Files;
        foreach (var reader in _readers)
        {
            reader.Verify();
        }

        var k = 0;
        while (k < count)
        {
            var index = order is null ? start + k : order[start + k];
            var file = _lastFile = _data.FileOf(index, _lastFile);
            var local = index - starts[file];

            // The run of samples that follow this one in its file, as far as the staging buffer holds.
            var limit = Math.Min(count - k, Math.Min(files[file].Count - local, _staging.Length / files[file].SampleBytes));
            var run = 1;
            if (order is null)
            {
                run = limit;
            }
            else
            {
                while (run < limit && order[start + k + run] == index + run)
                {
                    run++;
                }
            }

            _readers[file].Read(
                local, _staging, features.Slice(k * featureSize, run * featureSize), targets.Slice(k * targetSize, run * targetSize));
            k += run;
        }
    }

    /// <summary>Closes the files.</summary>
    public void Dispose()
    {
        foreach (var reader in _readers)
        {
            reader?.Dispose();
        }
    }
}
