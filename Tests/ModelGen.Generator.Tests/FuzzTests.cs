using System;
using System.Linq;
using CsCheck;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// The generator on random declarations, most of them wrong: sizes of 0, −1 and int.MaxValue, wrong argument types,
/// missing arguments, undefined enum values, odd containing types, and code cut off as if being typed. Whatever the
/// input, the generator must not throw (no CS8785, no MG0999); and when the user's own code compiles, what it
/// generates must compile too.
/// </summary>
public class FuzzTests
{
    private static readonly Gen<string> Size = Gen.OneOf(
        Gen.Int[1, 40].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.OneOf("0", "-1", "int.MaxValue", "int.MinValue", "\"ten\"", "2.5f", "1 << 20", "100000"));

    private static readonly Gen<string> ActivationArgument = Gen.OneOf(
        Gen.Int[0, 7].Select(i => "Activation." + (Activation)i),
        Gen.OneOf("(Activation)99", "(Activation)(-1)", "1", "Loss.Huber", "null"));

    private static readonly Gen<string> Named = Gen.OneOf(
        string.Empty, ", Alpha = 0.2f", ", Alpha = -1f", ", Alpha = float.NaN", ", Initializer = Initializer.HeNormal",
        ", Initializer = (Initializer)42", ", Activation = Activation.Gelu", ", Units = 3", ", UseBias = false", ", UseBias = default");

    private static readonly Gen<string> Dense = Gen.Select(Size, Gen.Int[0, 2], ActivationArgument, Named, (size, form, activation, named) => form switch
    {
        0 => $"[Dense({size}{named})]",
        1 => $"[Dense({size}, {activation}{named})]",
        _ => "[Dense]",
    });

    private static readonly Gen<string> Dropout = Gen.OneOf("0.2f", "0f", "1f", "-0.5f", "float.NaN", "\"half\"", "0.5", string.Empty)
        .Select(rate => $"[Dropout({rate})]");

    private static readonly Gen<string> Input = Gen.Int[0, 3].SelectMany(rank => Size.Array[rank, rank])
        .Select(dimensions => $"[Input({string.Join(", ", dimensions)})]");

    private static readonly Gen<string> Model = Gen.OneOf(
        "[Model]", "[Model(Loss = Loss.SoftmaxCrossEntropy)]", "[Model(Loss = Loss.BinaryCrossEntropy)]", "[Model(Loss = (Loss)7)]",
        "[Model(Loss = Loss.Huber, HuberDelta = 0f)]", "[Model(Loss = Loss.Huber, HuberDelta = 2f)]", "[Model(Loss = Loss.MeanAbsoluteError)]", "[Model(Loss = 3)]");

    private static readonly Gen<string> Norm = Gen.OneOf(
        "[LayerNorm]", "[LayerNorm(Epsilon = 0f)]", "[LayerNorm(Epsilon = 1e-3f)]", "[BatchNorm]", "[BatchNorm(Momentum = 1f)]",
        "[BatchNorm(Momentum = 0.9f, Epsilon = float.NaN)]", "[BatchNorm(Momentum = 0.5)]");

    private static readonly Gen<string> Padding = Gen.OneOf(string.Empty, ", Padding = Padding.Same", ", Padding = Padding.Valid", ", Padding = (Padding)5", ", Stride = 2", ", Stride = 0", ", Stride = -3");

    private static readonly Gen<string> Window = Gen.Select(Size, Gen.Int[-1, 9], Padding, ActivationArgument, Gen.Int[0, 6], (size, kernel, padding, activation, form) => form switch
    {
        0 => $"[Conv2D({size}, {kernel}{padding})]",
        1 => $"[Conv2D({size}, {kernel}{padding}, Activation = {activation})]",
        2 => $"[MaxPool2D({kernel}{(padding.Contains("Stride") ? padding : string.Empty)})]",
        3 => "[Flatten]",
        4 => $"[AvgPool2D({kernel}{(padding.Contains("Stride") ? padding : string.Empty)})]",
        5 => "[GlobalAvgPool2D]",
        _ => "[Conv2D(4)]",
    });

    /// <summary>
    /// Blocks for <c>[Residual]</c>, declared at the top of every source: sound ones for vectors of 4 and for images,
    /// shape-changing ones, and broken ones (empty, using itself, with [Input], not a block at all).
    /// </summary>
    private const string Blocks =
        "[Block] [Dense(4, Activation.Tanh)] [Dense(4)] internal sealed class Vector4; " +
        "[Block] [Conv2D(2, 3, Padding = Padding.Same)] [BatchNorm] [Activation(Activation.Relu)] internal sealed class Same2; " +
        "[Block] [Conv2D(4, 3, Stride = 2, Padding = Padding.Same)] internal sealed class Down4; " +
        "[Block] [Conv2D(4, 1, Stride = 2)] [BatchNorm] internal sealed class Project4; " +
        "[Block] [LayerNorm] [Residual(typeof(Vector4), Repeat = 2)] [Dropout(0.1f)] internal sealed class Nested; " +
        "[Block] internal sealed class Empty; " +
        "[Block] [Dense(4)] [Residual(typeof(Loop))] internal sealed class Loop; " +
        "[Block] [Input(4)] [Dense(4)] internal sealed class WithInput; " +
        "[Dense(4)] internal sealed class NotBlock;\n";

