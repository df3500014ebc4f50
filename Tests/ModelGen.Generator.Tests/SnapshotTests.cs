using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// The generated code of representative models, compared with checked-in snapshots: catches any change to what
/// users read and compile, and shows it in review.
/// </summary>
public class SnapshotTests
{
    public const string LinearRegression = """
        using ModelGen;

        namespace Samples;

        [Model(Loss = Loss.MeanSquaredError)]
        [Input(1)]
        [Dense(1)]
        public partial class LinearRegression;
        """;

    public const string Mlp = """
        using ModelGen;

        namespace Samples.Tabular;

        public static partial class Models
        {
            /// <summary>Three layers: a tiny unrolled one, then two vectorized ones.</summary>
            [Model(Loss = Loss.MeanSquaredError)]
            [Input(3)]
            [Dense(4, Activation.Tanh)]
            [Dense(64, Activation.Relu)]
            [Dense(2, Activation = Activation.Sigmoid)]
            internal partial class Mlp;
        }
        """;

    public const string FashionMlp = """
        using ModelGen;

        namespace Samples.Fashion;

        /// <summary>The Fashion-MNIST classifier: 784 pixels → 10 classes, softmax cross-entropy fused into the last layer.</summary>
        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(784)]
        [Dense(256, Activation.Relu)]
        [Dropout(0.2f)]
        [Dense(128, Activation.Relu)]
        [Dropout(0.2f)]
        [Dense(10)]
        public partial class FashionMlp;
        """;

    public const string Activations = """
        using ModelGen;

        namespace Samples.Zoo;

        /// <summary>Every activation not shown elsewhere, in each dense strategy, with a declared α and initializer, batch and layer normalization, and Huber's δ.</summary>
        [Model(Loss = Loss.Huber, HuberDelta = 0.5f)]
        [Input(3)]
        [Dense(2, Activation.LeakyRelu, Alpha = 0.2f)]
        [Dense(5, Activation.Elu)]
        [Dense(20, Activation.Gelu)]
        [BatchNorm]
        [Dense(24, Activation.Silu)]
        [LayerNorm]
        [Dropout(0.1f)]
        [Dense(17, Activation.Sigmoid, Initializer = Initializer.LecunNormal)]
        [Dense(2, Activation.Tanh)]
        public partial class Zoo;
        """;

    public const string FashionCnn = """
        using ModelGen;

        namespace Samples.Fashion;

        /// <summary>A small convolutional classifier for 28×28 images, as Keras' examples build one.</summary>
        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(1, 28, 28)]
        [Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
        [MaxPool2D(2)]
        [Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
        [MaxPool2D(2)]
        [Flatten]
        [Dense(64, Activation.Relu)]
        [Dropout(0.25f)]
        [Dense(10)]
        public partial class FashionCnn;
        """;

    public const string CifarCnn = """
        using ModelGen;

        namespace Samples.Vision;

        /// <summary>A convolutional classifier for 32×32 colour images: batch normalization per channel (its β makes the first convolution's bias redundant), average pooling, and a global average instead of a flatten.</summary>
        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(3, 32, 32)]
        [Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu, UseBias = false)]
        [BatchNorm]
        [AvgPool2D(2)]
        [Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
        [BatchNorm]
        [GlobalAvgPool2D]
        [Dense(10)]
        public partial class CifarCnn;
        """;

    /// <summary>A small ResNet: a stem, a repeated identity block and a strided block with a projection shortcut.</summary>
    public const string ResNet = """
        using ModelGen;

        namespace Samples.Vision;

        [Block]
        [Conv2D(8, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
        [Activation(Activation.Relu)]
        [Conv2D(8, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
        internal sealed class Basic8;

        [Block]
        [Conv2D(16, 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
        [BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
        [Activation(Activation.Relu)]
        [Conv2D(16, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
        internal sealed class Down16;

        [Block]
        [Conv2D(16, 1, Stride = 2, UseBias = false)]
        [BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
        internal sealed class Project16;

        /// <summary>Post-activation basic blocks, as He et al. (2016) for CIFAR.</summary>
        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(1, 12, 12)]
        [Conv2D(8, 3, Padding = Padding.Same, UseBias = false)]
        [BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
        [Activation(Activation.Relu)]
        [Residual(typeof(Basic8), Repeat = 2, Activation = Activation.Relu)]
        [Residual(typeof(Down16), Shortcut = typeof(Project16), Activation = Activation.Relu)]
        [GlobalAvgPool2D]
        [Dense(10)]
        public partial class ResNet;
        """;

    /// <summary>A character LSTM as Samples/TinyGpt's <c>--model lstm</c> declares it, smaller.</summary>
    public const string CharLstm = """
        using ModelGen;

        namespace Samples.Text;

        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(32, Vocabulary = 96)]
        [Embedding(32, Positions = PositionEncoding.None, Initializer = Initializer.StandardNormal)]
        [Lstm(64)]
        [Gru(48)]
        [Dense(96, Initializer = Initializer.SmallNormal)]
        public partial class CharLstm;
        """;

