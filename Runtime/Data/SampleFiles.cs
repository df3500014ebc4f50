using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.Win32.SafeHandles;

namespace ModelGen;

/// <summary>
/// One file of samples that a <see cref="StreamingDataset"/> reads at random: its sizes and count, checked when it is
/// opened, and a way to open it for reading.
/// </summary>
internal abstract class SampleFile(string path, int count, int featureSize, int targetSize)
{
    /// <summary>The file's full path.</summary>
    public string Path { get; } = path;

    /// <summary>The file's name, as messages give it.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    public int Count { get; } = count;

    public int FeatureSize { get; } = featureSize;

    public int TargetSize { get; } = targetSize;

    /// <summary>The bytes one sample takes in the file: what a read of one sample stages.</summary>
    public abstract int SampleBytes { get; }

    /// <summary>
    /// Opens the file for reading, through a read-only memory mapping (<paramref name="mapped"/>) or by positioned
    /// reads; its length must still be what it was when the dataset was opened.
    /// </summary>
    /// <exception cref="InvalidDataException">The file changed since.</exception>
    public abstract SampleFileReader OpenReader(bool mapped);

    /// <summary>The file's length as checked when it was opened.</summary>
    public abstract long Length { get; }

    /// <summary>Opens the file's bytes, mapped or for positioned reads, after checking its length.</summary>
    protected FileBytes OpenBytes(bool mapped)
    {
        var handle = OpenChecked(Length);
        if (!mapped || Length == 0)
        {
            return new PositionedBytes(this, handle);
        }

        try
        {
            return new MappedBytes(this, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Where sample <paramref name="local"/> of the file lies, for messages: the file's name, the sample's number and offset.</summary>
    public abstract string Locate(int local);

    /// <summary>Opens <paramref name="path"/> for positioned reads; others may read it meanwhile, no one may write it.</summary>
    internal static SafeFileHandle OpenHandle(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);

    /// <summary>
    /// Fills <paramref name="buffer"/> from <paramref name="offset"/> on; returns the bytes read, fewer only at the end of
    /// the file. One positioned read (pread) per call as a rule: nothing is allocated and no file position is shared.
    /// </summary>
    internal static int ReadAt(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer.Slice(done), offset + done);
            if (read == 0)
            {
                break;
            }

            done += read;
        }

        return done;
    }

    /// <summary>The check every reader makes as it opens a file: its length must be the one its header was checked against.</summary>
    protected SafeFileHandle OpenChecked(long expectedLength)
    {
        var handle = OpenHandle(Path);
        var length = RandomAccess.GetLength(handle);
        if (length != expectedLength)
        {
            handle.Dispose();
            throw new InvalidDataException(
                $"'{Name}' changed after the dataset was opened: it was {expectedLength} bytes and is now {length}. Open the dataset again.");
        }

        return handle;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>'s length at <paramref name="offset"/>, or says where the file ended.</summary>
    internal void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, int first)
    {
        var read = ReadAt(handle, buffer, offset);
        if (read < buffer.Length)
        {
            throw CutShort(RandomAccess.GetLength(handle), offset, buffer.Length, first);
        }
    }

    /// <summary>The error for bytes [offset, offset + length) that a file cut short to <paramref name="end"/> no longer holds.</summary>
    internal InvalidDataException CutShort(long end, long offset, int length, int first) => new(
        $"'{Name}' was cut short after the dataset was opened: it now ends at byte {end}, and samples from " +
        $"{Locate(first)} (bytes {offset} to {offset + length - 1}) could not be read.");
}

/// <summary>A file's bytes as a reader gets them: by positioned reads into its staging buffer, or straight from a mapping.</summary>
internal abstract class FileBytes : IDisposable
{
    /// <summary>
    /// The <paramref name="length"/> bytes at <paramref name="offset"/>, sample <paramref name="first"/> the first of
    /// them: read into <paramref name="staging"/> (at least that long), or where they lie in a mapping.
    /// </summary>
    /// <exception cref="InvalidDataException">The file was cut short since it was opened.</exception>
    public abstract ReadOnlySpan<byte> Get(long offset, int length, Span<byte> staging, int first);

    /// <summary>Checks, once per batch, that the file still holds every byte it held when it was opened (a mapping needs it).</summary>
    public virtual void Verify()
    {
    }

