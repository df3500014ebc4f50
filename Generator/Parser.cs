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

        // [Model] applies to classes only; on a struct or record struct the compiler already reports CS0592. A
        // declaration still being typed, without its name, has a syntax error and nothing to generate into.
        if (symbol.TypeKind != TypeKind.Class || declaration.Identifier.IsMissing || symbol.Name.Length == 0)
        {
            return new StageResult<ModelSpec>(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        // [Model] twice on one class (on two partial declarations) is the compiler's CS0579; the model is read once,
        // from the first declaration that carries it, so it is generated once.
        if (!IsFirstModelDeclaration(symbol, declaration, cancellationToken))
        {
            return new StageResult<ModelSpec>(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        // The compiler's own error on the declaration (a private top-level class, a modifier twice…) comes first:
        // code generated into a declaration the compiler rejects would only add errors of its own.
        var headerStart = declaration.Modifiers.Count > 0 ? declaration.Modifiers[0].SpanStart : declaration.Keyword.SpanStart;
        var header = Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(headerStart, declaration.Identifier.Span.End);
        if (context.SemanticModel.GetDeclarationDiagnostics(header, cancellationToken).Any(d => d.Severity == DiagnosticSeverity.Error) ||
            declaration.Modifiers.Any(m => m.ContainsDiagnostics))
        {
            return new StageResult<ModelSpec>(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        CheckDeclaration(symbol, declaration, modelLocation, diagnostics);
        CheckNamesInScope(context.SemanticModel, symbol, declaration, modelLocation, diagnostics);
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
        var (quantize, quantizeLocation) = Named(model, modelSyntax, "Quantize", (int)QuantizationMode.None, LocationInfo.From(modelSyntax));
        var layers = ReadLayers(symbol, diagnostics, new List<INamedTypeSymbol> { symbol }, cancellationToken);
        if (layers is null)
        {
            return new StageResult<ModelSpec>(null, diagnostics.ToEquatableArray());
        }

        if (diagnostics.Count > 0)
        {
            return new StageResult<ModelSpec>(null, diagnostics.ToEquatableArray());
        }

        var (members, memberLocations) = ReadMembers(symbol);
        var spec = new ModelSpec(
            ReadType(symbol, declaration, members), loss, lossLocation, huberDelta, huberDeltaLocation, modelLocation, layers.Value, weights, weightsLocation, memberLocations)
        {
            Quantize = (QuantizationMode)quantize,
            QuantizeLocation = quantizeLocation,
        };
        return new StageResult<ModelSpec>(spec, diagnostics.ToEquatableArray());
    }

    /// <summary>Whether <paramref name="declaration"/> is the first declaration of <paramref name="symbol"/> that carries <c>[Model]</c>, in file and source order.</summary>
    private static bool IsFirstModelDeclaration(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, CancellationToken cancellationToken)
    {
        var first = FirstInSource(symbol.GetAttributes().Where(IsModelAttribute), cancellationToken);
        return first is null || first.FirstAncestorOrSelf<TypeDeclarationSyntax>() == declaration;
    }

    /// <summary>Whether <paramref name="attribute"/> is ModelGen's <c>[Model]</c>.</summary>
    private static bool IsModelAttribute(AttributeData attribute) => IsModelGen(attribute, out var name) && name == "ModelAttribute";

    /// <summary>Whether <paramref name="attribute"/> is one of ModelGen's, and its class name.</summary>
    private static bool IsModelGen(AttributeData attribute, out string name)
    {
        name = attribute.AttributeClass?.Name ?? string.Empty;
        return attribute.AttributeClass?.ContainingNamespace?.ToDisplayString() == AttributeNamespace;
    }

    /// <summary>The first of <paramref name="attributes"/> in the source, by file and then position: a fixed order over partial declarations.</summary>
    private static SyntaxNode? FirstInSource(IEnumerable<AttributeData> attributes, CancellationToken cancellationToken) =>
        attributes
            .Select(a => a.ApplicationSyntaxReference?.GetSyntax(cancellationToken))
            .Where(syntax => syntax is not null)
            .OrderBy(syntax => syntax!.SyntaxTree.FilePath, System.StringComparer.Ordinal)
            .ThenBy(syntax => syntax!.SpanStart)
            .FirstOrDefault();

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

        // A file-local type can be completed only in its own file, and the generated members live in another one.
        for (var type = symbol; type is not null; type = type.ContainingType)
        {
            if (type.IsFileLocal)
            {
                var location = type.Equals(symbol, SymbolEqualityComparer.Default) ? modelLocation : LocationInfo.From(type.Locations.FirstOrDefault());
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCannotBeFileLocal, location, symbol.Name, type.Name));
                break;
            }
        }

        // The generated constructors call the base class's parameterless one, and Load creates the model with no
        // initializer for required members.
        if (symbol.BaseType is { SpecialType: not SpecialType.System_Object } baseType &&
            !baseType.InstanceConstructors.Any(c => c.Parameters.All(p => p.IsOptional || p.IsParams) && c.DeclaredAccessibility is not (Accessibility.Private or Accessibility.NotApplicable)))
        {
            var location = declaration.BaseList is { } list ? LocationInfo.From(list.Types[0]) : modelLocation;
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BaseNeedsParameterlessConstructor, location, symbol.Name, baseType.Name));
        }

        foreach (var member in symbol.GetMembers())
        {
            if (member is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true })
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCannotHaveRequiredMembers, LocationInfo.From(member.Locations.FirstOrDefault()) ?? modelLocation, symbol.Name, member.Name));
            }
        }

        // A primary constructor must be called by every other constructor, and the generated ones cannot know its arguments.
        foreach (var reference in symbol.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is TypeDeclarationSyntax { ParameterList: { } parameters })
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelCannotHavePrimaryConstructor, LocationInfo.From(parameters), symbol.Name));
            }
        }
    }

    /// <summary>
    /// The generated code declares its locals with <c>var</c> and names arguments with <c>nameof</c>; both are
    /// contextual keywords only while nothing of that name is in scope. A type named <c>var</c> or a member named
    /// <c>nameof</c> visible inside the class would change what the generated code means.
    /// </summary>
    private static void CheckNamesInScope(
        SemanticModel semanticModel, INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, LocationInfo? modelLocation, List<DiagnosticInfo> diagnostics)
    {
        foreach (var name in new[] { "var", "nameof" })
        {
            var found = semanticModel.LookupSymbols(declaration.Identifier.SpanStart, name: name)
                .Concat(semanticModel.LookupSymbols(declaration.Identifier.SpanStart, container: symbol, name: name))
                .Where(s => name == "nameof" || s is ITypeSymbol)
                .FirstOrDefault();
            if (found is not null)
            {
                var location = LocationInfo.From(found.Locations.FirstOrDefault(l => l.IsInSource)) ?? modelLocation;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NameHidesKeyword, location, name, symbol.Name));
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

    /// <summary>
    /// Reads <c>[Input]</c> and the layer attributes of a model or block in source order, or returns null after a
    /// diagnostic. <paramref name="path"/> holds the model and the blocks being read around this one, outermost first,
    /// so that a block using itself is found.
    /// </summary>
    private static EquatableArray<LayerSpec>? ReadLayers(
        INamedTypeSymbol symbol, List<DiagnosticInfo> diagnostics, List<INamedTypeSymbol> path, CancellationToken cancellationToken)
    {
        var found = new List<(AttributeSyntax Syntax, AttributeData Data)>();
        foreach (var attribute in symbol.GetAttributes())
        {
            if (!IsModelGen(attribute, out var name) || !IsLayerAttribute(name))
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

        var layers = new List<LayerSpec>();
        foreach (var (syntax, data) in found.OrderBy(f => f.Syntax.SpanStart))
        {
            var reader = new Layers.AttributeReader(syntax, data, diagnostics, (type, location) => ReadBlock(type, location, diagnostics, path, cancellationToken));
            if (Layers.LayerKinds.ForAttribute(data.AttributeClass!.Name)!.Read(reader) is not { } layer)
            {
                return null;
            }

            layers.Add(layer);
        }

        return layers.ToEquatableArray();
    }

    /// <summary>The layers of a block named by <c>typeof</c>, or null after a diagnostic at <paramref name="location"/>.</summary>
    private static BlockSpec? ReadBlock(
        INamedTypeSymbol? type, LocationInfo? location, List<DiagnosticInfo> diagnostics, List<INamedTypeSymbol> path, CancellationToken cancellationToken)
    {
        if (type is null || type.TypeKind == TypeKind.Error)
        {
            return null; // typeof of a missing type: the compiler reports it
        }

        if (!type.GetAttributes().Any(a => IsModelGen(a, out var name) && name == "BlockAttribute"))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotABlock, location, type.Name));
            return null;
        }

        if (path.Contains(type, SymbolEqualityComparer.Default))
        {
            var cycle = string.Join(" → ", path.SkipWhile(t => !t.Equals(type, SymbolEqualityComparer.Default)).Select(t => t.Name).Concat(new[] { type.Name }));
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BlockContainsItself, location, type.Name, cycle));
            return null;
        }

        path.Add(type);
        var layers = ReadLayers(type, diagnostics, path, cancellationToken);
        path.RemoveAt(path.Count - 1);
        if (layers is not { } read)
        {
            return null;
        }

        if (read.FirstOrDefault(l => l is InputSpec) is { } input)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InputInBlock, input.Location, type.Name));
            return null;
        }

        if (read.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EmptyBlock, location, type.Name));
            return null;
        }

        return new BlockSpec(type.Name, read, location);
    }

    /// <summary>The attributes that declare a model's input and layers, by class name in the <c>ModelGen</c> namespace.</summary>
    public static string[] LayerAttributes => Layers.LayerKinds.AttributeNames;

    private static bool IsLayerAttribute(string name) => Layers.LayerKinds.ForAttribute(name) is not null;

    /// <summary>
    /// For a class carrying layer attributes, MG0037 on its first one when the class has no <c>[Model]</c> (the layers
    /// would be ignored); null otherwise, and for every attribute but the first, so a class is reported once.
    /// </summary>
    public static DiagnosticInfo? LayersWithoutModel(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var symbol = (INamedTypeSymbol)context.TargetSymbol;
        var attributes = symbol.GetAttributes();
        if (attributes.Any(a => IsModelAttribute(a) || (IsModelGen(a, out var name) && name == "BlockAttribute")))
        {
            return null;
        }

        var first = FirstInSource(attributes.Where(a => IsModelGen(a, out var name) && IsLayerAttribute(name)), cancellationToken);
        return first is not null && context.Attributes.Any(a => a.ApplicationSyntaxReference?.GetSyntax(cancellationToken) == first)
            ? DiagnosticInfo.Create(DiagnosticDescriptors.LayersWithoutModel, LocationInfo.From(first), symbol.Name)
            : null;
    }

    private static TypeSpec ReadType(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, EquatableArray<MemberSpec> members)
    {
        var containing = new List<ContainingTypeSpec>();
        for (var parent = declaration.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
        {
            containing.Insert(0, new ContainingTypeSpec(DeclarationKeyword(parent), parent.Identifier.ValueText));
        }

        var ns = new List<string>();
        for (var n = symbol.ContainingNamespace; n is { IsGlobalNamespace: false }; n = n.ContainingNamespace)
        {
            ns.Insert(0, n.Name);
        }

        return new TypeSpec(ns.ToEquatableArray(), containing.ToEquatableArray(), DeclarationKeyword(declaration), symbol.Name, members);
    }

    /// <summary>The members declared in the user's source, in declaration order, to check against the generated ones.</summary>
    private static (EquatableArray<MemberSpec> Members, EquatableArray<LocationInfo> Locations) ReadMembers(INamedTypeSymbol symbol)
    {
        var members = new List<MemberSpec>();
        var locations = new List<LocationInfo>();
        foreach (var member in symbol.GetMembers())
        {
            if (member.IsImplicitlyDeclared || member is IMethodSymbol { AssociatedSymbol: not null })
            {
                continue; // compiler-made members, and accessors (their property or event is the member)
            }

            if (LocationInfo.From(member.Locations.FirstOrDefault(l => l.IsInSource)) is not { } location)
            {
                continue; // declared in metadata: not the user's source
            }

            switch (member)
            {
                case IMethodSymbol { MethodKind: MethodKind.Constructor } constructor:
                    Add(new MemberSpec(".ctor", ParameterList(constructor.Parameters)), location);
                    break;
                case IMethodSymbol { MethodKind: MethodKind.Ordinary or MethodKind.ExplicitInterfaceImplementation } method:
                    var arity = method.Arity > 0 ? "`" + method.Arity.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty;
                    Add(new MemberSpec(MemberName(method, method.ExplicitInterfaceImplementations.FirstOrDefault()?.ContainingType) + arity, ParameterList(method.Parameters)), location);
                    break;
                case IMethodSymbol:
                    break; // operators, conversions, finalizers, static constructors: ModelGen generates none
                case IPropertySymbol property:
                    Add(new MemberSpec(MemberName(property, property.ExplicitInterfaceImplementations.FirstOrDefault()?.ContainingType), null), location);
                    break;
                case IEventSymbol @event:
                    Add(new MemberSpec(MemberName(@event, @event.ExplicitInterfaceImplementations.FirstOrDefault()?.ContainingType), null), location);
                    break;
                default:
                    Add(new MemberSpec(member.Name, null), location); // fields and nested types
                    break;
            }
        }

        return (members.ToEquatableArray(), locations.ToEquatableArray());

        void Add(MemberSpec member, LocationInfo location)
        {
            members.Add(member);
            locations.Add(location);
        }
    }

    /// <summary>A member's simple name, or for an explicit interface implementation the interface's full name and the member's.</summary>
    private static string MemberName(ISymbol member, INamedTypeSymbol? implemented) =>
        implemented is null
            ? member.Name
            : implemented.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) + "." + member.Name.Substring(member.Name.LastIndexOf('.') + 1);

    /// <summary>Parameter types as generated code spells them (<c>global::System.Span&lt;float&gt;</c>, <c>ref int</c>); <see cref="GeneratedMembers"/> compares them without white space or nullable marks.</summary>
    private static string ParameterList(System.Collections.Immutable.ImmutableArray<IParameterSymbol> parameters) =>
        string.Join(", ", parameters.Select(p =>
            (p.RefKind == RefKind.None ? string.Empty : "ref ") + p.Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)));

    private static string DeclarationKeyword(TypeDeclarationSyntax declaration) => declaration switch
    {
        RecordDeclarationSyntax record => record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
        StructDeclarationSyntax => "struct",
        InterfaceDeclarationSyntax => "interface",
        _ => "class",
    };
}
