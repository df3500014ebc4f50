extern alias generator;

using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using generator::ModelGen.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>The pipeline caches: an edit that does not touch a model re-runs nothing for it.</summary>
public class IncrementalTests
{
    private const string Model = """
        using ModelGen;
        [Model] [Input(8)] [Dense(16, Activation.Relu)] [Dense(2)]
        public partial class Cached;
        """;

    [Fact]
    public void Unrelated_edit_leaves_every_step_cached()
    {
        var compilation = GeneratorHarness.Compile(Model, "public class Other { }");
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("public class Other { public int Added; }", GeneratorHarness.ParseOptions, path: "Model1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (var step in new[] { ModelGenerator.TrackingNames.Parse, ModelGenerator.TrackingNames.Check, ModelGenerator.TrackingNames.Plan, ModelGenerator.TrackingNames.ModelNames })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(
                o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"step {step} re-ran: {o.Reason}"));
        }

        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o =>
            Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output re-ran: {o.Reason}"));
    }

    [Theory]
    [InlineData("// a comment at the top of the file\n")]
    [InlineData("/// <summary>Now documented.</summary>\n")]
    public void A_comment_in_the_model_file_does_not_re_emit_the_code(string comment)
    {
        var compilation = GeneratorHarness.Compile(Model);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        // The comment moves every attribute, so the parsed and checked models (which carry locations for
        // diagnostics) change; the plan has no locations and must come out equal, and the source must not be re-added.
        var commented = Model.Replace("[Model]", comment + "[Model]", StringComparison.Ordinal);
        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Single(), CSharpSyntaxTree.ParseText(commented, GeneratorHarness.ParseOptions, path: "Model0.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        var plan = result.TrackedSteps[ModelGenerator.TrackingNames.Plan].SelectMany(s => s.Outputs).Single();
        Assert.True(plan.Reason is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, $"plan: {plan.Reason}");
        var sourceOutputs = result.TrackedOutputSteps["SourceOutput"].SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(sourceOutputs);
        Assert.All(sourceOutputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output re-ran: {o.Reason}"));
    }

    [Fact]
    public void Changing_one_model_leaves_the_other_models_file_alone()
    {
        // Each model's hint name depends on every model's name (to stay unique ignoring case); an edit that renames
        // nothing must leave that list, and so the other model's output, cached.
        const string Second = "using ModelGen; [Model] [Input(3)] [Dense(1)] public partial class Second;";
        var compilation = GeneratorHarness.Compile(Model, Second);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(Model.Replace("Dense(16", "Dense(32", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: "Model0.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        var names = result.TrackedSteps[ModelGenerator.TrackingNames.ModelNames].SelectMany(s => s.Outputs).Single();
        Assert.True(names.Reason is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, $"names: {names.Reason}");
        var reasons = result.TrackedOutputSteps["SourceOutput"].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(1, reasons.Count(r => r is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New));
        Assert.Contains(reasons, r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged);
        Assert.Equal(["Cached.g.cs", "Second.g.cs"], result.GeneratedSources.Select(g => g.HintName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Changing_a_layer_regenerates()
    {
        var compilation = GeneratorHarness.Compile(Model);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Single(),
            CSharpSyntaxTree.ParseText(Model.Replace("Dense(16", "Dense(32", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: "Model0.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        var plan = result.TrackedSteps[ModelGenerator.TrackingNames.Plan].SelectMany(s => s.Outputs).Single();
        Assert.Equal(IncrementalStepRunReason.Modified, plan.Reason);
        Assert.Contains("Dense(32", edited.SyntaxTrees.Single().ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Pipeline_models_hold_no_symbols_syntax_or_compilations()
    {
        var modelTypes = typeof(ModelGenerator).Assembly.GetTypes()
            .Where(t => t.Namespace == "ModelGen.Generator.Model" && !t.IsEnum)
            .ToList();

        Assert.NotEmpty(modelTypes);
        foreach (var type in modelTypes)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                Assert.False(IsForbidden(field.FieldType), $"{type.Name}.{field.Name} holds a {field.FieldType.Name}, which breaks caching.");
            }
        }
    }

    private static bool IsForbidden(Type type) =>
        typeof(ISymbol).IsAssignableFrom(type) ||
        typeof(SyntaxNode).IsAssignableFrom(type) ||
        typeof(Compilation).IsAssignableFrom(type) ||
        typeof(Location).IsAssignableFrom(type) ||
        (type.IsGenericType && type.GetGenericArguments().Any(IsForbidden));

    [Theory]
    [InlineData("")]
    [InlineData(", Quantize = QuantizationMode.Dynamic")]
    public void A_re_saved_weights_file_re_bakes_only_when_its_bytes_change(string quantize)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("modelgen-incremental-").FullName;
        try
        {
            var path = System.IO.Path.Combine(directory, "cached.safetensors");
            var model = (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(Model).GetType("Cached")!, 1)!;
            ModelGen.Serialization.SafeTensors.Save(model, path);
            var baked = Model.Replace("[Model]", $"[Model(Weights = \"cached.safetensors\"{quantize})]", StringComparison.Ordinal);
            var first = new GeneratorHarness.FileOnDisk(path);
            var compilation = GeneratorHarness.Compile(baked);
            var driver = GeneratorHarness.CreateDriver(trackSteps: true, additionalFiles: [first]).RunGenerators(compilation);

            // The IDE hands the generator a new AdditionalText whenever the file is saved, even with the same bytes.
            var same = new GeneratorHarness.FileOnDisk(path);
            driver = driver.ReplaceAdditionalText(first, same).RunGenerators(compilation);
            var unchanged = driver.GetRunResult().Results.Single();
            Assert.All(unchanged.TrackedSteps[ModelGenerator.TrackingNames.Bake].SelectMany(s => s.Outputs), o =>
                Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"bake re-ran: {o.Reason}"));

            model.Parameters[0] += 1f;
            ModelGen.Serialization.SafeTensors.Save(model, path);
            var changed = driver.ReplaceAdditionalText(same, new GeneratorHarness.FileOnDisk(path)).RunGenerators(compilation).GetRunResult().Results.Single();
            var bake = changed.TrackedSteps[ModelGenerator.TrackingNames.Bake].SelectMany(s => s.Outputs).Single();
            Assert.Equal(IncrementalStepRunReason.Modified, bake.Reason);
            Assert.Contains(changed.GeneratedSources, g => g.HintName == "Cached.Weights.g.cs");
            Assert.Equal(quantize.Length > 0, changed.GeneratedSources.Any(g => g.HintName == "Cached.Int8.g.cs"));
        }
        finally
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }
}
