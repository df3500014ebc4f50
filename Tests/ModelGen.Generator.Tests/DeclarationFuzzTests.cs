using System;
using System.Linq;
using CsCheck;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// The generator on the C# declaration space around a model, rather than on its layers: keyword, contextual-keyword
/// and Unicode names, names that differ only by case, names of generated members, nested and file-local types,
/// user members that clash (or only seem to) with generated ones, primary constructors, partial declarations,
/// null and default arguments, several models in one file. Each case is judged by <see cref="FuzzTests.Judge"/>:
/// no exception, no MG0999, and no compile error that an MG error does not explain.
/// </summary>
public class DeclarationFuzzTests
{
    private static readonly Gen<string> AnyName = Gen.OneOf(
        "Net", "NET", "net", "Mlp", "@class", "@int", "@namespace", "@event", "record", "@record", "async", "@var", "nameof", "dynamic",
        "Модель", "Ζώο", "naïve", "\\u004Det", "Net\\u0032", "_", "__", "M1", "Loss", "Gradients", "Parameters", "Predict", "InputSize",
        "Save", "State", "Forward", "ModelGen", "System", "Model", "Dense1Weights");

    private static readonly Gen<string> Name = Gen.Frequency(
        (3, Gen.OneOf("Net", "NET", "net", "Mlp", "@class", "@int", "@namespace", "@event", "@record", "async", "nameof", "dynamic", "Модель", "Ζώο", "naïve", "\\u004Det", "Net\\u0032", "_", "__", "M1", "ModelGen", "System", "Model")),
        (1, Gen.OneOf("record", "@var", "Loss", "Gradients", "Parameters", "Predict", "InputSize", "Save", "State", "Forward", "Dense1Weights")));

    private static readonly Gen<string> Namespace = Gen.OneOf(
        string.Empty, "namespace N;\n", "namespace @namespace;\n", "namespace Ünï.Cöde;\n", "namespace System.Models;\n", "namespace ModelGen.User;\n",
        "namespace record.@class;\n", "namespace N { ", "namespace A { namespace B { ");

    private static readonly Gen<string> Container = Gen.OneOf(
        string.Empty, string.Empty, string.Empty, string.Empty, string.Empty, string.Empty, "public partial class Outer { ", "public partial class Outer { ", "public partial class @class { ", "internal partial struct Ωuter { ",
        "public partial record Outer { ", "public partial interface IOuter { ", "public static partial class Holder { ", "file partial class Hidden { ",
        "public class Closed { ", "public partial class Outer<T> { ", "public partial record struct Pair { ", "public partial class Outer { public partial class Inner { ");

    private static readonly Gen<string> Modifiers = Gen.Frequency(
        (4, Gen.OneOf("public partial class", "internal partial class", "partial class", "public sealed partial class", "public partial record", "public sealed partial record")),
        (1, Gen.OneOf("file partial class", "public static partial class", "public abstract partial class", "public class", "private partial class", "public partial public class")));

    private static readonly Gen<string> PrimaryConstructor = Gen.Frequency((8, Gen.Const(string.Empty)), (1, Gen.OneOf("()", "(int x)", "(int seed)")));

    private static readonly Gen<string> AnyBaseClass = Gen.OneOf(
        " : System.Exception", " : NeedsWidth", " : HasDefault", " : System.IDisposable", " : ModelGen.ITrainableModel",
        " : System.Collections.Generic.List<int>", " : System.String");

    private static readonly Gen<string> BaseClass = Gen.Frequency((6, Gen.Const(string.Empty)), (1, AnyBaseClass));

    /// <summary>Base classes the declarations may derive from, declared once at the top level of every source.</summary>
    private const string BaseClasses =
        "public class NeedsWidth { public NeedsWidth(int width) { } } public class HasDefault { protected HasDefault(int width = 2) { } }";