    public abstract void Dispose();
}

/// <summary>Positioned reads (pread): one system call per run of consecutive samples; the bytes land in the staging buffer.</summary>
internal sealed class PositionedBytes(SampleFile file, SafeFileHandle handle) : FileBytes
{
    public override ReadOnlySpan<byte> Get(long offset, int length, Span<byte> staging, int first)
    {
        var bytes = staging[..length];
        file.ReadExactly(handle, bytes, offset, first);
        return bytes;
    }

    public override void Dispose() => handle.Dispose();
}

/// <summary>
/// A read-only memory mapping of the whole file: a sample's bytes are read where they lie, with no system call and no
/// staging copy. Its pages count in the process's resident set once touched (they are the page cache's), which is
/// why <see cref="SampleReader"/> maps only datasets within <see cref="StreamingDataset.MappingLimit"/>. A file cut
/// short under a mapping faults on the bytes it lost (SIGBUS) instead of reading short, so <see cref="Verify"/>
/// checks its length before each batch and turns that into the error positioned reads give.
/// </summary>
internal sealed unsafe class MappedBytes : FileBytes
{
    private readonly SampleFile _file;
    private readonly SafeFileHandle _handle;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _start;

    public MappedBytes(SampleFile file, SafeFileHandle handle)
    {
        (_file, _handle) = (file, handle);
        _map = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        try
        {
            _view = _map.CreateViewAccessor(0, file.Length, MemoryMappedFileAccess.Read);
            byte* start = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            _start = start + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _map.Dispose();
            throw;
        }
    }

    public override ReadOnlySpan<byte> Get(long offset, int length, Span<byte> staging, int first) => new(_start + offset, length);

    public override void Verify()
    {
        var end = RandomAccess.GetLength(_handle);
        if (end < _file.Length)
        {
            throw _file.CutShort(end, end, (int)Math.Min(int.MaxValue, _file.Length - end), _file.Count - 1);
        }
    }

    public override void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _handle.Dispose();
    }
}

/// <summary>Reads one <see cref="SampleFile"/> through bytes of its own (a handle or a mapping), on one thread at a time.</summary>
internal abstract class SampleFileReader(FileBytes bytes) : IDisposable
{
    /// <summary>The file's bytes.</summary>
    protected FileBytes Bytes => bytes;

    /// <inheritdoc cref="FileBytes.Verify"/>
    public void Verify() => bytes.Verify();

    /// <summary>
    /// Reads samples [<paramref name="first"/>, <paramref name="first"/> + count) of the file, count being
    /// <paramref name="features"/>' samples, through <paramref name="staging"/> (count × <see cref="SampleFile.SampleBytes"/> bytes).
    /// </summary>
    public abstract void Read(int first, Span<byte> staging, Span<float> features, Span<float> targets);

    public void Dispose() => bytes.Dispose();
}

/// <summary>
/// The ModelGen record file (docs/data-format.md): a 32-byte little-endian header, then each sample's features and
/// target as 32-bit floats, record after record.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderBytes = 32;
    public const int Version = 1;
    public const int CountOffset = 24;

    /// <summary>The one value type of version 1: IEEE 754 single precision, little-endian.</summary>
    public const uint Float32 = 1;

    /// <summary>The largest record read (a record is staged whole).</summary>
    public const long MaxRecordBytes = int.MaxValue;

    /// <summary>"MGRECORD" in ASCII: the first 8 bytes of every record file.</summary>
    public static ReadOnlySpan<byte> Magic => "MGRECORD"u8;

    public static long RecordBytes(int featureSize, int targetSize) => ((long)featureSize + targetSize) * sizeof(float);

    public static void WriteHeader(Span<byte> header, int featureSize, int targetSize, ulong count)
    {
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)featureSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)targetSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], Float32);
        BinaryPrimitives.WriteUInt64LittleEndian(header[CountOffset..], count);
    }
}

/// <summary>A ModelGen record file, its header read and its length checked against it.</summary>
internal sealed class RecordFile : SampleFile
{
    private readonly long _length;

    private RecordFile(string path, int count, int featureSize, int targetSize, long length)
        : base(path, count, featureSize, targetSize)
    {
        _length = length;
        SampleBytes = (int)RecordFormat.RecordBytes(featureSize, targetSize);
    }

    public override int SampleBytes { get; }

