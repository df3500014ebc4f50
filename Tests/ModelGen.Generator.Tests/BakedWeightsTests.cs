extern alias generator;

using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using generator::ModelGen.Generator.Weights;
using Microsoft.CodeAnalysis;
using ModelGen.Serialization;
using ModelGen.Tests;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// <c>[Model(Weights = …)]</c>: the file named among AdditionalFiles is checked at build time and baked into the
/// assembly, so <c>new Model()</c> is the saved model, bit for bit; a file that is missing, damaged or of another
/// architecture is a build error on the <c>Weights</c> argument.
/// </summary>
public sealed partial class BakedWeightsTests : IDisposable
{
    /// <summary>Every kind of tensor: an unrolled dense layer, batch norm (parameters and running statistics), layer norm, a GEMM-sized dense layer.</summary>
    private const string Layers = """
        [Input(5)]
        [Dense(7, Activation.Tanh)]
        [BatchNorm]
        [Dense(300, Activation.Relu)]
        [LayerNorm]
        [Dense(3)]
        """;

    /// <summary>A convolutional network: kernels kept [kernel, kernel, channels, filters], files holding their transpose.</summary>
    private const string ConvolutionLayers = """
        [Input(2, 6, 5)]
        [Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Relu)]
        [MaxPool2D(2)]
        [Conv2D(4, 2, Activation = Activation.Tanh)]
        [Flatten]
        [Dense(3)]
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-bake-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_parameterless_constructor_gives_the_saved_model_bit_for_bit()
    {
        var saved = TrainedLookingModel(out var path);

        var assembly = GeneratorHarness.BuildAndLoad(Model("Baked", "net.safetensors"), path);
        var baked = (ITrainableModel)Activator.CreateInstance(assembly.GetType("Baked")!)!;

        Assert.Equal(saved.Parameters.ToArray(), baked.Parameters.ToArray());
        Assert.Equal(saved.State.ToArray(), baked.State.ToArray());
        var input = new float[] { 0.5f, -1f, 2f, 0f, 0.25f };
        var (expected, actual) = (new float[3], new float[3]);
        saved.Predict(input, expected);
        baked.Predict(input, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_convolutional_model_bakes_bit_for_bit()
    {
        var saved = TrainedLookingModel(out var path, ConvolutionLayers);

        var assembly = GeneratorHarness.BuildAndLoad(Model("Baked", "net.safetensors", ConvolutionLayers), path);
        var baked = (ITrainableModel)Activator.CreateInstance(assembly.GetType("Baked")!)!;

        Assert.Equal(saved.Parameters.ToArray(), baked.Parameters.ToArray());
        var input = GradientCheckTests.RandomArray(new Random(4), baked.InputSize, -1, 1);
        var (expected, actual) = (new float[3], new float[3]);
        saved.Predict(input, expected);
        baked.Predict(input, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_seeded_constructor_still_draws_fresh_weights()
    {
        TrainedLookingModel(out var path);
        var assembly = GeneratorHarness.BuildAndLoad(Model("Baked", "net.safetensors"), path);

        var seeded = (ITrainableModel)Activator.CreateInstance(assembly.GetType("Baked")!, 3)!;
        var plain = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(Model("Plain", null)).GetType("Plain")!, 3)!;

        Assert.Equal(plain.Parameters.ToArray(), seeded.Parameters.ToArray());
    }

    [Fact]
    public void The_declared_path_matches_the_end_of_an_additional_file_path()
    {
        TrainedLookingModel(out var path);
        var nested = Path.Combine(_directory, "weights", "v2");
        Directory.CreateDirectory(nested);
        File.Copy(path, Path.Combine(nested, "net.safetensors"));

        var (ambiguous, _) = GeneratorHarness.Run([path, Path.Combine(nested, "net.safetensors")], Model("Baked", "net.safetensors"));
        var (exact, output) = GeneratorHarness.Run([path, Path.Combine(nested, "net.safetensors")], Model("Baked", "v2/net.safetensors"));
        var (partialName, _) = GeneratorHarness.Run([path], Model("Baked", "et.safetensors"));

        Assert.Equal("MG0025", Assert.Single(ambiguous.Diagnostics).Id);
        Assert.Empty(exact.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        Assert.Equal("MG0022", Assert.Single(partialName.Diagnostics).Id);
    }

    [Fact]
    public void MG0022_a_file_not_among_additional_files()
    {
        AssertBakeError([], "missing.safetensors", "MG0022", "'missing.safetensors' of model 'Baked' is not among the project's AdditionalFiles");
    }

    [Theory]
    [InlineData(10, "fewer than the 8")]
    [InlineData(-8, "claims bytes")]
    [InlineData(-1, "truncated")]
    public void MG0023_a_truncated_file(int cut, string message)
    {
        TrainedLookingModel(out var path);
        var bytes = File.ReadAllBytes(path);
        var length = cut > 0 ? 4 : cut == -1 ? 20 : bytes.Length + cut;
        File.WriteAllBytes(path, bytes[..length]);

        AssertBakeError([path], "net.safetensors", "MG0023", message);
    }

    [Fact]
    public void MG0023_a_header_that_is_not_json()
    {
        TrainedLookingModel(out var path);
        var bytes = File.ReadAllBytes(path);
        bytes[8] = (byte)'}';
        File.WriteAllBytes(path, bytes);

        AssertBakeError([path], "net.safetensors", "MG0023", "its header is not one JSON object");
    }

    [Fact]
    public void MG0023_a_character_after_the_header_object()
    {
        AssertBakeErrorAfterHeaderObject(_ => "x"u8.ToArray(), firstBad: 0, "0x78 ('x')");
    }

    [Fact]
    public void MG0023_a_comment_after_the_header_object()
    {
        AssertBakeErrorAfterHeaderObject(_ => "  //c"u8.ToArray(), firstBad: 2, "0x2F ('/')");
    }

    [Fact]
    public void MG0023_the_header_object_written_twice()
    {
        AssertBakeErrorAfterHeaderObject(json => json, firstBad: 0, "0x7B ('{')");
    }

    [Fact]
    public void MG0023_nul_padding_instead_of_spaces()
    {
        AssertBakeErrorAfterHeaderObject(_ => new byte[7], firstBad: 0, "0x00 (NUL)");
    }

    [Fact]
    public void MG0023_invalid_utf8_in_the_padding()
    {
        AssertBakeErrorAfterHeaderObject(_ => [(byte)' ', 0xFF, 0xFE, (byte)' '], firstBad: 1, "0xFF (not ASCII)");
    }

    [Theory]
    [InlineData((byte)'\t', "0x09 (tab)")]
    [InlineData((byte)'\n', "0x0A (line feed)")]
    [InlineData((byte)'\r', "0x0D (carriage return)")]
    public void MG0023_json_whitespace_other_than_spaces_after_the_header_object(byte whitespace, string found)
    {
        AssertBakeErrorAfterHeaderObject(_ => [(byte)' ', whitespace, (byte)' '], firstBad: 1, found);
    }

    [Fact]
    public void The_header_reader_decodes_utf8_and_escapes_in_names_and_refuses_invalid_utf8_there()
    {
        // Names with raw UTF-8 ("café"), escapes ("é", a line feed and a quote) and an escaped surrogate pair (an emoji); three tensors of one float.
        const string header = """{"__metadata__":{"note":"é \t"},"café":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u00e9\n\"":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"\ud83d\ude00":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}   """;
        var bytes = Encoding.UTF8.GetBytes(header);
        byte[] file = [.. new byte[8], .. bytes, .. new byte[12]];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)bytes.Length);

        var entries = SafeTensorsHeader.Read(file, out var dataStart, out var error);

        Assert.Null(error);
        Assert.Equal(8 + bytes.Length, dataStart);
        Assert.Equal(["café", "é\n\"", "\U0001F600"], entries!.Select(e => e.Name));

        // "café" with its "é" broken: 0xC3 followed by a byte that cannot continue it.
        var name = file.AsSpan().IndexOf("\"caf"u8);
        file[name + 5] = (byte)'(';
        Assert.Null(SafeTensorsHeader.Read(file, out _, out error));
        Assert.Equal($"its header is not valid UTF-8 (in the string that opens at file offset {name})", error);
    }

    [Fact]
    public void Trailing_spaces_after_the_header_object_still_bake()
    {
        // The Python safetensors library pads its header with spaces so that the data starts 8-byte aligned; any
        // number of spaces, none included, is a valid header.
        var saved = TrainedLookingModel(out var path);
        var good = File.ReadAllBytes(path);
        var jsonLength = SafeTensorsBytes.HeaderJson(good).Length;
        var alignedPadding = (8 - ((8 + jsonLength) % 8)) % 8;
        foreach (var spaces in new[] { 0, 1, alignedPadding + 8, 17 })
        {
            File.WriteAllBytes(path, SafeTensorsBytes.WithHeaderTail(good, Enumerable.Repeat((byte)' ', spaces).ToArray(), out _));
            var (result, _) = GeneratorHarness.Run([path], Model("Baked", "net.safetensors"));

            Assert.Null(result.Results.Single().Exception);
            Assert.Empty(result.Diagnostics);
        }

        File.WriteAllBytes(path, SafeTensorsBytes.WithHeaderTail(good, Enumerable.Repeat((byte)' ', alignedPadding).ToArray(), out var tailOffset));
        Assert.Equal(0, (tailOffset + alignedPadding) % 8);
        var baked = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(Model("Baked", "net.safetensors"), path).GetType("Baked")!)!;

        Assert.Equal(saved.Parameters.ToArray(), baked.Parameters.ToArray());
        Assert.Equal(saved.State.ToArray(), baked.State.ToArray());
    }

    [Fact]
    public void MG0023_a_value_that_is_not_finite()
    {
        TrainedLookingModel(out var path);
        var bytes = File.ReadAllBytes(path);
        var dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(dataStart + 8), float.NaN);
        File.WriteAllBytes(path, bytes);

        AssertBakeError([path], "net.safetensors", "MG0023", "holds NaN at element 2");
    }

    [Fact]
    public void MG0024_a_file_of_another_architecture()
    {
        var other = (ITrainableModel)Activator.CreateInstance(
            GeneratorHarness.BuildAndLoad("using ModelGen; [Model] [Input(5)] [Dense(8, Activation.Tanh)] [BatchNorm] [Dense(300)] [LayerNorm] [Dense(3)] public partial class Other;").GetType("Other")!, 1)!;
        var path = Path.Combine(_directory, "net.safetensors");
        SafeTensors.Save(other, path);

        AssertBakeError([path], "net.safetensors", "MG0024", "tensor 'layers.0.weight' has shape [8, 5] in the file but [7, 5] in the model");
    }

    [Fact]
    public void MG0023_a_file_in_the_earlier_channels_last_layout()
    {
        // What an earlier ModelGen wrote has no layout marker; with its names fixed by hand its kernels and flattened
        // images would still be channels-last, so the baker refuses it as Load does.
        TrainedLookingModel(out var path);
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Contains("\"layout\":\"pytorch\"", header, StringComparison.Ordinal);
        Encoding.UTF8.GetBytes(header.Replace("\"layout\":\"pytorch\"", "\"layout\":\"       \"", StringComparison.Ordinal)).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);

        AssertBakeError([path], "net.safetensors", "MG0023", "saved by an earlier ModelGen in its own layout");
    }

    [Fact]
    public void MG0024_a_file_with_a_tensor_too_many()
    {
        var smaller = (ITrainableModel)Activator.CreateInstance(
            GeneratorHarness.BuildAndLoad("using ModelGen; [Model] [Input(5)] [Dense(7, Activation.Tanh)] [BatchNorm] [Dense(300, Activation.Relu)] [LayerNorm] [Dense(3)] [Dense(2)] public partial class Longer;").GetType("Longer")!, 1)!;
        var path = Path.Combine(_directory, "net.safetensors");
        SafeTensors.Save(smaller, path);

        AssertBakeError([path], "net.safetensors", "MG0024", "it holds tensor 'layers.7.weight', which the model does not have");
    }

    [Fact]
    public void Every_declared_weights_error_leaves_the_generator_standing()
    {
        TrainedLookingModel(out var path);
        var good = File.ReadAllBytes(path);
        var random = new Random(7);
        for (var n = 0; n < 60; n++)
        {
            var damaged = good.ToArray();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, n % 3 == 0 ? damaged[..random.Next(damaged.Length)] : damaged);
            var (result, _) = GeneratorHarness.Run([path], Model("Baked", "net.safetensors"));

            Assert.Null(result.Results.Single().Exception);
            Assert.DoesNotContain(result.Diagnostics, d => d.Id is "CS8785" or "MG0999");
        }
    }

    private static string Model(string name, string? weights, string layers = Layers) =>
        "using ModelGen;\n" +
        $"[Model(Loss = Loss.SoftmaxCrossEntropy{(weights is null ? string.Empty : $", Weights = \"{weights}\"")})]\n" +
        layers + $"\npublic partial class {name};\n";

    /// <summary>A model of <see cref="Layers"/> with every parameter and running statistic set to a distinct value, saved as net.safetensors.</summary>
    private ITrainableModel TrainedLookingModel(out string path, string layers = Layers)
    {
        var model = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(Model("Source", null, layers)).GetType("Source")!, 11)!;
        // Every saved value distinct; alignment gaps, which are not saved and bake as zero, zero.
        var random = new Random(2);
        model.Parameters.Clear();
        model.State.Clear();
        foreach (var tensor in model.ParameterTensors.Where(t => !t.IsBatchCounter))
        {
            var values = tensor.Slice(tensor.Buffer(model));
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)(random.NextDouble() - 0.5) * 1.5f;
            }
        }

        path = Path.Combine(_directory, "net.safetensors");
        SafeTensors.Save(model, path);
        return model;
    }

    /// <summary>
    /// Asserts that a saved file whose header is its JSON object followed by <paramref name="tail"/> (given that JSON)
    /// is MG0023, the message naming the file offset of the tail's byte <paramref name="firstBad"/> and that byte as
    /// <paramref name="found"/>.
    /// </summary>
    private void AssertBakeErrorAfterHeaderObject(Func<byte[], byte[]> tail, int firstBad, string found)
    {
        TrainedLookingModel(out var path);
        var good = File.ReadAllBytes(path);
        var file = SafeTensorsBytes.WithHeaderTail(good, tail(SafeTensorsBytes.HeaderJson(good)), out var tailOffset);
        File.WriteAllBytes(path, file);

        Assert.Equal((byte)'}', file[tailOffset - 1]);
        AssertBakeError([path], "net.safetensors", "MG0023", $"cannot be baked: its header's JSON object closes at file offset {tailOffset - 1}, but file offset {tailOffset + firstBad} holds {found} where only spaces (0x20) may pad the header");
    }

    private static void AssertBakeError(IEnumerable<string> files, string declared, string id, string message)
    {
        var source = Model("Baked", declared);
        var (result, _) = GeneratorHarness.Run(files, source);

        Assert.Null(result.Results.Single().Exception);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var text = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(text.Contains(message, StringComparison.Ordinal), text);
        Assert.Equal($"Weights = \"{declared}\"", diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
    }
}