    private static readonly Gen<string> AnyMember = Gen.OneOf(
        "public int ParameterCount => 0;", "public float[] Parameters = new float[1];", "public int Gradients { get; set; }",
        "public void Predict(float[] image) { }", "public void Predict(System.ReadOnlySpan<float> input, System.Span<float> output) { }",
        "public void Predict<T>(System.ReadOnlySpan<float> input, System.Span<float> output) { }", "public static {0} Load(string path) => null!;",
        "public static {0} Load(string path, int version) => null!;", "public {0}(int seed) {{ }}", "public {0}() {{ }}", "public {0}(int seed, int width) : this(seed) {{ }}",
        "public {0}(string name) {{ }}", "private class var { }", "static string nameof(object o) => \"\";", "public event System.Action? Save;",
        "public int Dense1Weights;", "private int _parameters;", "public override string ToString() => \"model\";", "public int Width { get; init; }",
        "public class Loss { }", "public enum Kind { A }", "public const int Units = 3;", "int global::ModelGen.ITrainableModel.InputSize => 0;",
        "public void TrainStep() { }", "public required int Width { get; set; }", "public required string Label;", "public float this[int i] => 0f;", "public static implicit operator int({0} m) => 0;", "~{0}() {{ }}");

    private static readonly Gen<string> Member = Gen.Frequency(
        (2, Gen.OneOf(
            "public void Predict(float[] image) { }", "public void Predict<T>(System.ReadOnlySpan<float> input, System.Span<float> output) { }",
            "public static {0} Load(string path, int version) => null!;", "public {0}(int seed, int width) : this(seed) {{ }}", "public {0}(string name) {{ }}",
            "public override string ToString() => \"model\";", "public int Width { get; init; }", "public enum Kind { A }", "public const int Units = 3;",
            "public float this[int i] => 0f;", "public static implicit operator int({0} m) => 0;", "~{0}() {{ }}", "public int Extra2;", "public event System.Action? Trained;")),
        (1, AnyMember));

    private static readonly Gen<string> AnyInput = Gen.OneOf(
        "[Input(4)]", "[Input(2, 6, 6)]", "[Input(null)]", "[Input(default)]", "[Input(shape: null)]", "[Input(new int[] { 3 })]",
        "[Input(new[] { 2, 5 })]", "[Input]", "[Input(default, 3)]", string.Empty);

    private static readonly Gen<string> Input = Gen.Frequency(
        (4, Gen.OneOf("[Input(4)]", "[Input(2, 6, 6)]", "[Input(new int[] { 3 })]", "[Input(new[] { 2, 5 })]", "[Input(shape: 7)]")),
        (1, AnyInput));

    private static readonly Gen<string> AnyLayers = Gen.OneOf(
        "[Dense(3)]", "[Dense(8, Activation.Relu)] [Dense(2)]", "[Dense(default)]", "[Dense(units: 2, activation: default)]", "[Flatten] [Dense(2)]",
        "[Conv2D(2, 3)] [Flatten] [Dense(2)]", "[Dropout(0.5f)] [Dense(1)]", "[Dropout(default)] [Dense(1)]", "[LayerNorm] [Dense(2)]");

    private static readonly Gen<string> Layers = Gen.Frequency(
        (4, Gen.OneOf("[Dense(3)]", "[Dense(8, Activation.Relu)] [Dense(2)]", "[Dropout(0.5f)] [Dense(1)]", "[LayerNorm] [Dense(2)]", "[Dense(units: 2, activation: default)]")),
        (1, AnyLayers));

    private static readonly Gen<string> ModelAttribute = Gen.OneOf(
        "[Model]", "[Model]", "[Model(Loss = Loss.SoftmaxCrossEntropy)]", "[Model(Weights = null)]", "[Model(Weights = default)]", "[Model(Loss = default)]",
        "[ModelGen.Model]", "[global::ModelGen.ModelAttribute]", "[Model, Input(3)]");