    private static readonly Gen<string> BlockType = Gen.OneOf(
        "typeof(Vector4)", "typeof(Same2)", "typeof(Down4)", "typeof(Project4)", "typeof(Nested)", "typeof(Empty)", "typeof(Loop)",
        "typeof(WithInput)", "typeof(NotBlock)", "typeof(Missing)", "typeof(int)", "null");

    private static readonly Gen<string> Residual = Gen.Select(BlockType, BlockType, ActivationArgument, Gen.Int[-1, 3], Gen.Int[0, 4], (block, shortcut, activation, repeat, form) => form switch
    {
        0 => $"[Residual({block})]",
        1 => $"[Residual({block}, Shortcut = {shortcut})]",
        2 => $"[Residual({block}, Activation = {activation})]",
        3 => $"[Residual({block}, Repeat = {repeat})]",
        _ => $"[Residual({block}, Shortcut = {shortcut}, Activation = {activation}, Repeat = {repeat})]",
    });

    private static readonly Gen<string> ActivationLayer = ActivationArgument.Select(activation => $"[Activation({activation})]");

    private static readonly Gen<string> SequenceLayer = Gen.Select(Size, Gen.Int[-1, 9], Gen.Int[0, 9], (size, count, form) => form switch
    {
        0 => $"[Embedding({size})]",
        1 => $"[Embedding({size}, Positions = PositionEncoding.None)]",
        2 => $"[Embedding({size}, Positions = (PositionEncoding)7, Initializer = (Initializer)9)]",
        3 => $"[Attention({count})]",
        4 => $"[Attention({count}, Causal = false, Initializer = Initializer.SmallNormal)]",
        5 => "[TiedHead]",
        6 => $"[Lstm({size})]",
        7 => $"[Gru({size}, ReturnSequences = false)]",
        8 => count % 2 == 0 ? $"[Input({size}, Vocabulary = {count})]" : $"[SequencePool((SequencePooling){count % 3})]",
        _ => $"[Input({size}, {count}, Vocabulary = 12)]",
    });

    private static readonly Gen<string> Layer = Gen.Frequency<string>(
        (5, Dense), (2, Dropout), (2, Norm), (2, Input), (4, Window), (3, Residual), (1, ActivationLayer), (4, SequenceLayer));

    private static readonly Gen<string> TypeDeclaration = Gen.OneOf(
        "public partial class M;", "public partial class M { }", "public class M { }", "public static partial class M { }",
        "public partial class M<T> { }", "public abstract partial class M;", "public sealed partial record M;",
        "internal partial class M;", "partial class M { public M(int seed, int other) { } }");

    private static readonly Gen<(string Before, string After)> Container = Gen.OneOf<(string Before, string After)>(
        (string.Empty, string.Empty),
        ("namespace N;\n", string.Empty),
        ("namespace A.B {\n", "\n}"),
        ("public partial class Outer {\n", "\n}"),
        ("public class Outer {\n", "\n}"),
        ("public partial class Outer<T> {\n", "\n}"),
        ("namespace N { public static partial class Outer {\n", "\n} }"));

    private static readonly Gen<string> Source = Gen.Select(
        Model, Layer.Array[0, 6], TypeDeclaration, Container, Gen.Int[0, 9], Gen.Double[0, 1],
        (model, layers, type, container, layout, cut) =>
        {
            // Most declarations start sensibly: a vector, an image or token ids.
            var input = layout < 4 ? "[Input(4)] " : layout < 6 ? "[Input(2, 9, 7)] " : layout < 8 ? "[Input(6, Vocabulary = 12)] [Embedding(8)] " : string.Empty;
            var text = $"using ModelGen;\n{Blocks}{container.Before}{model} {input}{string.Join(" ", layers)}\n{type}{container.After}\n";
            // One in five is cut off somewhere, as while typing.
            return layout == 9 ? text[..(int)(cut * text.Length)] : text;
        });

