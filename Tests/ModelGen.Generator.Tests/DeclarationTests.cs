using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Declarations at the edges of what C# allows: keyword and Unicode names, names that differ only by case, models
/// nested in types with such names, <c>[Model]</c> twice. Each must either compile into a working model or get an MG
/// diagnostic; the generator never throws.
/// </summary>
public class DeclarationTests
{
    [Fact]
    public void A_model_in_a_namespace_with_a_keyword_name_compiles()
    {
        var generated = AssertCompiles("namespace @namespace; [Model] [Input(2)] [Dense(8, Activation.Sigmoid)] public partial class Model;");

        Assert.Equal(["namespace.Model.g.cs"], generated);
    }

    [Theory]
    [InlineData("class", "@class")]
    [InlineData("int", "@int")]
    [InlineData("record", "@record")]
    [InlineData("partial", "@partial")]
    [InlineData("async", "async")]
    public void A_model_with_a_keyword_name_compiles(string name, string written)
    {
        var generated = AssertCompiles($"namespace N; [Model] [Input(2)] [Dense(1)] public partial class {written}; static class Use {{ static {written} Make() => new {written}(seed: 1); }}");

        Assert.Equal([$"N.{name}.g.cs"], generated);
    }

    [Fact]
    public void A_model_nested_in_types_with_keyword_and_unicode_names_compiles()
    {
        var generated = AssertCompiles(
            "namespace @event.Ünïcode; public partial class @struct { internal partial record Ζώο { [Model] [Input(3)] [Dense(2)] public partial class Модель; } }");

        Assert.Equal(["event._dcn_efcode.struct._396_3ce_3bf.Модель.g.cs".Replace("Модель", "_41c_43e_434_435_43b_44c", StringComparison.Ordinal)], generated);
    }

    [Fact]
    public void Identifiers_written_with_unicode_escapes_compile()
    {
        AssertCompiles("namespace N; [Model] [Input(2)] [Dense(1)] public partial class \\u004Det;");
    }

    [Fact]
    public void Two_models_whose_names_differ_only_by_case_get_distinct_files()
    {
        var generated = AssertCompiles(
            "namespace N; [Model] [Input(2)] [Dense(1)] public partial class Net226; [Model] [Input(3)] [Dense(1)] public partial class NET226; [Model] [Input(4)] [Dense(1)] public partial class Other;");

        Assert.Equal(3, generated.Length);
        Assert.Equal(3, generated.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("N.Other.g.cs", generated); // a name that collides with nothing keeps its plain file name
        Assert.All(generated.Where(g => g != "N.Other.g.cs"), g => Assert.Matches(@"^N\.(Net226|NET226)\.[0-9a-f]{8}\.g\.cs$", g));
    }

    [Fact]
    public void Names_that_collide_only_once_made_file_safe_get_distinct_files()
    {
        var generated = AssertCompiles(
            "namespace N; [Model] [Input(2)] [Dense(1)] public partial class Modè; [Model] [Input(2)] [Dense(1)] public partial class Mod_e8;");

        Assert.Equal(2, generated.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void Model_on_two_partial_declarations_generates_once_and_leaves_the_error_to_the_compiler()
    {
        var source = "using ModelGen; namespace N; [Model] [Input(2)] [Dense(1)] public partial class Twice; [Model] public partial class Twice;";
        var (result, output) = GeneratorHarness.Run(source);

        Assert.Null(result.Results.Single().Exception);
        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "CS8785" or "MG0999");
        Assert.Equal(["N.Twice.g.cs"], result.Results.Single().GeneratedSources.Select(s => s.HintName));
        Assert.Contains(output.GetDiagnostics(), d => d.Id == "CS0579"); // duplicate attribute: the user's own error
        Assert.DoesNotContain(GeneratorHarness.WarningsInGeneratedCode(output), d => d.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void A_model_with_errors_gets_stand_ins_under_a_name_of_its_own()
    {
        // A broken model still gets a file (its stand-ins), so two names that differ only by case keep distinct files.
        var (result, _) = GeneratorHarness.Run(
            "using ModelGen; namespace N; [Model] [Input(2)] [Dense(1)] public partial class Net; [Model] [Input(0)] [Dense(1)] public partial class NET;");

        var files = result.Results.Single().GeneratedSources;
        Assert.Equal(2, files.Select(f => f.HintName).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Single(files, f => f.SourceText.ToString().Contains("every member throws", StringComparison.Ordinal));
    }

    [Fact]
    public void The_uses_of_a_model_with_errors_add_no_compile_errors()
    {
        // Without stand-ins each of these uses would add a C# error (CS1729, CS1061, CS0117 …) after the MG error.
        const string source = """
            using ModelGen;
            namespace N;
            [Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(4)] [Dense(0)] public partial class Broken;
            public static class Use
            {
                public static float Run()
                {
                    var model = new Broken(seed: 1);
                    var output = new float[Broken.OutputSize];
                    model.Predict(new float[Broken.InputSize], output);
                    model.Save("broken.safetensors");
                    model.ExportOnnx("broken.onnx");
                    var again = Broken.Load("broken.safetensors");
                    model.Fit(new Dataset(new float[4], 4, new float[1], 1), new FitOptions());
                    return again.Parameters[0] + model.TrainStep(new float[4], new float[1]);
                }
            }
            """;
        var (result, output) = GeneratorHarness.Run(source);

        Assert.Equal(["MG0003"], result.Diagnostics.Select(d => d.Id));
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    /// <summary>Runs the generator on <paramref name="declaration"/>; asserts no diagnostic at all and that everything compiles; returns the hint names.</summary>
    private static string[] AssertCompiles(string declaration)
    {
        var (result, output) = GeneratorHarness.Run("using ModelGen;\n" + declaration);

        Assert.Null(result.Results.Single().Exception);
        Assert.Empty(result.Diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return result.Results.Single().GeneratedSources.Select(s => s.HintName).OrderBy(h => h, StringComparer.Ordinal).ToArray();
    }
}