    /// <summary>One model: its attributes, declaration, a body with some members, and sometimes a second partial declaration.</summary>
    private static readonly Gen<string> Model = Gen.Select(
        ModelAttribute, Input, Layers, Modifiers, Name, Gen.Select(PrimaryConstructor, BaseClass, (p, b) => p + b), Member.Array[0, 3], Gen.Int[0, 9],
        (model, input, layers, modifiers, name, primary, members, form) =>
        {
            var body = members.Length == 0 && form < 2 ? ";" : " { " + string.Join(" ", members.Select(m => m.Replace("{0}", name).Replace("{{", "{").Replace("}}", "}"))) + " }";
            var declaration = $"{model} {input} {layers}\n{modifiers} {name}{primary}{body}";
            return form switch
            {
                3 => declaration + $"\npartial class {name} {{ public int Extra; }}",                  // a second, plain partial declaration
                4 => declaration + $"\n[Model] partial class {name};",                                  // [Model] twice: the compiler's CS0579
                5 => $"[Dense(1)] partial class {name};\n" + declaration,                               // layers spread over two declarations
                _ => declaration,
            };
        });

    private static readonly Gen<string> Source = Gen.Select(Namespace, Container, Gen.Frequency((3, Model.Array[1, 1]), (1, Model.Array[2, 3])), Gen.Int[0, 19], Gen.Double[0, 1],
        (ns, container, models, cut, where) =>
        {
            var closing = new string('}', Count(ns, '{') + Count(container, '{'));
            var text = $"using ModelGen;\n{ns}{container}\n{string.Join("\n", models)}\n{closing}\n{BaseClasses}\n";
            return cut == 0 ? text[..(int)(where * text.Length)] : text; // one in twenty cut off, as while typing
        });

    [Fact]
    public void Ten_thousand_declarations_compile_or_get_an_MG_error()
    {
        // Case i is drawn from its own fixed seed, so every run judges the same 10,000 sources and a failure names
        // the case that reproduces it.
        var outcomes = new int[3];
        for (var i = 0; i < 10_000; i++)
        {
            var source = Source.Generate(new PCG(stream: 21, seed: (ulong)i), null, out _);
            try
            {
                outcomes[(int)FuzzTests.Judge(source)]++;
            }
            catch (Exception failure)
            {
                throw new Xunit.Sdk.XunitException($"Case {i}:\n{failure.Message}");
            }
        }

        // The cases must reach both verdicts often: models that compile with their generated code (1,051 of the
        // 10,000; most declarations carry at least one deliberate mistake), and MG errors.
        Assert.True(outcomes[(int)FuzzTests.Outcome.Compiled] >= 1_000, $"only {outcomes[(int)FuzzTests.Outcome.Compiled]} cases generated code");
        Assert.True(outcomes[(int)FuzzTests.Outcome.Refused] >= 2_000, $"only {outcomes[(int)FuzzTests.Outcome.Refused]} cases got an MG error");
    }

    [Theory]
    [InlineData("namespace @namespace;\n[Model][Input(2)][Dense(8, Activation.Sigmoid)] public partial class Model;")]
    [InlineData("namespace N;\n[Model][Input(2)][Dense(1)] public partial class Net226;\n[Model][Input(2)][Dense(1)] public partial class NET226;")]
    [InlineData("[Model][Input(2)][Dense(1)] partial class M;\n[Model] partial class M;")]
    [InlineData("[Model][Input(null)][Dense(1)] partial class M;")]
    [InlineData("[Model][Input(default)][Dense(1)] partial class M;")]
    [InlineData("[Model][Input(2)][Dense(1)] public partial class M { public int ParameterCount => 0; }")]
    [InlineData("[Model][Input(2)][Dense(1)] public partial class @class;")]
    [InlineData("[Model][Input(2)][Dense(1)] public partial class Loss;")]
    [InlineData("[Model][Input(2)][Dense(1)] public partial class Net(int x);")]
    [InlineData("[Model][Input(2)][Dense(1)] file partial class Net;")]
    public void The_reported_declarations(string declaration) => _ = FuzzTests.Judge("using ModelGen;\n" + declaration);

    private static int Count(string text, char c) => text.Count(x => x == c);
}
