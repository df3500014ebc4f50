using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ModelGen.Serialization;

/// <summary>One tensor named in a safetensors header: its element type, shape and byte range in the data section.</summary>
internal readonly record struct SafeTensorsEntry(string DType, int[] Shape, long Begin, long End)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A safetensors file checked as a container, whatever tensors it holds: the header length fits the file and a sane
/// cap, the header is one JSON object of well-formed entries with string metadata, padded with nothing but spaces,
/// every byte range lies in the data section and matches its dtype and shape, and the ranges neither overlap nor
/// leave bytes unaccounted for.
/// Callers then check the names, dtypes and shapes they expect, and decode the tensors they need.
/// </summary>
internal sealed class SafeTensorsFile
{
    private const string MetadataKey = "__metadata__";

    private SafeTensorsFile(Dictionary<string, SafeTensorsEntry> entries, Dictionary<string, string> metadata, int dataStart)
    {
        Entries = entries;
        Metadata = metadata;
        DataStart = dataStart;
    }

    public Dictionary<string, SafeTensorsEntry> Entries { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>Where the data section starts in the file.</summary>
    public int DataStart { get; }

    /// <summary>Checks <paramref name="file"/> as a container; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, or not a safetensors file.</exception>
    public static SafeTensorsFile Parse(ReadOnlySpan<byte> file, string source)
    {
        if (file.Length < sizeof(ulong))
        {
            throw Corrupt(source, $"it holds {file.Length} bytes, fewer than the 8 of its header length");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > SafeTensors.MaxHeaderBytes || headerLength > (ulong)(file.Length - sizeof(ulong)))
        {
            throw Corrupt(source, $"its header claims {headerLength} bytes but the file holds {file.Length - sizeof(ulong)} after the length (truncated, or not a safetensors file)");
        }

        var dataStart = sizeof(ulong) + (int)headerLength;
        var dataLength = file.Length - dataStart;
        var parsed = new SafeTensorsFile(new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal), new Dictionary<string, string>(StringComparer.Ordinal), dataStart);
        parsed.ParseHeader(file.Slice(sizeof(ulong), (int)headerLength), source);

        var ranges = new List<(long Begin, long End, string Name)>(parsed.Entries.Count);
        long covered = 0;
        foreach (var (name, entry) in parsed.Entries)
        {
            if (entry.End < entry.Begin || entry.End > dataLength)
            {
                throw Corrupt(source, $"tensor '{name}' claims bytes {entry.Begin}..{entry.End} of a {dataLength}-byte data section (truncated?)");
            }

            if (SafeTensorsDecoding.ElementSize(entry.DType) is { } size)
            {
                long elements = 1;
                foreach (var dimension in entry.Shape)
                {
                    elements = dimension == 0 ? 0 : elements > long.MaxValue / 16 / dimension ? long.MaxValue / 16 : elements * dimension;
                }

                if (entry.End - entry.Begin != elements * size)
                {
                    throw Corrupt(source, $"tensor '{name}' of shape {entry.ShapeText} and dtype {entry.DType} needs {elements * size} bytes but claims {entry.End - entry.Begin}");
                }
            }

            ranges.Add((entry.Begin, entry.End, name));
            covered += entry.End - entry.Begin;
        }

        // Sizes that add up can still hide two tensors sharing bytes (and a gap elsewhere).
        ranges.Sort((x, y) => x.Begin.CompareTo(y.Begin));
        for (var t = 1; t < ranges.Count; t++)
        {
            if (ranges[t].Begin < ranges[t - 1].End)
            {
                throw Corrupt(source, $"tensors '{ranges[t - 1].Name}' and '{ranges[t].Name}' overlap (bytes {ranges[t].Begin}..{ranges[t - 1].End})");
            }
        }

        if (covered != dataLength)
        {
            throw Corrupt(source, $"its tensors cover {covered} bytes but the data section holds {dataLength}");
        }

        return parsed;
    }