    /// <summary>A character-level GPT as Samples/TinyGpt declares it, smaller: two pre-norm blocks, a head tied to the token table.</summary>
    public const string TinyGpt = """
        using ModelGen;

        namespace Samples.Text;

        [Block]
        [LayerNorm]
        [Attention(4)]
        internal sealed class Attend;

        [Block]
        [LayerNorm]
        [Dense(256, Activation.Gelu, Initializer = Initializer.SmallNormal)]
        [Dense(64, Initializer = Initializer.SmallNormal)]
        internal sealed class FeedForward;

        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(32, Vocabulary = 96)]
        [Embedding(64)]
        [Residual(typeof(Attend))]
        [Residual(typeof(FeedForward))]
        [Residual(typeof(Attend))]
        [Residual(typeof(FeedForward))]
        [LayerNorm]
        [TiedHead]
        public partial class TinyGpt;
        """;

    /// <summary>Dense pre-norm residual blocks, x + f(LayerNorm(x)), as a transformer's feed-forward sublayers.</summary>
    public const string PreNorm = """
        using ModelGen;

        namespace Samples.Tabular;

        [Block]
        [LayerNorm]
        [Dense(128, Activation.Gelu)]
        [Dense(32)]
        internal sealed class FeedForward;

        [Model(Loss = Loss.MeanSquaredError)]
        [Input(20)]
        [Dense(32)]
        [Residual(typeof(FeedForward), Repeat = 2)]
        [LayerNorm]
        [Dense(1)]
        public partial class PreNorm;
        """;

    [Theory]
    [InlineData(nameof(TinyGpt), TinyGpt)]
    [InlineData(nameof(CharLstm), CharLstm)]
    [InlineData(nameof(ResNet), ResNet)]
    [InlineData(nameof(PreNorm), PreNorm)]
    [InlineData(nameof(LinearRegression), LinearRegression)]
    [InlineData(nameof(FashionCnn), FashionCnn)]
    [InlineData(nameof(CifarCnn), CifarCnn)]
    [InlineData(nameof(Mlp), Mlp)]
    [InlineData(nameof(FashionMlp), FashionMlp)]
    [InlineData(nameof(Activations), Activations)]
    public void Generated_code_matches_snapshot(string name, string source)
    {
        var (result, output) = GeneratorHarness.Run(source);

        Assert.Empty(result.Diagnostics);
        Assert.Empty(GeneratorHarness.WarningsInGeneratedCode(output));
        var generated = Assert.Single(GeneratorHarness.GeneratedSources(result));
        // Verify.SourceGenerators' naming: {class}.{test}#{hint name without .cs}.verified.cs
        var hint = generated.HintName.Substring(0, generated.HintName.Length - ".cs".Length);
        SnapshotAssert.Matches($"{nameof(SnapshotTests)}.{name}#{hint}", generated.SourceText.ToString());
    }

    public const string Broken = """
        using ModelGen;

        namespace Samples.Drafts;

        /// <summary>A model being written: its second layer has no units yet (MG0003).</summary>
        [Model(Loss = Loss.SoftmaxCrossEntropy)]
        [Input(784)]
        [Dense(128, Activation.Relu)]
        [Dense(0)]
        public partial class Draft;
        """;

    /// <summary>A model with MG errors gets only the stand-ins that keep its uses compiling: reviewed like any generated code.</summary>
    [Fact]
    public void Stand_ins_match_snapshot()
    {
        var (result, output) = GeneratorHarness.Run(Broken);

        Assert.Equal(["MG0003"], result.Diagnostics.Select(d => d.Id));
        Assert.Empty(GeneratorHarness.WarningsInGeneratedCode(output));
        var generated = Assert.Single(GeneratorHarness.GeneratedSources(result));
        var hint = generated.HintName.Substring(0, generated.HintName.Length - ".cs".Length);
        SnapshotAssert.Matches($"{nameof(SnapshotTests)}.{nameof(Broken)}#{hint}", generated.SourceText.ToString());
    }

    public const string Baked = """
        using ModelGen;

        namespace Samples.Deploy;

        /// <summary>A trained model shipped inside the assembly: new Scorer() needs no weights file at run time.</summary>
        [Model(Loss = Loss.BinaryCrossEntropy, Weights = "scorer.safetensors")]
        [Input(3)]
        [Dense(4, Activation.Tanh)]
        [BatchNorm]
        [Dense(1)]
        public partial class Scorer;
        """;

