using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelGen.Serialization;
using ModelGen.Tests;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Saving and loading weights as safetensors: round trips, the file format itself, and every way a file can be wrong.</summary>
public sealed class SerializationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Parameter_tensors_cover_every_parameter_once()
    {
        ITrainableModel model = new SmallMlp();
        var covered = new bool[model.Parameters.Length];
        foreach (var tensor in model.ParameterTensors)
        {
            for (var i = tensor.Offset; i < tensor.Offset + tensor.Length; i++)
            {
                Assert.False(covered[i], $"{tensor.Name} overlaps another tensor at {i}");
                covered[i] = true;
            }
        }

        Assert.Equal(SmallMlp.ParameterCount, covered.Count(c => c));
        // nn.Sequential(Linear, ReLU, Linear, Tanh, Linear, Sigmoid): every module counts in the index, as in PyTorch.
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias"], model.ParameterTensors.Select(t => t.Name));
        Assert.Equal([33, 20], model.ParameterTensors[0].Shape);
    }

    [Fact]
    public void Save_then_Load_gives_the_same_model()
    {
        var model = Trained();
        var path = Path.Combine(_directory, "small.safetensors");

        model.Save(path);
        var loaded = SmallMlp.Load(path);

        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
        var input = Enumerable.Range(0, SmallMlp.InputSize).Select(i => i / 20f).ToArray();
        float[] expected = new float[3], actual = new float[3];
        model.Predict(input, expected);
        loaded.Predict(input, actual);
        Assert.Equal(expected, actual);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void The_file_is_standard_safetensors()
    {
        var model = Trained();
        var path = Path.Combine(_directory, "format.safetensors");
        model.Save(path);
        var bytes = File.ReadAllBytes(path);

        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength));
        var data = bytes[(8 + headerLength)..];
        var metadata = header.RootElement.GetProperty("__metadata__");
        Assert.Equal("pt", metadata.GetProperty("format").GetString());
        Assert.Equal(typeof(SmallMlp).FullName, metadata.GetProperty("model").GetString());
        Assert.Equal(SafeTensors.ShapeHash(model), metadata.GetProperty("shape_hash").GetString());
        Assert.Matches("^[0-9a-f]{16}$", SafeTensors.ShapeHash(model));
        Assert.NotEqual(SafeTensors.ShapeHash(model), SafeTensors.ShapeHash(new WideMlp()));
        foreach (var tensor in ((ITrainableModel)model).ParameterTensors)
        {
            var entry = header.RootElement.GetProperty(tensor.Name);
            Assert.Equal("F32", entry.GetProperty("dtype").GetString());
            Assert.Equal(tensor.Shape, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var stored = Enumerable.Range(0, tensor.Length).Select(i => BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offsets[0] + (4 * i)))).ToArray();
            var expected = new float[tensor.Length];
            tensor.CopyToFileOrder(model.Parameters, expected);
            Assert.Equal(expected, stored);
        }

        // PyTorch's nn.Linear layout: layers.0.weight[o, i] is the weight from input i to output o, which the model
        // keeps at Dense1Weights[i·units + o].
        var weight = header.RootElement.GetProperty("layers.0.weight");
        var begin = weight.GetProperty("data_offsets")[0].GetInt32();
        Assert.Equal([33, 20], weight.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        foreach (var (o, i) in new[] { (0, 1), (1, 0), (32, 19), (5, 7) })
        {
            Assert.Equal(model.Dense1Weights[(i * 33) + o], BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(begin + (4 * ((o * 20) + i)))));
        }
    }

    [Fact]
    public void Every_truncation_is_rejected_and_leaves_the_model_unchanged()
    {
        var bytes = SavedBytes(Trained());
        var model = new SmallMlp(seed: 9);
        var before = model.Parameters.ToArray();

        foreach (var length in new[] { 0, 4, 8, 9, 100, bytes.Length / 2, bytes.Length - 1 })
        {
            var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(model, bytes.AsSpan(0, length), "cut.safetensors"));
            Assert.Contains("cut.safetensors", error.Message);
            Assert.Equal(before, model.Parameters.ToArray());
        }
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{\"layers.0.weight\": 5}")]
    [InlineData("{\"layers.0.weight\": {\"dtype\": \"F32\", \"shape\": [33, 20]}}")]
    [InlineData("{\"layers.0.weight\": {\"dtype\": \"F32\", \"shape\": [\"a\"], \"data_offsets\": [0, 4]}}")]
    [InlineData("{\"layers.0.weight\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}")]
    public void A_corrupt_header_is_rejected(string header)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + headerBytes.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerBytes.Length);
        headerBytes.CopyTo(file, 8);

        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new SmallMlp(), file, "bad.safetensors"));
    }

    [Fact]
    public void A_character_after_the_header_object_is_rejected_at_its_file_offset()
    {
        AssertRejectedAfterHeaderObject(_ => "x"u8.ToArray(), firstBad: 0, "0x78 ('x')");
    }

    [Fact]
    public void A_comment_after_the_header_object_is_rejected_at_its_file_offset()
    {
        AssertRejectedAfterHeaderObject(_ => "  //c"u8.ToArray(), firstBad: 2, "0x2F ('/')");
    }

    [Fact]
    public void The_header_object_written_twice_is_rejected_at_the_second_copy()
    {
        AssertRejectedAfterHeaderObject(json => json, firstBad: 0, "0x7B ('{')");
    }

    [Fact]
    public void Nul_padding_instead_of_spaces_is_rejected_at_its_file_offset()
    {
        AssertRejectedAfterHeaderObject(_ => new byte[7], firstBad: 0, "0x00 (NUL)");
    }

    [Fact]
    public void Invalid_utf8_in_the_padding_is_rejected_at_its_file_offset()
    {
        AssertRejectedAfterHeaderObject(_ => [(byte)' ', 0xFF, 0xFE, (byte)' '], firstBad: 1, "0xFF (not ASCII)");
    }

    [Theory]
    [InlineData((byte)'\t', "0x09 (tab)")]
    [InlineData((byte)'\n', "0x0A (line feed)")]
    [InlineData((byte)'\r', "0x0D (carriage return)")]
    public void Json_whitespace_other_than_spaces_after_the_header_object_is_rejected(byte whitespace, string found)
    {
        AssertRejectedAfterHeaderObject(_ => [(byte)' ', whitespace, (byte)' '], firstBad: 1, found);
    }

    [Fact]
    public void Trailing_spaces_after_the_header_object_are_accepted()
    {
        // The Python safetensors library pads its header with spaces so that the data starts 8-byte aligned; any
        // number of spaces, none included, is a valid header.
        var model = new SmallMlp(seed: 5);
        var saved = SavedBytes(model);
        var jsonLength = SafeTensorsBytes.HeaderJson(saved).Length;
        var alignedPadding = (8 - ((8 + jsonLength) % 8)) % 8;
        foreach (var spaces in new[] { 0, 1, alignedPadding, alignedPadding + 8, 17 }.Distinct())
        {
            var file = SafeTensorsBytes.WithHeaderTail(saved, Enumerable.Repeat((byte)' ', spaces).ToArray(), out _);
            var loaded = new SmallMlp(seed: 9);

            SafeTensors.Read(loaded, file, "spaces.safetensors");

            Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
        }
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_rejected()
    {
        var bytes = SavedBytes(Trained());
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new SmallMlp(), bytes, "huge.safetensors"));
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Weights_of_another_model_are_rejected_with_the_tensor_and_both_shapes()
    {
        var path = Path.Combine(_directory, "wide.safetensors");
        new WideMlp(seed: 1).Save(path);

        var error = Assert.Throws<InvalidDataException>(() => SmallMlp.Load(path));

        Assert.Contains("layers.0.weight", error.Message);
        Assert.Contains("[256, 256]", error.Message);
        Assert.Contains("[33, 20]", error.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_rejected_even_when_their_sizes_add_up()
    {
        // Move layers.4.bias (12 bytes, last in the data) to start 4 bytes into layers.4.weight: the sizes still cover
        // the data section exactly, but two tensors share bytes and the last 12 belong to none.
        var bytes = SavedBytes(Trained());
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength))!.AsObject();
        var weightBegin = header["layers.4.weight"]!["data_offsets"]![0]!.GetValue<long>();
        var biasLength = header["layers.4.bias"]!["data_offsets"]![1]!.GetValue<long>() - header["layers.4.bias"]!["data_offsets"]![0]!.GetValue<long>();
        header["layers.4.bias"]!["data_offsets"] = new JsonArray(weightBegin + 4, weightBegin + 4 + biasLength);
        var newHeader = Encoding.UTF8.GetBytes(header.ToJsonString());
        var file = new byte[8 + newHeader.Length + (bytes.Length - 8 - headerLength)];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)newHeader.Length);
        newHeader.CopyTo(file, 8);
        bytes.AsSpan(8 + headerLength).CopyTo(file.AsSpan(8 + newHeader.Length));

        var model = new SmallMlp(seed: 2);
        var before = model.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(model, file, "overlap.safetensors"));
        Assert.Contains("overlap", error.Message);
        Assert.Contains("layers.4.bias", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void A_file_in_the_earlier_channels_last_layout_is_refused_even_with_its_names_fixed()
    {
        // A CNN's file with every name and shape as today's, but without the layout marker: what a file saved by an
        // earlier ModelGen (kernels and flattened images channels-last) becomes once a user renames its tensors. Its
        // numbers would load silently wrong, so the file is refused.
        var model = new SmallCnn(seed: 3);
        using var stream = new MemoryStream();
        SafeTensors.Write(model, stream);
        var bytes = stream.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Contains("\"layout\":\"pytorch\"", header);
        var unmarked = Encoding.UTF8.GetBytes(header.Replace("\"layout\":\"pytorch\"", "\"layout\":\"       \"", StringComparison.Ordinal));
        unmarked.CopyTo(bytes, 8);

        var loaded = new SmallCnn(seed: 4);
        var before = loaded.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(loaded, bytes, "old.safetensors"));
        Assert.Contains("saved by an earlier ModelGen in its own layout", error.Message);
        Assert.Equal(before, loaded.Parameters.ToArray());

        // A file from elsewhere (no ModelGen producer) with the same tensors loads: PyTorch writes no such metadata.
        var foreign = Encoding.UTF8.GetBytes(header.Replace("\"producer\":\"ModelGen\"", "\"producer\":\"PyTorch!\"", StringComparison.Ordinal)
            .Replace("\"layout\":\"pytorch\"", "\"layout\":\"       \"", StringComparison.Ordinal));
        foreign.CopyTo(bytes, 8);
        SafeTensors.Read(loaded, bytes, "foreign.safetensors");
        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
    }

    [Fact]
    public void Non_finite_weights_are_rejected()
    {
        var model = Trained();
        model.Dense2Bias[3] = float.NaN;

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new SmallMlp(), SavedBytes(model), "nan.safetensors"));
        Assert.Contains("layers.2.bias", error.Message);
    }

    [Fact]
    public void Missing_and_extra_tensors_are_rejected()
    {
        // Rename one tensor in the header (same length, so every offset stays right): one missing, one unknown.
        var renamed = SavedBytes(Trained());
        var at = renamed.AsSpan().IndexOf("layers.2.bias"u8);
        "layers.9.bias"u8.CopyTo(renamed.AsSpan(at));

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new SmallMlp(), renamed, "renamed.safetensors"));
        Assert.Contains("no tensor 'layers.2.bias'", error.Message);

        var extra = SavedBytes(new SmallMlp());
        var header = (int)BinaryPrimitives.ReadUInt64LittleEndian(extra);
        var withExtra = Encoding.UTF8.GetString(extra, 8, header).TrimEnd()[..^1] +
            ",\"extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        var rebuilt = new byte[8 + Encoding.UTF8.GetByteCount(withExtra) + extra.Length - 8 - header];
        BinaryPrimitives.WriteUInt64LittleEndian(rebuilt, (ulong)Encoding.UTF8.GetByteCount(withExtra));
        Encoding.UTF8.GetBytes(withExtra).CopyTo(rebuilt, 8);
        extra.AsSpan(8 + header).CopyTo(rebuilt.AsSpan(8 + Encoding.UTF8.GetByteCount(withExtra)));

        var extraError = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new SmallMlp(), rebuilt, "extra.safetensors"));
        Assert.Contains("'extra'", extraError.Message);
    }

    [Fact]
    public void A_failed_save_keeps_the_previous_file_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(_directory, "keep.safetensors");
        var first = Trained();
        first.Save(path);
        var good = File.ReadAllBytes(path);

        var second = new SmallMlp(seed: 77);
        Assert.Throws<IOException>(() => SafeTensors.Save(second, path, temporary => new FailingStream(File.Create(temporary), failAfter: 1000)));

        Assert.Equal(good, File.ReadAllBytes(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_directory).Select(Path.GetFileName));
        Assert.Equal(first.Parameters.ToArray(), SmallMlp.Load(path).Parameters.ToArray());
    }

    [Fact]
    public void Saving_into_a_missing_folder_names_the_path_and_folder_given_not_a_temporary_file()
    {
        var folder = Path.Combine(_directory, "missing", "deeper");
        var path = Path.Combine(folder, "model.safetensors");

        var error = Assert.Throws<DirectoryNotFoundException>(() => new SmallMlp(seed: 1).Save(path));

        Assert.Equal($"Cannot save to '{path}': the folder '{folder}' does not exist.", error.Message);
        Assert.DoesNotContain(".tmp", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_directory));

        // A relative path is named as written, and so is its folder.
        var relative = Path.Combine($"no-such-folder-{Guid.NewGuid():N}", "model.safetensors");
        var relativeError = Assert.Throws<DirectoryNotFoundException>(() => new SmallMlp(seed: 1).Save(relative));
        Assert.Equal($"Cannot save to '{relative}': the folder '{Path.GetDirectoryName(relative)}' does not exist.", relativeError.Message);
    }

    [Fact]
    public void Saving_over_an_existing_file_replaces_it()
    {
        var path = Path.Combine(_directory, "replace.safetensors");
        new SmallMlp(seed: 1).Save(path);
        var second = new SmallMlp(seed: 2);

        second.Save(path);

        Assert.Equal(second.Parameters.ToArray(), SmallMlp.Load(path).Parameters.ToArray());
    }

    private static SmallMlp Trained()
    {
        var model = new SmallMlp(seed: 5);
        var random = new Random(5);
        var features = Enumerable.Range(0, 64 * 20).Select(_ => random.NextSingle()).ToArray();
        var targets = Enumerable.Range(0, 64 * 3).Select(_ => random.NextSingle()).ToArray();
        model.Fit(new Dataset(features, 20, targets, 3), new FitOptions { Epochs = 2, Seed = 1 });
        return model;
    }

    private static byte[] SavedBytes(ITrainableModel model)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(model, stream);
        return stream.ToArray();
    }

    /// <summary>
    /// Asserts that a saved file whose header is its JSON object followed by <paramref name="tail"/> (given that JSON)
    /// is rejected, the message naming the file offset of the tail's byte <paramref name="firstBad"/> and that byte as
    /// <paramref name="found"/>, and that the model is left unchanged.
    /// </summary>
    private static void AssertRejectedAfterHeaderObject(Func<byte[], byte[]> tail, int firstBad, string found)
    {
        var saved = SavedBytes(new SmallMlp(seed: 5));
        var file = SafeTensorsBytes.WithHeaderTail(saved, tail(SafeTensorsBytes.HeaderJson(saved)), out var tailOffset);
        var model = new SmallMlp(seed: 9);
        var before = model.Parameters.ToArray();

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(model, file, "tail.safetensors"));

        Assert.StartsWith("'tail.safetensors' is not a readable safetensors file: ", error.Message);
        Assert.Contains($"JSON object closes at file offset {tailOffset - 1}, but file offset {tailOffset + firstBad} holds {found} where only spaces (0x20) may pad the header", error.Message);
        Assert.Equal((byte)'}', file[tailOffset - 1]);
        Assert.Equal(before, model.Parameters.ToArray());
    }
}