    /// <summary>Reads and checks the header of the record file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">It is not a record file of version 1, or it is truncated or too long.</exception>
    /// <exception cref="NotSupportedException">It holds more than 2³¹ − 1 samples, or records over 2³¹ − 1 bytes.</exception>
    public static RecordFile Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var name = System.IO.Path.GetFileName(full);
        using var handle = OpenHandle(full);
        var length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[RecordFormat.HeaderBytes];
        var read = ReadAt(handle, header, 0);
        if (read >= RecordFormat.Magic.Length && !header[..RecordFormat.Magic.Length].SequenceEqual(RecordFormat.Magic))
        {
            throw Invalid(name, $"bytes 0 to 7 are {Convert.ToHexString(header[..8])} rather than \"MGRECORD\" (4D475245434F5244)");
        }

        if (read < RecordFormat.HeaderBytes)
        {
            throw Invalid(name, $"it holds {length} bytes and ends inside the {RecordFormat.HeaderBytes}-byte header");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != RecordFormat.Version)
        {
            throw Invalid(name, $"it has format version {version} (offset 8); this reader takes version {RecordFormat.Version}");
        }

        var featureSize = Size(header, 12, "feature size", name);
        var targetSize = Size(header, 16, "target size", name);
        var valueType = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        if (valueType != RecordFormat.Float32)
        {
            throw Invalid(name, $"its value type is {valueType} (offset 20); version 1 knows only type 1, 32-bit floats");
        }

        var recordBytes = RecordFormat.RecordBytes(featureSize, targetSize);
        if (recordBytes > RecordFormat.MaxRecordBytes)
        {
            throw new NotSupportedException($"'{name}' has records of {recordBytes} bytes; at most {RecordFormat.MaxRecordBytes} can be read.");
        }

        var count = BinaryPrimitives.ReadUInt64LittleEndian(header[RecordFormat.CountOffset..]);
        var records = (length - RecordFormat.HeaderBytes) / recordBytes;
        if ((ulong)records < count)
        {
            var end = RecordFormat.HeaderBytes + (records * recordBytes);
            throw new InvalidDataException(
                $"'{name}' is truncated: its header declares {count} records of {recordBytes} bytes from offset {RecordFormat.HeaderBytes}, " +
                $"but the file ends at byte {length}: record {records} (from offset {end}) is {(length == end ? "missing" : "cut short")}.");
        }

        var expected = RecordFormat.HeaderBytes + ((long)count * recordBytes);
        if (length != expected)
        {
            throw Invalid(
                name,
                $"{length - expected} bytes follow its last record (from offset {expected}); its header declares {count} records of {recordBytes} bytes " +
                "(a writer that was never disposed leaves a count of 0)");
        }

        if (count > int.MaxValue)
        {
            throw new NotSupportedException($"'{name}' holds {count} samples; a dataset reads at most {int.MaxValue} (split the file into shards).");
        }

        return new RecordFile(full, (int)count, featureSize, targetSize, length);
    }

    public override SampleFileReader OpenReader(bool mapped) => new Reader(this, OpenBytes(mapped));

    public override long Length => _length;

    public override string Locate(int local) => $"'{Name}', record {local} at offset {RecordFormat.HeaderBytes + ((long)local * SampleBytes)}";

    private static int Size(ReadOnlySpan<byte> header, int offset, string what, string name)
    {
        var size = BinaryPrimitives.ReadUInt32LittleEndian(header[offset..]);
        return size is > 0 and <= int.MaxValue
            ? (int)size
            : throw Invalid(name, $"its {what} is {size} (offset {offset}); it must be from 1 to {int.MaxValue}");
    }

    private static InvalidDataException Invalid(string name, string problem) => new($"'{name}' is not a valid ModelGen record file: {problem}.");

    private sealed class Reader(RecordFile file, FileBytes source) : SampleFileReader(source)
    {
        public override void Read(int first, Span<byte> staging, Span<float> features, Span<float> targets)
        {
            var (featureSize, targetSize, recordBytes) = (file.FeatureSize, file.TargetSize, file.SampleBytes);
            var count = features.Length / featureSize;
            var bytes = Bytes.Get(RecordFormat.HeaderBytes + ((long)first * recordBytes), count * recordBytes, staging, first);
            var featureBytes = featureSize * sizeof(float);
            for (var i = 0; i < count; i++)
            {
                var record = bytes.Slice(i * recordBytes, recordBytes);
                Load(record[..featureBytes], features.Slice(i * featureSize, featureSize));
                Load(record[featureBytes..], targets.Slice(i * targetSize, targetSize));
            }
        }

        /// <summary>Little-endian floats into <paramref name="values"/>.</summary>
        private static void Load(ReadOnlySpan<byte> bytes, Span<float> values)
        {
            if (BitConverter.IsLittleEndian)
            {
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                return;
            }

            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * sizeof(float)));
            }
        }
    }
}

