using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Quantization;
using ModelGen.Serialization;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// <c>[Model(Weights = …, Quantize = QuantizationMode.Dynamic)]</c>: the generator quantizes the baked weights at build
/// time, and the generated <c>CreateInt8Predictor()</c> predicts exactly what the run-time <c>Quantize()</c> of the same
/// weights predicts, bit for bit, with the same report of each layer; asking for it without weights, or for a model that
/// cannot be quantized, is a build error on the <c>Quantize</c> argument.
/// </summary>
public sealed class BakedInt8Tests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-int8-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Models covering what the quantizer decides: which batch normalizations fold, through what, and what stays in float.</summary>
    public static TheoryData<string, string> Models => new()
    {
        {
            // Folding through a dropout, a batch normalization after an activation (float), layer normalization, no bias.
            "mlp",
            """
            [Model(Loss = Loss.SoftmaxCrossEntropy{0})]
            [Input(20)]
            [Dense(33, UseBias = false)]
            [Dropout(0.2f)]
            [BatchNorm]
            [Activation(Activation.Relu)]
            [Dense(17, Activation.Tanh)]
            [BatchNorm]
            [LayerNorm]
            [Dense(3)]
            public partial class Net;
            """
        },
        {
            // Convolutions, pooling, a residual sum of two folded branches, GELU after a folded dense layer, sigmoid outputs.
            "cnn",
            """
            [Block]
            [Conv2D(6, 3, Padding = Padding.Same)]
            [BatchNorm]
            [Activation(Activation.Relu)]
            [Conv2D(6, 3, Padding = Padding.Same)]
            [BatchNorm]
            internal sealed class Branch;

            [Model(Loss = Loss.BinaryCrossEntropy{0})]
            [Input(2, 9, 8)]
            [Conv2D(6, 3, Padding = Padding.Same, UseBias = false)]
            [BatchNorm]
            [Activation(Activation.Relu)]
            [Residual(typeof(Branch), Activation = Activation.Relu)]
            [MaxPool2D(2)]
            [Conv2D(5, 2, Activation = Activation.Relu)]
            [GlobalAvgPool2D]
            [Dense(12)]
            [BatchNorm]
            [Activation(Activation.Gelu)]
            [Dense(4)]
            public partial class Net;
            """
        },
        {
            // A regression model: the outputs are values, not probabilities.
            "regression",
            """
            [Model(Loss = Loss.MeanSquaredError{0})]
            [Input(1, 6, 6)]
            [Conv2D(4, 3, Activation = Activation.LeakyRelu)]
            [AvgPool2D(2)]
            [Flatten]
            [Dense(8, Activation.Relu)]
            [Dense(2)]
            public partial class Net;
            """
        },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void The_baked_int8_predictor_is_run_time_quantization_bit_for_bit(string name, string declaration)
    {
        var path = Path.Combine(_directory, name + ".safetensors");
        var floatModel = TrainedLookingModel(declaration, path);
        var assembly = GeneratorHarness.BuildAndLoad(Source(declaration, $", Weights = \"{name}.safetensors\", Quantize = QuantizationMode.Dynamic") + Probe, path);
        var probe = assembly.GetType("Probe")!;

        var baked = (Int8Predictor)probe.GetMethod("Baked")!.Invoke(null, null)!;
        var quantized = (Int8Predictor)probe.GetMethod("RunTime")!.Invoke(null, null)!;

        Assert.Equal(quantized.Layers, baked.Layers);
        Assert.Contains(baked.Layers, l => l.Precision == LayerPrecision.Int8);
        var random = new Random(3);
        var inputs = Enumerable.Range(0, 9 * floatModel.InputSize).Select(_ => (float)random.NextDouble() * 2f - 0.5f).ToArray();
        var (expected, actual) = (new float[9 * floatModel.OutputSize], new float[9 * floatModel.OutputSize]);
        quantized.PredictBatch(inputs, expected);
        baked.PredictBatch(inputs, actual);
        Assert.Equal(expected, actual);

        var (one, single) = (new float[floatModel.OutputSize], new float[floatModel.OutputSize]);
        quantized.Predict(inputs.AsSpan(0, floatModel.InputSize), one);
        baked.Predict(inputs.AsSpan(0, floatModel.InputSize), single);
        Assert.Equal(one, single);
    }

    [Fact]
    public void The_int8_file_reads_no_float_weights()
    {
        var declaration = (string)Models.First()[1];
        var path = Path.Combine(_directory, "mlp.safetensors");
        TrainedLookingModel(declaration, path);

        var (result, output) = GeneratorHarness.Run([path], "using ModelGen;\n" + string.Format(declaration, ", Weights = \"mlp.safetensors\", Quantize = QuantizationMode.Dynamic"));

        Assert.Empty(result.Diagnostics);
        Assert.Empty(GeneratorHarness.WarningsInGeneratedCode(output));
        var sources = GeneratorHarness.GeneratedSources(result);
        Assert.Equal(["Net.Int8.g.cs", "Net.Weights.g.cs", "Net.g.cs"], sources.Select(s => s.HintName));
        var int8 = sources.Single(s => s.HintName == "Net.Int8.g.cs").SourceText.ToString();
        // What keeps the float weights out of a program that only predicts in int8: nothing here reaches them (only the
        // constructors read them).
        Assert.DoesNotContain("BakedParameters", int8, StringComparison.Ordinal);
        Assert.DoesNotContain("BakedState", int8, StringComparison.Ordinal);
    }

    [Fact]
    public void MG0044_quantize_without_weights()
    {
        AssertQuantizeError(
            "[Model(Quantize = QuantizationMode.Dynamic)] [Input(4)] [Dense(2)] public partial class M;", [],
            "MG0044", "Quantize = QuantizationMode.Dynamic", "Model 'M' asks for Quantize = QuantizationMode.Dynamic but bakes no weights");
    }

    [Theory]
    [InlineData("[Input(4)] [LayerNorm]", "Quantize = QuantizationMode.Dynamic", "it has no [Dense] or [Conv2D] layer")]
    [InlineData("[Input(70000)] [Dense(1)]", "Quantize = QuantizationMode.Dynamic", "layer 1 (dense_1) sums 70,000 inputs per output, more than the 65,536")]
    [InlineData("[Input(4)] [Dense(2)]", "Quantize = (QuantizationMode)7", "Quantize = 7 is not a QuantizationMode")]
    public void MG0045_a_model_that_cannot_be_quantized(string layers, string at, string message)
    {
        var path = Path.Combine(_directory, "m.safetensors");
        TrainedLookingModel($"[Model{{0}}] {layers} public partial class Net;", path);
        var declaration = $"[Model(Weights = \"m.safetensors\", {at})] {layers} public partial class M;";

        AssertQuantizeError(declaration, [path], "MG0045", at, "Model 'M' cannot be quantized to int8 at build time: " + message);
    }

    [Fact]
    public void A_file_that_cannot_be_baked_gives_its_own_error_and_no_int8_code()
    {
        var (result, _) = GeneratorHarness.Run(
            "using ModelGen;\n[Model(Weights = \"missing.safetensors\", Quantize = QuantizationMode.Dynamic)] [Input(4)] [Dense(2)] public partial class M;");

        Assert.Equal("MG0022", Assert.Single(result.Diagnostics).Id);
        Assert.DoesNotContain(GeneratorHarness.GeneratedSources(result), s => s.HintName.Contains("Int8", StringComparison.Ordinal));
    }

    /// <summary>Both ways to an int8 predictor of the baked model: the generated factory, and the float model's run-time <c>Quantize()</c>.</summary>
    private const string Probe = """

        /// <summary>The two int8 predictors.</summary>
        public static class Probe
        {
            /// <summary>Quantized at build time.</summary>
            public static ModelGen.Quantization.Int8Predictor Baked() => Net.CreateInt8Predictor();

            /// <summary>Quantized now.</summary>
            public static ModelGen.Quantization.Int8Predictor RunTime() => new Net().Quantize();
        }
        """;

    private static string Source(string declaration, string modelArguments) => "using ModelGen;\n" + string.Format(declaration, modelArguments);

    /// <summary>
    /// The model of <paramref name="declaration"/> (its <c>{0}</c> left empty) with every parameter and running
    /// statistic set to a distinct value, variances positive, saved to <paramref name="path"/>.
    /// </summary>
    private static ITrainableModel TrainedLookingModel(string declaration, string path)
    {
        var model = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(Source(declaration, string.Empty)).GetType("Net")!, 5)!;
        var random = new Random(11);
        foreach (var tensor in model.ParameterTensors.Where(t => !t.IsBatchCounter))
        {
            var values = tensor.Slice(tensor.Buffer(model));
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = tensor.Name.EndsWith("running_var", StringComparison.Ordinal)
                    ? 0.2f + (float)random.NextDouble()
                    : values[i] + ((float)random.NextDouble() - 0.5f) * 0.4f;
            }
        }

        SafeTensors.Save(model, path);
        return model;
    }

    private static void AssertQuantizeError(string declaration, IEnumerable<string> files, string id, string at, string message)
    {
        var (result, _) = GeneratorHarness.Run(files, "using ModelGen;\n" + declaration);

        Assert.Null(result.Results.Single().Exception);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var text = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(text.Contains(message, StringComparison.Ordinal), text);
        Assert.Equal(at, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.DoesNotContain(GeneratorHarness.GeneratedSources(result), s => s.HintName.Contains("Int8", StringComparison.Ordinal));
    }
}
