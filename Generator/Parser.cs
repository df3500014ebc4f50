using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Stage 1: reads the symbols and attributes of a <c>[Model]</c> class into a <see cref="ModelSpec"/>. It reports only
/// what makes the declaration unreadable as a model (not partial, generic, layers on two declarations); whether the
/// network makes sense is the <see cref="ShapeChecker"/>'s job.
/// </summary>
internal static class Parser
{
    private const string AttributeNamespace = "ModelGen";

    public static StageResult<ModelSpec> Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var symbol = (INamedTypeSymbol)context.TargetSymbol;
        var declaration = (TypeDeclarationSyntax)context.TargetNode;
        var modelLocation = LocationInfo.From(declaration.Identifier.GetLocation());
        var diagnostics = new List<DiagnosticInfo>();

        // [Model] applies to classes only; on a struct or record struct the compiler already reports CS0592.
        if (symbol.TypeKind != TypeKind.Class)
        {
            return new StageResult<ModelSpec>(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        CheckDeclaration(symbol, declaration, modelLocation, diagnostics);
        if (diagnostics.Count > 0)
        {
            return new StageResult<ModelSpec>(null, diagnostics.ToEquatableArray());
        }

        var model = context.Attributes[0];
        var modelSyntax = model.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        var (lossValue, lossLocation) = Named(model, modelSyntax, "Loss", (int)Loss.MeanSquaredError, LocationInfo.From(modelSyntax));
        var loss = (Loss)lossValue;
        var (huberDelta, huberDeltaLocation) = Named(model, modelSyntax, "HuberDelta", 1f, LocationInfo.From(modelSyntax));
        var (weights, weightsLocation) = Named<string?>(model, modelSyntax, "Weights", null, LocationInfo.From(modelSyntax));
        var layers = ReadLayers(symbol, diagnostics, cancellationToken);
        if (layers is null)
        {
            return new StageResult<ModelSpec>(null, diagnostics.ToEquatableArray());
        }

        var spec = new ModelSpec(ReadType(symbol, declaration), loss, lossLocation, huberDelta, huberDeltaLocation, modelLocation, layers.Value, weights, weightsLocation);
        return new StageResult<ModelSpec>(spec, diagnostics.ToEquatableArray());
    }

    private static void CheckDeclaration(
        INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, LocationInfo? modelLocation, List<DiagnosticInfo> diagnostics)
    {
        if (symbol.IsStatic)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCannotBeStatic, modelLocation, symbol.Name));
        }
        else if (symbol.IsAbstract)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCannotBeAbstract, modelLocation, symbol.Name));
        }

        for (var type = symbol; type is not null; type = type.ContainingType)
        {
            if (type.TypeParameters.Length > 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCannotBeGeneric, modelLocation, symbol.Name));
                break;
            }
        }

        if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelMustBePartial, modelLocation, symbol.Name, symbol.Name));
        }

        for (var parent = declaration.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
        {
            if (!parent.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                diagnostics.Add(DiagnosticInfo.Create(
                    DiagnosticDescriptors.ModelMustBePartial, LocationInfo.From(parent.Identifier.GetLocation()), parent.Identifier.Text, symbol.Name));
            }
        }
    }

    /// <summary>
    /// A property set on an attribute (<c>Name = value</c>) when it holds a <typeparamref name="T"/>, with the location
    /// of that argument; else <paramref name="fallback"/> at <paramref name="fallbackLocation"/>.
    /// </summary>
    private static (T Value, LocationInfo? Location) Named<T>(AttributeData data, AttributeSyntax? syntax, string name, T fallback, LocationInfo? fallbackLocation)
    {
        foreach (var argument in data.NamedArguments)
        {
            if (argument.Key == name && argument.Value.Value is T value)
            {
                var argumentSyntax = syntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == name);
                return (value, LocationInfo.From((SyntaxNode?)argumentSyntax ?? syntax));
            }
        }

        return (fallback, fallbackLocation);
    }

    /// <summary>Reads <c>[Input]</c> and the layer attributes in source order, or returns null after a diagnostic.</summary>
    private static EquatableArray<LayerSpec>? ReadLayers(INamedTypeSymbol symbol, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
    {
        var found = new List<(AttributeSyntax Syntax, AttributeData Data)>();
        foreach (var attribute in symbol.GetAttributes())
        {
            var type = attribute.AttributeClass;
            if (type?.ContainingNamespace?.ToDisplayString() != AttributeNamespace || !IsLayerAttribute(type.Name))
            {
                continue;
            }

            // An attribute the compiler could not bind already has a compiler error; a model missing a layer would
            // only add confusing errors on top of it, so nothing is generated.
            if (attribute.AttributeConstructor is null ||
                attribute.ConstructorArguments.Any(a => a.Kind == TypedConstantKind.Error) ||
                attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax syntax)
            {
                return null;
            }

            found.Add((syntax, attribute));
        }

        var declarations = found.Select(f => f.Syntax.FirstAncestorOrSelf<TypeDeclarationSyntax>()).Distinct().ToList();
        if (declarations.Count > 1)
        {
            var second = found.First(f => f.Syntax.FirstAncestorOrSelf<TypeDeclarationSyntax>() == declarations[1]);
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayersOnSeveralDeclarations, LocationInfo.From(second.Syntax), symbol.Name));
            return null;
        }

        return found
            .OrderBy(f => f.Syntax.SpanStart)
            .Select(f => ReadLayer(f.Syntax, f.Data))
            .ToEquatableArray();
    }

    private static bool IsLayerAttribute(string name) =>
        name is "InputAttribute" or "DenseAttribute" or "DropoutAttribute" or "LayerNormAttribute" or "BatchNormAttribute"
            or "Conv2DAttribute" or "MaxPool2DAttribute" or "AvgPool2DAttribute" or "GlobalAvgPool2DAttribute" or "FlattenAttribute";

    private static LayerSpec ReadLayer(AttributeSyntax syntax, AttributeData data)
    {
        var location = LocationInfo.From(syntax);
        var arguments = data.ConstructorArguments;
        switch (data.AttributeClass!.Name)
        {
            case "InputAttribute":
                // params int[]: Roslyn hands over one array constant, whether written as a list or as an array.
                var shape = arguments.Length == 1 && arguments[0].Kind == TypedConstantKind.Array
                    ? arguments[0].Values.Select(v => v.Value is int i ? i : 0)
                    : arguments.Select(v => v.Value is int i ? i : 0);
                return new InputSpec(shape.ToEquatableArray(), location);

            case "BatchNormAttribute":
                var (momentum, momentumLocation) = Named(data, syntax, "Momentum", 0.99f, location);
                var (batchEpsilon, batchEpsilonLocation) = Named(data, syntax, "Epsilon", 1e-3f, location);
                return new BatchNormSpec(momentum, momentumLocation, batchEpsilon, batchEpsilonLocation, location);

            case "LayerNormAttribute":
                var (epsilon, epsilonLocation) = Named(data, syntax, "Epsilon", 1e-5f, location);
                return new LayerNormSpec(epsilon, epsilonLocation, location);

            case "Conv2DAttribute":
                var filters = arguments.Length > 0 && arguments[0].Value is int f ? f : 0;
                var kernel = arguments.Length > 1 && arguments[1].Value is int k ? k : 0;
                var (stride, strideLocation) = Named(data, syntax, "Stride", 1, location);
                var (padding, paddingLocation) = Named(data, syntax, "Padding", (int)Padding.Valid, location);
                var (convActivation, convActivationLocation) = Named(data, syntax, "Activation", (int)Activation.Linear, location);
                var (convInitializer, convInitializerLocation) = Named(data, syntax, "Initializer", (int)Initializer.Auto, location);
                var (convAlpha, convAlphaLocation) = Named(data, syntax, "Alpha", float.NaN, location);
                return new ConvSpec(
                    filters, ArgumentLocation(syntax, 0, "filters") ?? location, kernel, ArgumentLocation(syntax, 1, "kernelSize") ?? location,
                    stride, strideLocation, (Padding)padding, paddingLocation, (Activation)convActivation, convActivationLocation,
                    (Initializer)convInitializer, convInitializerLocation, convAlpha, convAlphaLocation, location);

            case "MaxPool2DAttribute" or "AvgPool2DAttribute":
                var poolSize = arguments.Length > 0 && arguments[0].Value is int size ? size : 0;
                var poolSizeLocation = ArgumentLocation(syntax, 0, "poolSize") ?? location;
                var (poolStride, poolStrideLocation) = Named(data, syntax, "Stride", poolSize, poolSizeLocation);
                return new PoolSpec(poolSize, poolSizeLocation, poolStride, poolStrideLocation, Average: data.AttributeClass.Name == "AvgPool2DAttribute", location);

            case "GlobalAvgPool2DAttribute":
                return new GlobalPoolSpec(location);

            case "FlattenAttribute":
                return new FlattenSpec(location);

            case "DropoutAttribute":
                var rate = arguments.Length > 0 && arguments[0].Value is float r ? r : float.NaN;
                return new DropoutSpec(rate, ArgumentLocation(syntax, 0, "rate") ?? location, location);

            default:
                var units = arguments.Length > 0 && arguments[0].Value is int u ? u : 0;
                var activation = arguments.Length > 1 && arguments[1].Value is int a ? (Activation)a : Activation.Linear;
                var (activationValue, activationLocation) = Named(data, syntax, "Activation", (int)activation, ArgumentLocation(syntax, 1, "activation") ?? location);
                var (initializer, initializerLocation) = Named(data, syntax, "Initializer", (int)Initializer.Auto, location);
                var (alpha, alphaLocation) = Named(data, syntax, "Alpha", float.NaN, location);
                return new DenseSpec(
                    units, ArgumentLocation(syntax, 0, "units") ?? location, (Activation)activationValue, activationLocation, location,
                    (Initializer)initializer, initializerLocation, alpha, alphaLocation);
        }
    }

    /// <summary>The location of a constructor argument, written by position or as <c>name: value</c>.</summary>
    private static LocationInfo? ArgumentLocation(AttributeSyntax syntax, int position, string parameterName)
    {
        var arguments = syntax.ArgumentList?.Arguments ?? default;
        var named = arguments.FirstOrDefault(a => a.NameColon?.Name.Identifier.Text == parameterName);
        if (named is not null)
        {
            return LocationInfo.From(named);
        }

        return position < arguments.Count && arguments[position].NameColon is null && arguments[position].NameEquals is null
            ? LocationInfo.From(arguments[position])
            : null;
    }

    private static TypeSpec ReadType(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration)
    {
        var containing = new List<string>();
        for (var parent = declaration.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
        {
            containing.Insert(0, "partial " + DeclarationKeyword(parent) + " " + parent.Identifier.Text);
        }

        var ns = symbol.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : null;
        return new TypeSpec(ns, containing.ToEquatableArray(), DeclarationKeyword(declaration), symbol.Name);
    }

    private static string DeclarationKeyword(TypeDeclarationSyntax declaration) => declaration switch
    {
        RecordDeclarationSyntax record => record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
        StructDeclarationSyntax => "struct",
        InterfaceDeclarationSyntax => "interface",
        _ => "class",
    };
}