    /// <summary>
    /// A thousand declarations, each from its own fixed seed so that a run is repeatable; set MODELGEN_FUZZ to a count to
    /// search that many more from fresh random seeds (CsCheck prints the seed of any failure).
    /// </summary>
    [Fact]
    public void A_thousand_random_declarations_never_make_the_generator_throw()
    {
        for (var i = 0; i < 1_000; i++)
        {
            var source = Source.Generate(new PCG(stream: 23, seed: (ulong)i), null, out _);
            try
            {
                CheckOne(source);
            }
            catch (Exception failure)
            {
                throw new Xunit.Sdk.XunitException($"Case {i}:\n{failure.Message}");
            }
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("MODELGEN_FUZZ"), out var more) && more > 0)
        {
            Source.Sample(CheckOne, iter: more, threads: 1);
        }
    }

    /// <summary>A residual connection that fits the input below more often than not, so that both outcomes are common.</summary>
    private static readonly Gen<string> LikelyResidual = Gen.Frequency(
        (2, Gen.OneOf("[Residual(typeof(Vector4))]", "[Residual(typeof(Nested), Repeat = 2, Activation = Activation.Relu)]", "[Residual(typeof(Same2), Activation = Activation.Gelu)]",
            "[Residual(typeof(Down4), Shortcut = typeof(Project4))]", "[Residual(typeof(Same2), Repeat = 3)]")),
        (3, Residual));

    private static readonly Gen<string> ResidualSource = Gen.Select(Gen.OneOf("[Model]", "[Model(Loss = Loss.MeanAbsoluteError)]"), LikelyResidual, Layer.Array[0, 2], Gen.Int[0, 3], (model, residual, layers, input) =>
        $"using ModelGen;\n{Blocks}{model} {(input < 2 ? "[Input(4)]" : "[Input(2, 6, 6)] [Conv2D(2, 3, Padding = Padding.Same)]")} {residual} {string.Join(" ", layers)}\npublic partial class M;\n");

    /// <summary>Declarations with residual connections, each case from its own fixed seed: sound and broken blocks alike.</summary>
    [Fact]
    public void A_thousand_random_residual_networks_never_make_the_generator_throw()
    {
        var outcomes = new int[3];
        for (var i = 0; i < 1_000; i++)
        {
            var source = ResidualSource.Generate(new PCG(stream: 19, seed: (ulong)i), null, out _);
            try
            {
                outcomes[(int)Judge(source)]++;
            }
            catch (Exception failure)
            {
                throw new Xunit.Sdk.XunitException($"Case {i}:\n{failure.Message}");
            }
        }

        // Both sides are reached: residual networks that compile, and ones refused with a diagnostic.
        Assert.True(outcomes[(int)Outcome.Compiled] >= 50, $"only {outcomes[(int)Outcome.Compiled]} compiled");
        Assert.True(outcomes[(int)Outcome.Refused] >= 50, $"only {outcomes[(int)Outcome.Refused]} were refused");
    }

    [Theory]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dense(int.MaxValue)]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model] [Input(100000, 100000)] [Dense(2)]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dense(\"ten\")] [Dropout(\"half\")]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dense(3, Activation.Relu, Alpha = 0.2f)] [Dropout(")]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dropout(0.5f)]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(4)] [Dropout(0.2f)]\npublic abstract partial class M;\n")] // found by the fuzz test: generated `new M()` on an abstract class
    [InlineData("using ModelGen;\n[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(4)] [Activation(Activation.Linear)]\npublic sealed partial record M;\n")] // found by the fuzz test: a model with no parameters at all
    public void Regressions(string source) => CheckOne(source);

    private static void CheckOne(string source) => _ = Judge(source);

    /// <summary>How a judged source ended.</summary>
    internal enum Outcome
    {
        /// <summary>An MG error was reported.</summary>
        Refused,

        /// <summary>Code was generated, and it adds no compile error.</summary>
        Compiled,

        /// <summary>Neither: nothing generated and no MG error (the compiler's own errors say why).</summary>
        NothingGenerated,
    }

    /// <summary>
    /// The verdict on one source: the generator does not throw (no CS8785, no MG0999), and unless it reported an MG
    /// error, compiling with its output adds no error to those the user's own code has.
    /// </summary>
    internal static Outcome Judge(string source)
    {
        var (result, output) = GeneratorHarness.Run(source);
        var run = result.Results.Single();
        Assert.True(run.Exception is null, $"The generator threw on:\n{source}\n{run.Exception}");
        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "CS8785" or "MG0999");
        if (result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error && d.Id.StartsWith("MG", StringComparison.Ordinal)))
        {
            return Outcome.Refused;
        }

        var own = GeneratorHarness.Compile(source).GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(Key).ToHashSet();
        var added = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && !own.Contains(Key(d))).ToList();
        Assert.True(added.Count == 0, $"No MG error, yet the generated code adds compile errors for:\n{source}\n{string.Join("\n", added)}");
        return run.GeneratedSources.Length > 0 ? Outcome.Compiled : Outcome.NothingGenerated;
    }

    /// <summary>
    /// The file and line of an error: on a line where the user's code already has one, the generated members may
    /// change its wording or column (a wrong name in an attribute argument now binds to a generated member), which
    /// adds no error of their own.
    /// </summary>
    private static string Key(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetLineSpan();
        return span.Path + ":" + span.StartLinePosition.Line;
    }
}