    /// <summary>The bytes of <paramref name="entry"/> within <paramref name="file"/>, the span this object was parsed from.</summary>
    public ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> file, SafeTensorsEntry entry) =>
        file.Slice(DataStart + (int)entry.Begin, (int)(entry.End - entry.Begin));

    /// <summary>
    /// The F32 tensor <paramref name="name"/> decoded, after checking its dtype and shape; non-finite values are
    /// rejected unless <paramref name="allowNonFinite"/>.
    /// </summary>
    public float[] ReadSingles(ReadOnlySpan<byte> file, string name, ReadOnlySpan<int> shape, string source, bool allowNonFinite = false) =>
        DecodeSingles(file, Require(name, "F32", shape, source), name, source, allowNonFinite);

    /// <summary>
    /// A floating-point entry (F32, F16, BF16 or F64) the caller has already checked, decoded to F32 as
    /// <see cref="SafeTensorsDecoding.Decode"/> does: non-finite values are rejected unless
    /// <paramref name="allowNonFinite"/>, a finite F64 beyond F32's range always.
    /// </summary>
    public float[] DecodeSingles(ReadOnlySpan<byte> file, SafeTensorsEntry entry, string name, string source, bool allowNonFinite = false) =>
        SafeTensorsDecoding.Decode(Bytes(file, entry), entry.DType, name, allowNonFinite, out var problem) ?? throw Corrupt(source, problem!);

    /// <summary>An I64 scalar entry (shape []) the caller has found, decoded; anything else is refused.</summary>
    public long DecodeInt64Scalar(ReadOnlySpan<byte> file, SafeTensorsEntry entry, string name, string source)
    {
        if (entry.DType != "I64" || entry.Shape.Length != 0)
        {
            throw Corrupt(source, $"tensor '{name}' is {entry.DType} {entry.ShapeText}, not an I64 scalar []");
        }

        var value = BinaryPrimitives.ReadInt64LittleEndian(Bytes(file, entry));
        return value >= 0 ? value : throw Corrupt(source, $"tensor '{name}' counts {value} batches");
    }

    /// <summary>The I32 or U32 tensor <paramref name="name"/> decoded, after checking its dtype and shape.</summary>
    public int[] ReadInt32s(ReadOnlySpan<byte> file, string name, string dtype, ReadOnlySpan<int> shape, string source)
    {
        var bytes = Bytes(file, Require(name, dtype, shape, source));
        var values = new int[bytes.Length / sizeof(int)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(i * sizeof(int)));
        }

        return values;
    }

    /// <summary>The entry <paramref name="name"/>, which must exist with this dtype and shape.</summary>
    public SafeTensorsEntry Require(string name, string dtype, ReadOnlySpan<int> shape, string source)
    {
        if (!Entries.TryGetValue(name, out var entry))
        {
            throw Corrupt(source, $"it has no tensor '{name}'");
        }

        if (entry.DType != dtype)
        {
            throw Corrupt(source, $"tensor '{name}' is {entry.DType}, not {dtype}");
        }

        if (!entry.Shape.AsSpan().SequenceEqual(shape))
        {
            throw Corrupt(source, $"tensor '{name}' has shape {entry.ShapeText}, not [{string.Join(", ", shape.ToArray())}]");
        }

        return entry;
    }

    /// <summary>The metadata value <paramref name="key"/>, which must be present.</summary>
    public string RequireMetadata(string key, string source) =>
        Metadata.TryGetValue(key, out var value) ? value : throw Corrupt(source, $"its metadata has no '{key}'");

    public static InvalidDataException Corrupt(string source, string problem) =>
        new($"'{source}' is not a readable safetensors file: {problem}.");

    private void ParseHeader(ReadOnlySpan<byte> header, string source)
    {
        try
        {
            var reader = new Utf8JsonReader(header);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Corrupt(source, "its header does not start with a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == MetadataKey)
                {
                    ReadMetadata(ref reader, source);
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw Corrupt(source, $"the header entry '{name}' is not an object");
                }

                if (!Entries.TryAdd(name, ReadEntry(ref reader, name, source)))
                {
                    throw Corrupt(source, $"the header names tensor '{name}' twice");
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw Corrupt(source, "its header is not one JSON object of tensors");
            }

            // The header length counts the JSON object and its padding, which the format allows only as spaces.
            var objectEnd = (int)reader.BytesConsumed;
            var padding = header.Slice(objectEnd).IndexOfAnyExcept((byte)' ');
            if (padding >= 0)
            {
                throw Corrupt(source, SafeTensorsHeaderRules.Problem(sizeof(ulong) + objectEnd - 1, sizeof(ulong) + objectEnd + padding, header[objectEnd + padding]));
            }
        }
        catch (JsonException exception)
        {
            throw Corrupt(source, "its header is not valid JSON: " + exception.Message);
        }
        catch (InvalidOperationException exception)
        {
            // Utf8JsonReader.GetString throws this for a string that is not valid UTF-8 (found by the fuzz test).
            throw Corrupt(source, "its header holds text that is not valid UTF-8: " + exception.Message);
        }
    }

    private static SafeTensorsEntry ReadEntry(ref Utf8JsonReader reader, string name, string source)
    {
        string? dtype = null;
        int[]? shape = null;
        long[]? offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case "dtype" when reader.TokenType == JsonTokenType.String:
                    dtype = reader.GetString();
                    break;
                case "shape":
                    var dimensions = ReadNumbers(ref reader, name, source);
                    if (Array.Exists(dimensions, d => d > int.MaxValue))
                    {
                        throw Corrupt(source, $"tensor '{name}' has a dimension too large for any model");
                    }

                    shape = Array.ConvertAll(dimensions, static d => (int)d);
                    break;
                case "data_offsets":
                    offsets = ReadNumbers(ref reader, name, source);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (dtype is null || shape is null || offsets is not { Length: 2 })
        {
            throw Corrupt(source, $"tensor '{name}' lacks a dtype, a shape or a pair of data offsets");
        }

        return new SafeTensorsEntry(dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadNumbers(ref Utf8JsonReader reader, string name, string source)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Corrupt(source, $"tensor '{name}' has a shape or offsets that are not an array");
        }

        var numbers = new List<long>();
        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
        {
            if (!reader.TryGetInt64(out var value) || value < 0 || value > int.MaxValue * 4L)
            {
                throw Corrupt(source, $"tensor '{name}' has a shape or offset that is not a small non-negative integer");
            }

            numbers.Add(value);
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw Corrupt(source, $"tensor '{name}' has a shape or offsets with something other than numbers");
        }

        return numbers.ToArray();
    }

    /// <summary>Reads the metadata object, whose values the format requires to be strings.</summary>
    private void ReadMetadata(ref Utf8JsonReader reader, string source)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Corrupt(source, "its __metadata__ entry is not an object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Corrupt(source, $"its __metadata__ value '{key}' is not a string");
            }

            Metadata[key] = reader.GetString()!;
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw Corrupt(source, "its __metadata__ entry is not an object of strings");
        }
    }
}