/// <summary>
/// A pair of raw IDX files, images (or any samples of unsigned bytes) and labels, read as <see cref="Idx.ReadImages"/>
/// and <see cref="Idx.ReadLabels"/> read them: each value v as the float v / 255, each label as a float. The images
/// are read at random from the file; the labels, one byte per sample, are read into memory when the pair is opened.
/// </summary>
internal sealed class IdxFile : SampleFile
{
    private readonly long _length;
    private readonly long _dataOffset;
    private readonly byte[] _labels;

    private IdxFile(string path, int count, int featureSize, long length, long dataOffset, byte[] labels)
        : base(path, count, featureSize, targetSize: 1)
    {
        _length = length;
        _dataOffset = dataOffset;
        _labels = labels;
    }

    public override int SampleBytes => FeatureSize;

    /// <summary>Reads and checks both headers, and the labels.</summary>
    /// <exception cref="InvalidDataException">A file is not an unsigned-byte IDX file, is truncated or too long, or the counts differ.</exception>
    /// <exception cref="NotSupportedException">A file is gzipped.</exception>
    public static IdxFile Open(string imagesPath, string labelsPath)
    {
        var images = System.IO.Path.GetFullPath(imagesPath);
        var imagesName = System.IO.Path.GetFileName(images);
        int count, featureSize;
        long length, dataOffset;
        using (var handle = OpenHandle(images))
        {
            length = RandomAccess.GetLength(handle);
            var dimensions = ReadHeader(handle, imagesName, length, out dataOffset);
            if (dimensions.Length < 2)
            {
                throw Invalid(imagesName, "it holds 1-dimensional data; samples need at least 2 dimensions (count, then each sample's size)");
            }

            count = dimensions[0];
            long size = 1;
            for (var d = 1; d < dimensions.Length; d++)
            {
                size *= dimensions[d];
                if (size > int.MaxValue)
                {
                    throw new NotSupportedException($"'{imagesName}' has samples of more than {int.MaxValue} values.");
                }
            }

            featureSize = (int)size;
            CheckLength(imagesName, dimensions, count, featureSize, "image", length, dataOffset);
        }

        var labelsFull = System.IO.Path.GetFullPath(labelsPath);
        var labelsName = System.IO.Path.GetFileName(labelsFull);
        byte[] labels;
        using (var handle = OpenHandle(labelsFull))
        {
            var labelsLength = RandomAccess.GetLength(handle);
            var dimensions = ReadHeader(handle, labelsName, labelsLength, out var labelsOffset);
            if (dimensions.Length != 1)
            {
                throw Invalid(labelsName, $"it holds {dimensions.Length}-dimensional data; labels need 1 dimension (count)");
            }

            CheckLength(labelsName, dimensions, dimensions[0], 1, "label", labelsLength, labelsOffset);
            if (dimensions[0] != count)
            {
                throw new InvalidDataException($"'{labelsName}' holds {dimensions[0]} labels but '{imagesName}' holds {count} samples.");
            }

            labels = new byte[count];
            ReadAt(handle, labels, labelsOffset);
        }

        return new IdxFile(images, count, featureSize, length, dataOffset, labels);
    }

    public override SampleFileReader OpenReader(bool mapped) => new Reader(this, OpenBytes(mapped));

    public override long Length => _length;

    public override string Locate(int local) => $"'{Name}', sample {local} at offset {_dataOffset + ((long)local * FeatureSize)}";

