using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelGen.Serialization;

/// <summary>
/// Reads and writes a model's parameters in the safetensors format, which PyTorch and most other frameworks read:
/// an 8-byte little-endian header length, a JSON header naming each tensor with its dtype, shape and byte range,
/// then the raw little-endian data. A ModelGen file is the <c>state_dict</c> of the model's equivalent PyTorch module
/// (an <c>nn.Sequential</c> called <c>layers</c>, shown in each generated model's remarks): the same names, shapes
/// and order of values, F32 tensors and batch normalization's I64 <c>num_batches_tracked</c>, plus metadata with the
/// model's type and a hash of its tensors' names and shapes.
/// A load also reads F16, BF16 and F64 tensors (as many published checkpoints are), converting them to F32: F16 and
/// BF16 exactly, F64 rounded to the nearest F32.
/// </summary>
/// <remarks>
/// A save writes a temporary file beside the target, flushes it to disk and renames it over the target, so an
/// interrupted save leaves the previous file as it was. A load checks the whole file (lengths, header, names,
/// shapes, dtypes, byte ranges, finite values, and F64 values within F32's range) before it changes a single parameter.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The largest header accepted, as in the reference implementation: anything larger is not a weights file.</summary>
    public const int MaxHeaderBytes = 100 * 1024 * 1024;

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
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist (the message names both as given).</exception>
    public static void Save(ITrainableModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream => Write(model, stream));
    }

    /// <summary>
    /// Saves <paramref name="model"/>'s parameters with entries of the caller's in the file's metadata (a tokenizer's
    /// vocabulary, say), which <see cref="ReadMetadata"/> gives back; replaces the file only once the new one is complete.
    /// </summary>
    /// <exception cref="ArgumentException">A key is one ModelGen writes itself (format, producer, model, …).</exception>
    public static void Save(ITrainableModel model, string path, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var key in metadata.Keys)
        {
            if (key is "format" or "producer" or "model" or "parameter_count" or ShapeHashKey or SafeTensorsHeaderRules.LayoutKey)
            {
                throw new ArgumentException($"The metadata key '{key}' is ModelGen's own.", nameof(metadata));
            }
        }

        AtomicFile.Write(path, stream =>
        {
            var writer = new SafeTensorsWriter();
            foreach (var (key, value) in metadata)
            {
                writer.AddMetadata(key, value);
            }

            AddModel(writer, model);
            writer.WriteTo(stream);
        });
    }

    /// <summary>The metadata of a safetensors file: ModelGen's entries and any the saver added.</summary>
    /// <exception cref="InvalidDataException">The file is truncated or corrupt.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return SafeTensorsFile.Parse(File.ReadAllBytes(path), Path.GetFileName(path)).Metadata;
    }

    /// <summary>Saves through a stream the caller opens, so tests can make a save fail halfway.</summary>
    internal static void Save(ITrainableModel model, string path, Func<string, Stream> openTemporary)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream => Write(model, stream), openTemporary);
    }

    /// <summary>Writes <paramref name="model"/>'s parameters to <paramref name="stream"/> in safetensors format.</summary>
    public static void Write(ITrainableModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        var writer = new SafeTensorsWriter();
        AddModel(writer, model);
        writer.WriteTo(stream);
    }

    /// <summary>Adds <paramref name="model"/>'s metadata and tensors, in file order, to <paramref name="writer"/>.</summary>
    internal static void AddModel(SafeTensorsWriter writer, ITrainableModel model)
    {
        writer.AddMetadata("format", "pt");
        writer.AddMetadata("producer", "ModelGen");
        writer.AddMetadata(SafeTensorsHeaderRules.LayoutKey, SafeTensorsHeaderRules.LayoutValue);
        writer.AddMetadata("model", model.GetType().FullName ?? model.GetType().Name);
        writer.AddMetadata("parameter_count", model.ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        writer.AddMetadata(ShapeHashKey, ShapeHash(model));
        foreach (var tensor in model.ParameterTensors)
        {
            if (tensor.IsBatchCounter)
            {
                writer.AddInt64Scalar(tensor.Name, model.BatchesTracked);
                continue;
            }

            var ordered = new float[tensor.Length];
            tensor.CopyToFileOrder(tensor.Buffer(model), ordered);
            writer.AddSingles(tensor.Name, tensor.Shape, ordered);
        }
    }

    /// <summary>
    /// Loads parameters saved by <see cref="Save(ITrainableModel, string)"/> (or by PyTorch, under the same names and
    /// shapes, as F32, F16, BF16 or F64) into <paramref name="model"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is truncated or corrupt, holds a NaN, an infinity or an F64 value beyond F32's range, or its tensors do
    /// not fit the model (another dtype included); the model is left unchanged.
    /// </exception>
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
        var parsed = SafeTensorsFile.Parse(file, source);
        var values = ReadModel(parsed, file, model, source);
        foreach (var name in parsed.Entries.Keys)
        {
            if (!IsModelTensor(model, name))
            {
                throw Mismatch(source, model, $"it holds tensor '{name}', which the model does not have");
            }
        }

        ApplyModel(model, values);
    }

    /// <summary>
    /// Decodes and checks every tensor of <paramref name="model"/> from a parsed file, without changing the model;
    /// other tensors in the file are the caller's concern.
    /// </summary>
    internal static ModelTensors ReadModel(SafeTensorsFile parsed, ReadOnlySpan<byte> file, ITrainableModel model, string source)
    {
        if (SafeTensorsHeaderRules.IsOldModelGenLayout(parsed.Metadata))
        {
            throw Mismatch(source, model, SafeTensorsHeaderRules.OldLayoutProblem);
        }

        var tensors = model.ParameterTensors;
        var values = new float[tensors.Count][];
        long batchesTracked = 0;
        for (var t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            if (!parsed.Entries.TryGetValue(tensor.Name, out var entry))
            {
                var modelNames = tensors.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
                var hint = TensorNames.Closest(
                    tensor.Name,
                    tensor.Shape.Select(d => (long)d).ToArray(),
                    parsed.Entries.Where(e => !modelNames.Contains(e.Key)).Select(e => (e.Key, (IReadOnlyList<long>)e.Value.Shape.Select(d => (long)d).ToArray())));
                throw Mismatch(source, model, $"it has no tensor '{tensor.Name}' {tensor.ShapeText}{hint}");
            }

            if (tensor.IsBatchCounter)
            {
                batchesTracked = parsed.DecodeInt64Scalar(file, entry, tensor.Name, source);
                values[t] = [];
                continue;
            }

            if (!SafeTensorsDecoding.IsFloat(entry.DType))
            {
                throw Mismatch(source, model, $"tensor '{tensor.Name}' is {entry.DType}; ModelGen reads {SafeTensorsDecoding.FloatDTypes}");
            }

            if (!entry.Shape.AsSpan().SequenceEqual(tensor.Shape))
            {
                throw Mismatch(source, model, $"tensor '{tensor.Name}' has shape {entry.ShapeText} in the file but {tensor.ShapeText} in the model");
            }

            values[t] = parsed.DecodeSingles(file, entry, tensor.Name, source);
        }

        // Every tensor matched by name and shape, so a fingerprint that differs was edited after saving.
        if (parsed.Metadata.TryGetValue(ShapeHashKey, out var savedHash) && savedHash != ShapeHash(model))
        {
            throw SafeTensorsFile.Corrupt(source, $"its shape hash {savedHash} does not match its own tensors ({ShapeHash(model)})");
        }

        return new ModelTensors(values, batchesTracked);
    }

    /// <summary>Copies tensors decoded by <see cref="ReadModel"/> into <paramref name="model"/>.</summary>
    internal static void ApplyModel(ITrainableModel model, ModelTensors decoded)
    {
        var tensors = model.ParameterTensors;
        for (var t = 0; t < tensors.Count; t++)
        {
            if (tensors[t].IsBatchCounter)
            {
                model.BatchesTracked = decoded.BatchesTracked;
                continue;
            }

            tensors[t].CopyFromFileOrder(decoded.Values[t], tensors[t].Buffer(model));
        }
    }

    /// <summary>A model's tensors decoded from a file: each float tensor in file order, and the batch counter.</summary>
    internal sealed record ModelTensors(float[][] Values, long BatchesTracked);

    private static bool IsModelTensor(ITrainableModel model, string name)
    {
        foreach (var tensor in model.ParameterTensors)
        {
            if (tensor.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    private static InvalidDataException Mismatch(string source, ITrainableModel model, string problem) =>
        new($"'{source}' does not hold the parameters of {model.GetType().Name}: {problem}.");
}
