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

    private static readonly Gen<string> Layer = Gen.Frequency<string>((5, Dense), (2, Dropout), (2, Norm), (2, Input), (4, Window));

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
            var input = layout < 5 ? "[Input(4)] " : layout < 8 ? "[Input(2, 9, 7)] " : string.Empty; // most declarations start sensibly
            var text = $"using ModelGen;\n{container.Before}{model} {input}{string.Join(" ", layers)}\n{type}{container.After}\n";
            // One in five is cut off somewhere, as while typing.
            return layout == 9 ? text[..(int)(cut * text.Length)] : text;
        });

    [Fact]
    public void A_thousand_random_declarations_never_make_the_generator_throw()
    {
        Source.Sample(CheckOne, iter: 1_000, seed: "0N0XIzNsQ0O2", threads: 1);
    }

    [Theory]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dense(int.MaxValue)]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model] [Input(100000, 100000)] [Dense(2)]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dense(\"ten\")] [Dropout(\"half\")]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dense(3, Activation.Relu, Alpha = 0.2f)] [Dropout(")]
    [InlineData("using ModelGen;\n[Model] [Input(4)] [Dropout(0.5f)]\npublic partial class M;\n")]
    [InlineData("using ModelGen;\n[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(4)] [Dropout(0.2f)]\npublic abstract partial class M;\n")] // found by the fuzz test: generated `new M()` on an abstract class
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