    /// <summary>The model with baked weights and its second file, the weights; the file is the model saved from seed 5.</summary>
    [Fact]
    public void Baked_weights_match_snapshot()
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-snapshot-").FullName;
        try
        {
            var path = Path.Combine(directory, "scorer.safetensors");
            var unbaked = Baked.Replace(", Weights = \"scorer.safetensors\"", string.Empty, StringComparison.Ordinal);
            var source = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(unbaked).GetType("Samples.Deploy.Scorer")!, 5)!;
            source.State.Fill(0.5f);
            ModelGen.Serialization.SafeTensors.Save(source, path);

            var (result, output) = GeneratorHarness.Run([path], Baked);

            Assert.Empty(result.Diagnostics);
            Assert.Empty(GeneratorHarness.WarningsInGeneratedCode(output));
            var generated = GeneratorHarness.GeneratedSources(result);
            Assert.Equal(["Samples.Deploy.Scorer.Weights.g.cs", "Samples.Deploy.Scorer.g.cs"], generated.Select(g => g.HintName));
            foreach (var file in generated)
            {
                var hint = file.HintName.Substring(0, file.HintName.Length - ".cs".Length);
                SnapshotAssert.Matches($"{nameof(SnapshotTests)}.{nameof(Baked)}#{hint}", file.SourceText.ToString());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public const string BakedInt8 = """
        using ModelGen;

        namespace Samples.Deploy;

        /// <summary>A trained classifier shipped in int8: Ranker.CreateInt8Predictor() reads only the int8 weights.</summary>
        [Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "ranker.safetensors", Quantize = QuantizationMode.Dynamic)]
        [Input(5)]
        [Dense(6)]
        [BatchNorm]
        [Activation(Activation.Relu)]
        [Dense(4, Activation.Tanh)]
        [LayerNorm]
        [Dense(3)]
        public partial class Ranker;
        """;

    /// <summary>
    /// The model quantized at build time: its int8 file (the float weights' file and the model's own are the other two);
    /// the weights are the model saved from seed 5 with its running statistics 0.5.
    /// </summary>
    [Fact]
    public void Baked_int8_weights_match_snapshot()
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-snapshot-").FullName;
        try
        {
            var path = Path.Combine(directory, "ranker.safetensors");
            var unbaked = BakedInt8.Replace(", Weights = \"ranker.safetensors\", Quantize = QuantizationMode.Dynamic", string.Empty, StringComparison.Ordinal);
            var source = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(unbaked).GetType("Samples.Deploy.Ranker")!, 5)!;
            source.State.Fill(0.5f);
            ModelGen.Serialization.SafeTensors.Save(source, path);

            var (result, output) = GeneratorHarness.Run([path], BakedInt8);

            Assert.Empty(result.Diagnostics);
            Assert.Empty(GeneratorHarness.WarningsInGeneratedCode(output));
            var generated = GeneratorHarness.GeneratedSources(result);
            Assert.Equal(["Samples.Deploy.Ranker.Int8.g.cs", "Samples.Deploy.Ranker.Weights.g.cs", "Samples.Deploy.Ranker.g.cs"], generated.Select(g => g.HintName));
            var int8 = generated.Single(g => g.HintName == "Samples.Deploy.Ranker.Int8.g.cs");
            SnapshotAssert.Matches($"{nameof(SnapshotTests)}.{nameof(BakedInt8)}#Samples.Deploy.Ranker.Int8.g", int8.SourceText.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("[Model] [Input(2)] [Dense(3, Activation.Relu)] [Dense(1)] public partial class GlobalModel;", "GlobalModel.g.cs")]
    [InlineData("namespace A.B { public partial record Outer { public partial class Mid { [Model] [Input(2)] [Dense(1)] public sealed partial record Inner; } } }", "A.B.Outer.Mid.Inner.g.cs")]
    public void Models_in_any_namespace_or_nesting_compile(string declaration, string hintName)
    {
        var (result, output) = GeneratorHarness.Run("using ModelGen;\n" + declaration);

        Assert.Empty(result.Diagnostics);
        Assert.Empty(GeneratorHarness.WarningsInGeneratedCode(output));
        Assert.Equal(hintName, Assert.Single(GeneratorHarness.GeneratedSources(result)).HintName);
    }

    [Fact]
    public void Same_input_gives_byte_identical_output()
    {
        var first = GeneratorHarness.GeneratedSources(GeneratorHarness.Run(Mlp).Result).Single().SourceText.ToString();
        var second = GeneratorHarness.GeneratedSources(GeneratorHarness.Run(Mlp).Result).Single().SourceText.ToString();

        Assert.Equal(first, second);
    }

    [Fact]
    public void Generated_file_has_the_header_users_expect()
    {
        var text = GeneratorHarness.GeneratedSources(GeneratorHarness.Run(Mlp).Result).Single().SourceText.ToString();

        Assert.StartsWith("// <auto-generated/>\n#nullable enable\n", text);
        Assert.DoesNotContain("\r", text);
        Assert.Contains("[global::System.CodeDom.Compiler.GeneratedCode(\"ModelGen.Generator\"", text);
    }
}
