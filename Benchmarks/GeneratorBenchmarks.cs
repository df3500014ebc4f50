extern alias generator;

using System;
using System.IO;
using System.Linq;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using generator::ModelGen.Generator;

namespace ModelGen.Benchmarks;

/// <summary>
/// What the generator costs inside a build or an IDE, on a 20-layer model: a cold run (a fresh driver, as a command
/// line build does) and an incremental run after an edit elsewhere (as the IDE does on a keystroke). Run:
/// <c>dotnet run -c Release --project Benchmarks -- --filter *GeneratorBenchmarks*</c>.
/// </summary>
[MedianColumn]
[MemoryDiagnoser]
public class GeneratorBenchmarks
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private CSharpCompilation _compilation = null!;
    private CSharpCompilation _edited = null!;
    private GeneratorDriver _warm = null!;

    [GlobalSetup]
    public void Setup()
    {
        // 20 layers: dense layers of varied widths and activations, with dropout between some.
        var layers = new StringBuilder();
        var activations = new[] { "Relu", "Tanh", "Gelu", "LeakyRelu", "Sigmoid", "Silu", "Elu" };
        for (var i = 0; i < 20; i++)
        {
            layers.Append(i % 5 == 4 ? "[Dropout(0.1f)] " : $"[Dense({16 + (i * 7)}, Activation.{activations[i % activations.Length]})] ");
        }

        var model = $"using ModelGen;\nnamespace Bench;\n[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(64)] {layers}[Dense(10)]\npublic partial class Deep;\n";
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            // The generator assembly compiles the attribute enums too: referenced, it would make them ambiguous.
            .Where(path => path.Length > 0 && !path.EndsWith("ModelGen.Generator.dll", StringComparison.Ordinal))
            .Select(path => MetadataReference.CreateFromFile(path));
        _compilation = CSharpCompilation.Create(
            "GeneratorBenchmark",
            [CSharpSyntaxTree.ParseText(model, ParseOptions, path: "Deep.cs"), CSharpSyntaxTree.ParseText("class Other { }", ParseOptions, path: "Other.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        _edited = _compilation.ReplaceSyntaxTree(_compilation.SyntaxTrees[1], CSharpSyntaxTree.ParseText("class Other { int _added; }", ParseOptions, path: "Other.cs"));
        _warm = CreateDriver().RunGenerators(_compilation);
        if (_warm.GetRunResult().GeneratedTrees.Length != 1)
        {
            throw new InvalidOperationException("The benchmark model did not generate: " + string.Join("; ", _warm.GetRunResult().Diagnostics));
        }
    }

    [Benchmark(Description = "cold: new driver, 20-layer model")]
    public GeneratorDriver Cold() => CreateDriver().RunGenerators(_compilation);

    [Benchmark(Description = "incremental: unrelated edit")]
    public GeneratorDriver Incremental() => _warm.RunGenerators(_edited);

    private static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create([new ModelGenerator().AsSourceGenerator()], parseOptions: ParseOptions);
}
