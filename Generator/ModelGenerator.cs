using System;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator;

/// <summary>
/// Compiles every <c>[Model]</c> class into its forward, backward and training code. This file is the pipeline
/// only: <see cref="Parser"/> reads the declaration, <see cref="ShapeChecker"/> checks it and infers shapes,
/// <see cref="Planner"/> lays it out, <see cref="Emitter"/> writes it.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModelGenerator : IIncrementalGenerator
{
    /// <summary>Step names, for incremental-caching tests.</summary>
    public static class TrackingNames
    {
        public const string Parse = nameof(Parse);
        public const string Check = nameof(Check);
        public const string Plan = nameof(Plan);
        public const string WeightsFiles = nameof(WeightsFiles);
        public const string Bake = nameof(Bake);
    }

    private const string ModelAttributeName = "ModelGen.ModelAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var checkedModels = context.SyntaxProvider
            .ForAttributeWithMetadataName(ModelAttributeName, static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax, ParseSafely)
            .WithTrackingName(TrackingNames.Parse)
            .Select(static (parsed, _) => CheckSafely(parsed))
            .WithTrackingName(TrackingNames.Check);

        // The .safetensors files among AdditionalFiles, read once each and sorted, for models that bake weights in.
        var weightsFiles = context.AdditionalTextsProvider
            .Where(static text => WeightsFile.IsWeightsFile(text.Path))
            .Select(static (text, cancellationToken) => WeightsFile.Read(text.Path, cancellationToken))
            .Collect()
            .Select(static (files, _) => files.OrderBy(f => f.Path, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.WeightsFiles);

        // Diagnostics and code travel separately, so a changed message never re-emits unchanged code.
        // Reporting pairs them with the compilation only to point each one back into its syntax tree, so that the
        // IDE underlines it; that pairing costs a lookup per diagnostic and never touches the steps above.
        var diagnostics = checkedModels
            .Combine(weightsFiles)
            .Select(static (pair, _) => WithBakeDiagnostics(pair.Left, pair.Right))
            .Combine(context.CompilationProvider);
        context.RegisterSourceOutput(diagnostics, static (spc, pair) =>
        {
            foreach (var diagnostic in pair.Left)
            {
                spc.ReportDiagnostic(diagnostic.ToDiagnostic(pair.Right));
            }
        });

        var plans = checkedModels
            .Where(static result => result.Value is not null)
            .Select(static (result, _) => PlanSafely(result.Value!))
            .WithTrackingName(TrackingNames.Plan)
            .Combine(weightsFiles)
            .Select(static (pair, _) => BakeSafely(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.Bake);
        context.RegisterSourceOutput(plans, static (spc, baking) =>
        {
            var (planned, baked) = (baking.Planned, baking.Weights);
            if (planned.Value is null)
            {
                foreach (var diagnostic in planned.Diagnostics)
                {
                    spc.ReportDiagnostic(Diagnostic.Create(diagnostic.Descriptor, null, [.. diagnostic.Arguments]));
                }

                return;
            }

            string source;
            string? weightsSource;
            try
            {
                source = Emitter.Emit(planned.Value, baked);
                weightsSource = baked is null ? null : WeightsEmitter.Emit(planned.Value, baked);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, null, planned.Value.Type.Name, "emit: " + exception.Message));
                return;
            }

            spc.AddSource(planned.Value.Type.HintName, source);
            if (weightsSource is not null)
            {
                spc.AddSource(WeightsEmitter.HintName(planned.Value), weightsSource);
            }
        });
    }

    /// <summary>A planned model and, when it declares a weights file that fits, the weights to bake in.</summary>
    internal sealed record Baking(StageResult<ModelPlan> Planned, BakedWeights? Weights);

    /// <summary>
    /// Bakes a planned model's declared weights. A file that does not fit gives no weights here; the model is still
    /// emitted (so the user's code does not fill with follow-on errors) and the diagnostics branch reports why.
    /// </summary>
    private static Baking BakeSafely(StageResult<ModelPlan> planned, EquatableArray<WeightsFile> files)
    {
        if (planned.Value?.Weights is null)
        {
            return new Baking(planned, null);
        }

        try
        {
            return new Baking(planned, Baker.Bake(planned.Value, files));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, null, planned.Value.Type.Name, "bake: " + exception.Message);
            return new Baking(new StageResult<ModelPlan>(null, new[] { diagnostic }.ToEquatableArray()), null);
        }
    }

    /// <summary>A checked model's diagnostics, plus, when it declares a weights file, any reason the file cannot be baked, at the <c>Weights</c> argument.</summary>
    private static EquatableArray<DiagnosticInfo> WithBakeDiagnostics(StageResult<CheckedModel> result, EquatableArray<WeightsFile> files)
    {
        if (result.Value?.Weights is null)
        {
            return result.Diagnostics;
        }

        try
        {
            var problem = Baker.Check(Planner.Plan(result.Value), result.Value.WeightsLocation, files);
            return problem is null ? result.Diagnostics : result.Diagnostics.Concat(new[] { problem }).ToEquatableArray();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The emit branch reports the same failure as MG0999.
            return result.Diagnostics;
        }
    }

    /// <summary>Checks one parsed model; an unexpected exception becomes MG0999 on the model, like <see cref="ParseSafely"/>.</summary>
    internal static StageResult<CheckedModel> CheckSafely(StageResult<ModelSpec> parsed)
    {
        try
        {
            return ShapeChecker.Check(parsed);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, parsed.Value?.Location, parsed.Value?.Type.Name ?? "?", "check: " + exception.Message);
            return new StageResult<CheckedModel>(null, new[] { diagnostic }.ToEquatableArray());
        }
    }

    /// <summary>Plans one checked model; an unexpected exception becomes MG0999 (reported where the code would be emitted).</summary>
    private static StageResult<ModelPlan> PlanSafely(CheckedModel model)
    {
        try
        {
            return new StageResult<ModelPlan>(Planner.Plan(model), EquatableArray<DiagnosticInfo>.Empty);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, null, model.Type.Name, "plan: " + exception.Message);
            return new StageResult<ModelPlan>(null, new[] { diagnostic }.ToEquatableArray());
        }
    }

    /// <summary>
    /// Parses one model. An exception here would surface only as warning CS8785 and silently drop the model, so any
    /// failure becomes an error on the model itself.
    /// </summary>
    private static StageResult<ModelSpec> ParseSafely(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        try
        {
            return Parser.Parse(context, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var location = LocationInfo.From(context.TargetNode.GetLocation());
            var diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, location, context.TargetSymbol.Name, exception.Message);
            return new StageResult<ModelSpec>(null, new[] { diagnostic }.ToEquatableArray());
        }
    }
}
