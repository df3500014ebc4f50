using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelGen.Samples.FashionMnist;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// One model that exists both as a ModelGen declaration (PyTorchModels.cs, or the Fashion MLP and ResNet samples) and
/// as a PyTorch module (Tests/Fixtures/pytorch_fixtures.py), under the same name in both places.
/// </summary>
/// <remarks>
/// <see cref="Load"/> and <see cref="Save"/> call the model's generated <c>static Load(path)</c> and <c>Save(path)</c>.
/// <see cref="HasFixture"/> is false for a model that is only checked ModelGen → PyTorch (the script's CHECK_ONLY):
/// PyTorch wrote no committed fixture for it.
/// </remarks>
public sealed record TorchCase(string Name, int[] InputShape, Func<int, ITrainableModel> Create, Func<string, ITrainableModel> Load, Action<ITrainableModel, string> Save, bool HasFixture = true)
{
    public static readonly TorchCase[] All =
    [
        new("fashion-mlp", [784], seed => new FashionMlp(seed), path => FashionMlp.Load(path), (m, path) => ((FashionMlp)m).Save(path)),
        new("bn-cnn", [1, 28, 28], seed => new TorchBatchNormCnn(seed), path => TorchBatchNormCnn.Load(path), (m, path) => ((TorchBatchNormCnn)m).Save(path)),
        new("mixed-cnn", [3, 12, 12], seed => new TorchMixedCnn(seed), path => TorchMixedCnn.Load(path), (m, path) => ((TorchMixedCnn)m).Save(path)),
        new("pooled-net", [2, 10, 10], seed => new TorchPooledNet(seed), path => TorchPooledNet.Load(path), (m, path) => ((TorchPooledNet)m).Save(path)),
        new("res-net", [2, 6, 6], seed => new TorchResNet(seed), path => TorchResNet.Load(path), (m, path) => ((TorchResNet)m).Save(path)),
        new("fashion-resnet", [1, 28, 28], seed => new FashionResNet(seed), path => FashionResNet.Load(path), (m, path) => ((FashionResNet)m).Save(path), HasFixture: false),
    ];

    public static TorchCase Named(string name) => All.Single(c => c.Name == name);

    /// <summary>Every model, for the export to PyTorch.</summary>
    public static IEnumerable<object[]> Names => All.Select(c => new object[] { c.Name });

    /// <summary>The models PyTorch wrote a committed fixture for.</summary>
    public static IEnumerable<object[]> FixtureNames => All.Where(c => c.HasFixture).Select(c => new object[] { c.Name });

    public override string ToString() => Name;
}

/// <summary>
/// A safetensors file read and written by the tests themselves, independently of the runtime's reader and writer: the
/// fixtures' inputs and outputs, and whole files compared tensor by tensor.
/// </summary>
public sealed class TensorFile
{
    public sealed record Tensor(string DType, int[] Shape, byte[] Data)
    {
        public float[] Singles()
        {
            if (DType != "F32")
            {
                throw new InvalidDataException($"a {DType} tensor, not F32");
            }

            var values = new float[Data.Length / 4];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i));
            }

            return values;
        }
    }

    /// <summary>The tensors in file order.</summary>
    public List<(string Name, Tensor Tensor)> Tensors { get; } = [];

    public Dictionary<string, string> Metadata { get; } = [];

    public Tensor this[string name] => Tensors.Single(t => t.Name == name).Tensor;

    public static TensorFile Read(string path) => Parse(File.ReadAllBytes(path));

    public static TensorFile Parse(byte[] bytes)
    {
        var headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        var data = bytes.AsSpan(8 + headerLength);
        var file = new TensorFile();
        var entries = new List<(long Begin, string Name, Tensor Tensor)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (key, value) in node!.AsObject())
                {
                    file.Metadata[key] = value!.GetValue<string>();
                }

                continue;
            }

            var offsets = node!["data_offsets"]!.AsArray().Select(o => o!.GetValue<long>()).ToArray();
            var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray();
            entries.Add((offsets[0], name, new Tensor(node["dtype"]!.GetValue<string>(), shape, data[(int)offsets[0]..(int)offsets[1]].ToArray())));
        }

        foreach (var (_, name, tensor) in entries.OrderBy(e => e.Begin))
        {
            file.Tensors.Add((name, tensor));
        }

        return file;
    }

    public TensorFile AddSingles(string name, int[] shape, ReadOnlySpan<float> values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), values[i]);
        }

        Tensors.Add((name, new Tensor("F32", shape, data)));
        return this;
    }

    /// <summary>The same tensors and data under other names: <paramref name="rename"/> maps each old name to its new one.</summary>
    public TensorFile Renamed(Func<string, string> rename)
    {
        var file = new TensorFile();
        foreach (var (key, value) in Metadata)
        {
            file.Metadata[key] = value;
        }

        file.Tensors.AddRange(Tensors.Select(t => (rename(t.Name), t.Tensor)));
        return file;
    }

    /// <summary>The file's bytes: length, JSON header padded with spaces to a multiple of 8, then the data in order.</summary>
    public byte[] ToBytes()
    {
        var header = new JsonObject();
        if (Metadata.Count > 0)
        {
            var metadata = new JsonObject();
            foreach (var (key, value) in Metadata)
            {
                metadata[key] = value;
            }

            header["__metadata__"] = metadata;
        }

        long offset = 0;
        foreach (var (name, tensor) in Tensors)
        {
            header[name] = new JsonObject
            {
                ["dtype"] = tensor.DType,
                ["shape"] = new JsonArray(tensor.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + tensor.Data.Length),
            };
            offset += tensor.Data.Length;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = json.Length + ((8 - ((8 + json.Length) % 8)) % 8);
        using var stream = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        foreach (var (_, tensor) in Tensors)
        {
            stream.Write(tensor.Data);
        }

        return stream.ToArray();
    }

    public void Write(string path) => File.WriteAllBytes(path, ToBytes());
}
