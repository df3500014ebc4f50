using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using ModelGen.Serialization;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// <c>[Model(Weights = …)]</c>: the file named among AdditionalFiles is checked at build time and baked into the
/// assembly, so <c>new Model()</c> is the saved model, bit for bit; a file that is missing, damaged or of another
/// architecture is a build error on the <c>Weights</c> argument.
/// </summary>
public sealed class BakedWeightsTests : IDisposable
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
    public void MG0024_a_file_with_a_tensor_too_many()
    {
        var smaller = (ITrainableModel)Activator.CreateInstance(
            GeneratorHarness.BuildAndLoad("using ModelGen; [Model] [Input(5)] [Dense(7, Activation.Tanh)] [BatchNorm] [Dense(300, Activation.Relu)] [LayerNorm] [Dense(3)] [Dense(2)] public partial class Longer;").GetType("Longer")!, 1)!;
        var path = Path.Combine(_directory, "net.safetensors");
        SafeTensors.Save(smaller, path);

        AssertBakeError([path], "net.safetensors", "MG0024", "it holds tensor 'layers.5.weight', which the model does not have");
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
        foreach (var tensor in model.ParameterTensors)
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
