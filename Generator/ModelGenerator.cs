using System;
using System.Collections.Generic;
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
        public const string ModelNames = nameof(ModelNames);
    }

    private const string AttributeNamespace = "ModelGen";
    private const string ModelAttributeName = AttributeNamespace + ".ModelAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Layer attributes on a class without [Model] would be ignored without a word: MG0037, once per class.
        foreach (var attribute in Parser.LayerAttributes)
        {
            var forgotten = context.SyntaxProvider
                .ForAttributeWithMetadataName(AttributeNamespace + "." + attribute, static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax, Parser.LayersWithoutModel)
                .Where(static diagnostic => diagnostic is not null)
                .Combine(context.CompilationProvider);
            context.RegisterSourceOutput(forgotten, static (spc, pair) => spc.ReportDiagnostic(pair.Left!.ToDiagnostic(pair.Right)));
        }

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
            .Select(static (pair, _) => WithLateDiagnostics(pair.Left, pair.Right))
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

        // Hint names must differ even ignoring case, so each model's depends on the names of all the others: a
        // sorted list of names, which stays equal (and cached) while models change anything but their names.
        // A model whose network has errors gets stand-in members instead (see StandInEmitter).
        var standIns = checkedModels
            .Where(static result => result.Value is null && result.StandInType is not null)
            .Select(static (result, _) => result.StandInType!);
        var modelNames = plans
            .Select(static (baking, _) => baking.Planned.Value?.Type.FullName)
            .Collect()
            .Combine(standIns.Select(static (type, _) => type.FullName).Collect())
            .Select(static (names, _) => names.Left.Concat(names.Right).Where(n => n is not null).Select(n => n!).OrderBy(n => n, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.ModelNames);

        context.RegisterSourceOutput(standIns.Combine(modelNames), static (spc, pair) =>
        {
            var (type, names) = (pair.Left, pair.Right);
            if (IsDeclaredTwice(type, names))
            {
                return;
            }

            var source = StandInEmitter.Emit(type);
            if (GeneratedMembers.Clashes(type, [source], []).Count == 0)
            {
                spc.AddSource(Identifiers.HintName(type.FullName, names) + ".g.cs", source);
            }
        });

        context.RegisterSourceOutput(plans.Combine(modelNames), static (spc, pair) =>
        {
            var ((planned, baked, quantized), names) = (pair.Left, pair.Right);
            if (planned.Value is null)
            {
                foreach (var diagnostic in planned.Diagnostics)
                {
                    spc.ReportDiagnostic(Diagnostic.Create(diagnostic.Descriptor, null, [.. diagnostic.Arguments]));
                }

                return;
            }

            var plan = planned.Value;
            if (IsDeclaredTwice(plan.Type, names))
            {
                return;
            }

            string source;
            string? weightsSource;
            string? int8Source;
            try
            {
                source = Emitter.Emit(plan, baked);
                weightsSource = baked is null ? null : WeightsEmitter.Emit(plan, baked);
                int8Source = quantized is null ? null : Int8Emitter.Emit(plan, quantized);
                if (GeneratedMembers.Clashes(plan.Type, [source], BakedMemberNames(plan)).Count > 0)
                {
                    return; // MG0030/MG0031, reported by the diagnostics branch: the code would not compile
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, null, plan.Type.Name, "emit: " + exception.Message));
                return;
            }

            var hintName = Identifiers.HintName(plan.Type.FullName, names);
            spc.AddSource(hintName + ".g.cs", source);
            if (weightsSource is not null)
            {
                spc.AddSource(hintName + ".Weights.g.cs", weightsSource);
            }

            if (int8Source is not null)
            {
                spc.AddSource(hintName + ".Int8.g.cs", int8Source);
            }
        });
    }

    /// <summary>
    /// Whether two models share this exact full name: two types declared with one name (a class and a record, say),
    /// which is the compiler's CS0101. Neither gets code; there would be no telling their files apart.
    /// </summary>
    private static bool IsDeclaredTwice(TypeSpec type, EquatableArray<string> names) =>
        names.Count(n => n == type.FullName) > 1;

    /// <summary>
    /// A planned model and, when it declares a weights file that fits, the weights to bake in, and their int8 form when
    /// it asks for build-time quantization and can have it.
    /// </summary>
    internal sealed record Baking(StageResult<ModelPlan> Planned, BakedWeights? Weights, QuantizedModel? Quantized = null);

    /// <summary>
    /// Bakes a planned model's declared weights, and quantizes them if asked. A file that does not fit gives no weights
    /// here, and a model that cannot be quantized no int8 weights; the model is still emitted (so the user's code does
    /// not fill with follow-on errors) and the diagnostics branch reports why.
    /// </summary>
    private static Baking BakeSafely(StageResult<ModelPlan> planned, EquatableArray<WeightsFile> files)
    {
        if (planned.Value?.Weights is null)
        {
            return new Baking(planned, null);
        }

        try
        {
            var plan = planned.Value;
            var baked = Baker.Bake(plan, files);
            var quantized = baked is not null && plan.Quantize != QuantizationMode.None && Quantizer.Problem(plan) is null ? Quantizer.Quantize(plan, baked) : null;
            return new Baking(planned, baked, quantized);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, null, planned.Value.Type.Name, "bake: " + exception.Message);
            return new Baking(new StageResult<ModelPlan>(null, new[] { diagnostic }.ToEquatableArray()), null);
        }
    }

    /// <summary>
    /// A checked model's diagnostics, plus those found only once it is planned and written: a member of the user's that
    /// clashes with a generated one (MG0030, MG0031), and, when it declares a weights file, any reason the file cannot
    /// be baked, at the <c>Weights</c> argument.
    /// </summary>
    private static EquatableArray<DiagnosticInfo> WithLateDiagnostics(StageResult<CheckedModel> result, EquatableArray<WeightsFile> files)
    {
        if (result.Value is not { } model)
        {
            return result.Diagnostics;
        }

        try
        {
            var found = new List<DiagnosticInfo>(result.Diagnostics);
            var plan = Plan(model);
            foreach (var (member, generated) in GeneratedMembers.Clashes(plan.Type, [Emitter.Emit(plan)], BakedMemberNames(plan)))
            {
                found.Add(member is { } index
                    ? DiagnosticInfo.Create(DiagnosticDescriptors.MemberConflictsWithGenerated, model.MemberLocations[index], MemberDisplay(model.Type.Members[index]), model.Type.Name, generated)
                    : DiagnosticInfo.Create(DiagnosticDescriptors.ModelNamedLikeGeneratedMember, model.Location, model.Type.Name));
            }

            if (model.Weights is not null && Baker.Check(plan, model.WeightsLocation, files) is { } problem)
            {
                found.Add(problem);
            }

            if (model.Quantize != QuantizationMode.None)
            {
                if (model.Weights is null)
                {
                    found.Add(DiagnosticInfo.Create(DiagnosticDescriptors.QuantizeWithoutWeights, model.QuantizeLocation, model.Type.Name, model.Quantize.ToString()));
                }
                else if (Quantizer.Problem(plan) is { } reason)
                {
                    found.Add(DiagnosticInfo.Create(DiagnosticDescriptors.CannotQuantize, model.QuantizeLocation, model.Type.Name, reason));
                }
            }

            return found.ToEquatableArray();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The emit branch reports the same failure as MG0999.
            return result.Diagnostics;
        }
    }

    /// <summary>The members the baked-weights files add to the model's class: the float weights', and the int8 weights' when it asks for them.</summary>
    private static string[] BakedMemberNames(ModelPlan plan) =>
        plan.Weights is null ? [] : plan.Quantize == QuantizationMode.None ? WeightsEmitter.MemberNames(plan) : [.. WeightsEmitter.MemberNames(plan), .. Int8Emitter.MemberNames];

    /// <summary>A user's member as a message names it: <c>Predict</c>, or for a constructor the class name.</summary>
    private static string MemberDisplay(MemberSpec member) => member.Name == ".ctor" ? "constructor(" + member.Parameters + ")" : member.Name;

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

    /// <summary>The model's plan, carrying its build-time quantization to the baking step.</summary>
    private static ModelPlan Plan(CheckedModel model) => Planner.Plan(model) with { Quantize = model.Quantize };

    /// <summary>Plans one checked model; an unexpected exception becomes MG0999 (reported where the code would be emitted).</summary>
    private static StageResult<ModelPlan> PlanSafely(CheckedModel model)
    {
        try
        {
            return new StageResult<ModelPlan>(Plan(model), EquatableArray<DiagnosticInfo>.Empty);
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
