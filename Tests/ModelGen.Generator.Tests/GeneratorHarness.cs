extern alias generator;

using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using generator::ModelGen.Generator;

namespace ModelGen.Generator.Tests;

/// <summary>Runs the generator on source text, offline, against the .NET 10 reference assemblies and the ModelGen runtime.</summary>
internal static class GeneratorHarness
{
    // Documentation comments are parsed and checked as in a project with GenerateDocumentationFile: generated code
    // must not add CS1573-style warnings to its users' builds.
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    private static readonly ImmutableArray<MetadataReference> References =
    [
        .. Net100.References.All,
        MetadataReference.CreateFromFile(typeof(ModelAttribute).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(ITrainableModel).Assembly.Location),
    ];

    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create(
            "TestModels" + Guid.NewGuid().ToString("N"),
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(bool trackSteps = false, IEnumerable<AdditionalText>? additionalFiles = null) =>
        CSharpGeneratorDriver.Create(
            [new ModelGenerator().AsSourceGenerator()],
            additionalTexts: additionalFiles,
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator; returns its result and the compilation with the generated sources added.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(params string[] sources) => Run([], sources);

    /// <summary>Runs the generator with <paramref name="additionalFiles"/> (paths of files on disk) as the project's AdditionalFiles.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(IEnumerable<string> additionalFiles, params string[] sources)
    {
        var driver = CreateDriver(additionalFiles: additionalFiles.Select(path => (AdditionalText)new FileOnDisk(path)))
            .RunGeneratorsAndUpdateCompilation(Compile(sources), out var output, out _);
        return (driver.GetRunResult(), output);
    }

    /// <summary>Generates, compiles and loads the models in <paramref name="source"/>; fails on any diagnostic.</summary>
    public static Assembly BuildAndLoad(string source, params string[] additionalFiles)
    {
        var (result, output) = Run(additionalFiles, source);
        var problems = result.Diagnostics.Concat(output.GetDiagnostics()).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("The models did not compile:\n" + string.Join("\n", problems));
        }

        using var image = new MemoryStream();
        var emit = output.Emit(image);
        if (!emit.Success)
        {
            throw new InvalidOperationException("Emit failed:\n" + string.Join("\n", emit.Diagnostics));
        }

        return Assembly.Load(image.ToArray());
    }

    /// <summary>The generated sources, in hint-name order.</summary>
    public static IReadOnlyList<GeneratedSourceResult> GeneratedSources(GeneratorDriverRunResult result) =>
        result.Results.SelectMany(r => r.GeneratedSources).OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();

    /// <summary>
    /// Warnings and errors located in generated files (the test's own sources, e.g. undocumented public test types,
    /// are the user's business), plus any without a location.
    /// </summary>
    public static System.Collections.Generic.IEnumerable<Diagnostic> WarningsInGeneratedCode(Compilation output) =>
        output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning && !IsUserSource(d.Location.SourceTree));

    /// <summary>The test's own sources are named Model0.cs, Model1.cs …; generated ones live under the generator's folder.</summary>
    private static bool IsUserSource(SyntaxTree? tree) =>
        tree is not null && !tree.FilePath.Contains('/', StringComparison.Ordinal) && tree.FilePath.StartsWith("Model", StringComparison.Ordinal);

    /// <summary>
    /// An AdditionalFiles item as the compiler passes one: a path, and text decoded from it. ModelGen reads weights
    /// from the path (the compiler's text decoding loses binary data), so the text here is never consulted.
    /// </summary>
    internal sealed class FileOnDisk(string path) : AdditionalText
    {
        public override string Path => path;

        public override Microsoft.CodeAnalysis.Text.SourceText? GetText(System.Threading.CancellationToken cancellationToken = default) => null;
    }
}