    /// <summary>
    /// Each byte b as the float b / 255, exactly as <see cref="Idx.ReadImages"/> computes it: the vector division rounds
    /// as the scalar one does (both are IEEE 754 divisions), so the bits are the same either way.
    /// </summary>
    internal static void ToUnitFloats(ReadOnlySpan<byte> bytes, Span<float> values)
    {
        if (values.Length < bytes.Length)
        {
            throw new ArgumentException($"{bytes.Length} bytes need {bytes.Length} floats, but the destination holds {values.Length}.", nameof(values));
        }

        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var scale = Vector128.Create(255f);
            ref var from = ref MemoryMarshal.GetReference(bytes);
            ref var to = ref MemoryMarshal.GetReference(values);
            for (; i <= bytes.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var (low, high) = Vector128.Widen(Vector128.LoadUnsafe(ref from, (nuint)i));
                var (a, b) = Vector128.Widen(low);
                var (c, d) = Vector128.Widen(high);
                (Vector128.ConvertToSingle(a.AsInt32()) / scale).StoreUnsafe(ref to, (nuint)i);
                (Vector128.ConvertToSingle(b.AsInt32()) / scale).StoreUnsafe(ref to, (nuint)(i + 4));
                (Vector128.ConvertToSingle(c.AsInt32()) / scale).StoreUnsafe(ref to, (nuint)(i + 8));
                (Vector128.ConvertToSingle(d.AsInt32()) / scale).StoreUnsafe(ref to, (nuint)(i + 12));
            }
        }

        for (; i < bytes.Length; i++)
        {
            values[i] = bytes[i] / 255f;
        }
    }

    /// <summary>An unsigned-byte IDX header: the dimensions, and where the values start.</summary>
    private static int[] ReadHeader(SafeFileHandle handle, string name, long length, out long dataOffset)
    {
        Span<byte> header = stackalloc byte[4 + (4 * byte.MaxValue)];
        var read = ReadAt(handle, header[..4], 0);
        if (read >= 2 && header[0] == 0x1F && header[1] == 0x8B)
        {
            throw new NotSupportedException(
                $"'{name}' is gzipped: a gzip stream can only be read from its start, not at random, so it cannot be streamed. " +
                "Decompress it (gunzip), or read it into memory with Idx.ReadImages and Idx.ReadLabels.");
        }

        if (read < 4)
        {
            throw Invalid(name, $"it holds {length} bytes, fewer than the 4 of an IDX header");
        }

        if (header[0] != 0 || header[1] != 0)
        {
            throw Invalid(name, $"it starts with bytes 0x{header[0]:X2} 0x{header[1]:X2} rather than the two zero bytes of an IDX file");
        }

        if (header[2] != 0x08)
        {
            throw Invalid(name, $"its values have type code 0x{header[2]:X2} (offset 2); only unsigned bytes (0x08) are supported");
        }

        var rank = header[3];
        if (rank == 0)
        {
            throw Invalid(name, "it declares 0 dimensions (offset 3)");
        }

        read = ReadAt(handle, header.Slice(4, 4 * rank), 4);
        if (read < 4 * rank)
        {
            throw Invalid(name, $"it declares {rank} dimensions but ends after {4 + read} bytes, inside its header");
        }

        var dimensions = new int[rank];
        for (var d = 0; d < rank; d++)
        {
            dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(header[(4 + (4 * d))..]);
            if (dimensions[d] <= 0)
            {
                throw Invalid(name, $"dimension {d} is {dimensions[d]} (offset {4 + (4 * d)})");
            }
        }

        dataOffset = 4 + (4 * rank);
        return dimensions;
    }

    /// <summary>The file must hold exactly the values its header declares after it.</summary>
    private static void CheckLength(string name, int[] dimensions, int count, int sampleBytes, string sample, long length, long dataOffset)
    {
        var expected = dataOffset + ((long)count * sampleBytes);
        var shape = string.Join(" × ", dimensions);
        if (length < expected)
        {
            var whole = (length - dataOffset) / sampleBytes;
            throw new InvalidDataException(
                $"'{name}' is truncated: its header declares {shape} values from offset {dataOffset}, but the file ends at byte {length}: " +
                $"{sample} {whole} (from offset {dataOffset + (whole * sampleBytes)}) is {(length == dataOffset + (whole * sampleBytes) ? "missing" : "cut short")}.");
        }

        if (length > expected)
        {
            throw Invalid(name, $"its header declares {shape} values but {length - expected} bytes follow them (from offset {expected})");
        }
    }

    private static InvalidDataException Invalid(string name, string problem) => new($"'{name}' is not a valid IDX file: {problem}.");

    private sealed class Reader(IdxFile file, FileBytes source) : SampleFileReader(source)
    {
        public override void Read(int first, Span<byte> staging, Span<float> features, Span<float> targets)
        {
            var bytes = Bytes.Get(file._dataOffset + ((long)first * file.FeatureSize), features.Length, staging, first);
            ToUnitFloats(bytes, features);
            for (var i = 0; i < targets.Length; i++)
            {
                targets[i] = file._labels[first + i];
            }
        }
    }
}