/// <summary>Collects named tensors and string metadata, then writes them as one safetensors file.</summary>
internal sealed class SafeTensorsWriter
{
    private readonly List<(string Name, string DType, int[] Shape, byte[] Data)> _tensors = [];
    private readonly List<(string Key, string Value)> _metadata = [];

    public void AddMetadata(string key, string value) => _metadata.Add((key, value));

    public void AddSingles(string name, int[] shape, ReadOnlySpan<float> values) => Add(name, "F32", shape, values);

    public void AddInt32s(string name, int[] shape, ReadOnlySpan<int> values) => Add(name, "I32", shape, values);

    public void AddUInt32s(string name, int[] shape, ReadOnlySpan<uint> values) => Add(name, "U32", shape, values);

    /// <summary>One int64 as a scalar tensor (shape []): PyTorch's num_batches_tracked.</summary>
    public void AddInt64Scalar(string name, long value) => Add(name, "I64", [], [value]);

    private void Add<T>(string name, string dtype, int[] shape, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var data = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            // safetensors is little-endian.
            var size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            for (var i = 0; i < data.Length; i += size)
            {
                Array.Reverse(data, i, size);
            }
        }

        _tensors.Add((name, dtype, shape, data));
    }

    public void WriteTo(Stream stream)
    {
        var header = Header();
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var tensor in _tensors)
        {
            stream.Write(tensor.Data);
        }
    }

    private byte[] Header()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (var (key, value) in _metadata)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            long offset = 0;
            foreach (var tensor in _tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DType);
                json.WriteStartArray("shape");
                foreach (var dimension in tensor.Shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
        var length = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[length];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}

/// <summary>
/// Replaces a file only once its new content is complete: writes a temporary file beside it, flushes it to disk and
/// renames it over the target, so an interrupted write (an exception, a killed process, a full disk) leaves the
/// previous file as it was.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write) =>
        Write(path, write, static temporary => new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None));

    public static void Write(string path, Action<Stream> write, Func<string, Stream> openTemporary)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var target = Path.GetFullPath(path);
        var temporary = $"{target}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = OpenTemporary(path, target, temporary, openTemporary))
            {
                write(stream);
                if (stream is FileStream file)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // The original exception says what went wrong; a leftover temporary file must not hide it.
            }

            throw;
        }
    }

    /// <summary>
    /// Opens the temporary file; where that fails because of the folder, the error names the path the caller gave and
    /// its folder, not the temporary file the caller never heard of.
    /// </summary>
    private static Stream OpenTemporary(string path, string target, string temporary, Func<string, Stream> openTemporary)
    {
        try
        {
            return openTemporary(temporary);
        }
        catch (DirectoryNotFoundException error)
        {
            throw new DirectoryNotFoundException($"Cannot save to '{path}': the folder '{Folder(path, target)}' does not exist.", error);
        }
        catch (UnauthorizedAccessException error)
        {
            throw new UnauthorizedAccessException($"Cannot save to '{path}': no permission to create a file in the folder '{Folder(path, target)}'.", error);
        }
    }

    /// <summary>The folder as the caller wrote it ("x/y" of "x/y/model.safetensors"), or the full one for a bare file name.</summary>
    private static string Folder(string path, string target)
    {
        var given = Path.GetDirectoryName(path);
        return string.IsNullOrEmpty(given) ? Path.GetDirectoryName(target) ?? target : given;
    }
}
