using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ModelGen.Serialization;

/// <summary>
/// Reads and writes a model's parameters in the safetensors format, which PyTorch and most other frameworks read:
/// an 8-byte little-endian header length, a JSON header naming each tensor with its dtype, shape and byte range,
/// then the raw little-endian data. ModelGen writes one F32 tensor per weight and bias, named as an
/// <c>nn.Sequential</c> called <c>layers</c> would name them (<c>layers.0.weight</c> [units, inputs], <c>layers.0.bias</c>
/// [units], counting every layer from 0), and metadata with the model's type and a hash of its tensors' names and shapes.
/// </summary>
/// <remarks>
/// A save writes a temporary file beside the target, flushes it to disk and renames it over the target, so an
/// interrupted save leaves the previous file as it was. A load checks the whole file (lengths, header, names,
/// shapes, dtypes, byte ranges, finite values) before it changes a single parameter.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The largest header accepted, as in the reference implementation: anything larger is not a weights file.</summary>
    public const int MaxHeaderBytes = 100 * 1024 * 1024;

    private const string MetadataKey = "__metadata__";

    /// <summary>The metadata entry that fingerprints the model's tensors: names, shapes and order.</summary>
    private const string ShapeHashKey = "shape_hash";

    /// <summary>
    /// A fingerprint of the model's tensors (SHA-256 of "name[shape]" for each, in order, first 16 hex digits): a file
    /// saved from a model of another architecture is told apart by it before any tensor is compared.
    /// </summary>
    public static string ShapeHash(ITrainableModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var text = new System.Text.StringBuilder();
        foreach (var tensor in model.ParameterTensors)
        {
            text.Append(tensor.Name).Append(tensor.ShapeText).Append(';');
        }

        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexStringLower(digest.AsSpan(0, 8));
    }

    /// <summary>Saves <paramref name="model"/>'s parameters to <paramref name="path"/>, replacing the file only once the new one is complete.</summary>
    public static void Save(ITrainableModel model, string path) =>
        Save(model, path, static temporary => new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None));

    /// <summary>Saves through a stream the caller opens, so tests can make a save fail halfway.</summary>
    internal static void Save(ITrainableModel model, string path, Func<string, Stream> openTemporary)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var target = Path.GetFullPath(path);
        var temporary = $"{target}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = openTemporary(temporary))
            {
                Write(model, stream);
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
            catch (IOException)
            {
                // The original exception says what went wrong; a leftover temporary file must not hide it.
            }

            throw;
        }
    }

    /// <summary>Writes <paramref name="model"/>'s parameters to <paramref name="stream"/> in safetensors format.</summary>
    public static void Write(ITrainableModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        var header = WriteHeader(model);
        Span<byte> length = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        Span<byte> bytes = stackalloc byte[sizeof(float)];
        foreach (var tensor in model.ParameterTensors)
        {
            var buffer = tensor.Buffer(model);
            ReadOnlySpan<float> values = tensor.Slice(buffer);
            if (tensor.StoredTransposed)
            {
                var ordered = new float[tensor.Length];
                tensor.CopyToFileOrder(buffer, ordered);
                values = ordered;
            }

            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(values));
            }
            else
            {
                foreach (var value in values)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                    stream.Write(bytes);
                }
            }
        }
    }

    /// <summary>Loads parameters saved by <see cref="Save(ITrainableModel, string)"/> (or by PyTorch, under the same names and shapes) into <paramref name="model"/>.</summary>
    /// <exception cref="InvalidDataException">The file is truncated or corrupt, or its tensors do not fit the model; the model is left unchanged.</exception>
    public static void Load(ITrainableModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        Read(model, File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>Loads parameters from the bytes of a safetensors file into <paramref name="model"/>.</summary>
    /// <param name="model">The model to fill; unchanged if anything is wrong.</param>
    /// <param name="file">The whole file.</param>
    /// <param name="source">What to call the file in messages.</param>
    public static void Read(ITrainableModel model, ReadOnlySpan<byte> file, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (file.Length < sizeof(ulong))
        {
            throw Corrupt(source, $"it holds {file.Length} bytes, fewer than the 8 of its header length");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > MaxHeaderBytes || headerLength > (ulong)(file.Length - sizeof(ulong)))
        {
            throw Corrupt(source, $"its header claims {headerLength} bytes but the file holds {file.Length - sizeof(ulong)} after the length (truncated, or not a safetensors file)");
        }

        var header = file.Slice(sizeof(ulong), (int)headerLength);
        var data = file.Slice(sizeof(ulong) + (int)headerLength);
        var entries = ParseHeader(header, source, out var savedHash);


        // Check everything first: a model is changed only by a file that fits it entirely.
        var tensors = model.ParameterTensors;
        var values = new float[tensors.Count][];
        var expectedNames = new HashSet<string>(StringComparer.Ordinal);
        var ranges = new (long Begin, long End, string Name)[tensors.Count];
        long covered = 0;
        for (var t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            expectedNames.Add(tensor.Name);
            if (!entries.TryGetValue(tensor.Name, out var entry))
            {
                throw Mismatch(source, model, $"it has no tensor '{tensor.Name}'");
            }

            if (entry.DType != "F32")
            {
                throw Mismatch(source, model, $"tensor '{tensor.Name}' is {entry.DType}; ModelGen reads F32");
            }

            if (!entry.Shape.AsSpan().SequenceEqual(tensor.Shape))
            {
                throw Mismatch(source, model, $"tensor '{tensor.Name}' has shape [{string.Join(", ", entry.Shape)}] in the file but {tensor.ShapeText} in the model");
            }

            if (entry.Begin < 0 || entry.End < entry.Begin || entry.End > data.Length)
            {
                throw Corrupt(source, $"tensor '{tensor.Name}' claims bytes {entry.Begin}..{entry.End} of a {data.Length}-byte data section (truncated?)");
            }

            if (entry.End - entry.Begin != (long)tensor.Length * sizeof(float))
            {
                throw Corrupt(source, $"tensor '{tensor.Name}' of shape {tensor.ShapeText} needs {tensor.Length * sizeof(float)} bytes but claims {entry.End - entry.Begin}");
            }

            var decoded = new float[tensor.Length];
            var bytes = data.Slice((int)entry.Begin, (int)(entry.End - entry.Begin));
            for (var i = 0; i < decoded.Length; i++)
            {
                decoded[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * sizeof(float)));
                if (!float.IsFinite(decoded[i]))
                {
                    throw Corrupt(source, $"tensor '{tensor.Name}' holds {decoded[i]} at element {i}");
                }
            }

            values[t] = decoded;
            ranges[t] = (entry.Begin, entry.End, tensor.Name);
            covered += entry.End - entry.Begin;
        }

        foreach (var name in entries.Keys)
        {
            if (!expectedNames.Contains(name))
            {
                throw Mismatch(source, model, $"it holds tensor '{name}', which the model does not have");
            }
        }

        if (covered != data.Length)
        {
            throw Corrupt(source, $"its tensors cover {covered} bytes but the data section holds {data.Length}");
        }

        // Every tensor matched by name and shape, so a fingerprint that differs was edited after saving.
        if (savedHash is not null && savedHash != ShapeHash(model))
        {
            throw Corrupt(source, $"its shape hash {savedHash} does not match its own tensors ({ShapeHash(model)})");
        }

        // Sizes that add up can still hide two tensors sharing bytes (and a gap elsewhere).
        Array.Sort(ranges, (x, y) => x.Begin.CompareTo(y.Begin));
        for (var t = 1; t < ranges.Length; t++)
        {
            if (ranges[t].Begin < ranges[t - 1].End)
            {
                throw Corrupt(source, $"tensors '{ranges[t - 1].Name}' and '{ranges[t].Name}' overlap (bytes {ranges[t].Begin}..{ranges[t - 1].End})");
            }
        }

        for (var t = 0; t < tensors.Count; t++)
        {
            tensors[t].CopyFromFileOrder(values[t], tensors[t].Buffer(model));
        }
    }

    private static byte[] WriteHeader(ITrainableModel model)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(MetadataKey);
            json.WriteString("format", "pt");
            json.WriteString("producer", "ModelGen");
            json.WriteString("model", model.GetType().FullName);
            json.WriteString("parameter_count", model.ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString(ShapeHashKey, ShapeHash(model));
            json.WriteEndObject();
            long offset = 0;
            foreach (var tensor in model.ParameterTensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var dimension in tensor.Shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)tensor.Length * sizeof(float);
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

    private readonly record struct Entry(string DType, int[] Shape, long Begin, long End);

    private static Dictionary<string, Entry> ParseHeader(ReadOnlySpan<byte> header, string source, out string? metadataHash)
    {
        metadataHash = null;
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(header);
            Expect(ref reader, JsonTokenType.StartObject, source);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == MetadataKey)
                {
                    metadataHash = ReadShapeHash(ref reader, source);
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw Corrupt(source, $"the header entry '{name}' is not an object");
                }

                var entry = ReadEntry(ref reader, name, source);
                if (!entries.TryAdd(name, entry))
                {
                    throw Corrupt(source, $"the header names tensor '{name}' twice");
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw Corrupt(source, "its header is not one JSON object of tensors");
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

        return entries;
    }

    private static Entry ReadEntry(ref Utf8JsonReader reader, string name, string source)
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

        return new Entry(dtype, shape, offsets[0], offsets[1]);
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

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token, string source)
    {
        if (!reader.Read() || reader.TokenType != token)
        {
            throw Corrupt(source, "its header does not start with a JSON object");
        }
    }

    /// <summary>Reads the metadata object (string values only, as the format requires) and returns its shape hash, if any.</summary>
    private static string? ReadShapeHash(ref Utf8JsonReader reader, string source)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Corrupt(source, "its __metadata__ entry is not an object");
        }

        string? hash = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString();
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Corrupt(source, $"its __metadata__ value '{key}' is not a string");
            }

            if (key == ShapeHashKey)
            {
                hash = reader.GetString();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw Corrupt(source, "its __metadata__ entry is not an object of strings");
        }

        return hash;
    }

    private static InvalidDataException Corrupt(string source, string problem) =>
        new($"'{source}' is not a readable safetensors file: {problem}.");

    private static InvalidDataException Mismatch(string source, ITrainableModel model, string problem) =>
        new($"'{source}' does not hold the parameters of {model.GetType().Name}: {problem}.");
}
