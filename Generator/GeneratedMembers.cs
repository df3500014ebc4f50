using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Finds what in the user's class clashes with the code ModelGen writes into it: a member with the name of a
/// generated one (for methods and constructors: the same parameter types), or a class named like one of its generated
/// members. The generated members are read from the generated text itself, so this list can never fall behind the
/// emitter.
/// </summary>
internal static class GeneratedMembers
{
    /// <summary>The clashes, in the order the user's members are declared; the class name's clash, if any, last.</summary>
    /// <param name="type">The model, with the members the user declared.</param>
    /// <param name="generatedSources">The generated files that declare members on it.</param>
    /// <param name="otherNames">Further generated members, named only (properties such as the baked weights).</param>
    public static List<(int? MemberIndex, string Generated)> Clashes(TypeSpec type, IEnumerable<string> generatedSources, IEnumerable<string> otherNames)
    {
        var generated = generatedSources.SelectMany(source => Declared(type, source))
            .Concat(otherNames.Select(name => (Name: name, Parameters: (string?)null, Display: "property " + name)))
            .ToList();
        var clashes = new List<(int?, string)>();
        for (var i = 0; i < type.Members.Count; i++)
        {
            var member = type.Members[i];
            foreach (var (name, parameters, display) in generated)
            {
                // Methods overload: only the same parameter types clash. Anything else clashes by name alone.
                if (name == member.Name && (parameters is null || member.Parameters is null || parameters == Normalize(member.Parameters)))
                {
                    clashes.Add((i, display));
                    break;
                }
            }
        }

        var namedLikeClass = generated.FirstOrDefault(g => g.Name == type.Name);
        if (namedLikeClass.Name is not null)
        {
            clashes.Add((null, namedLikeClass.Display));
        }

        return clashes;
    }

    /// <summary>The members the generated <paramref name="source"/> declares on the model class.</summary>
    private static IEnumerable<(string Name, string? Parameters, string Display)> Declared(TypeSpec type, string source)
    {
        var root = CSharpSyntaxTree.ParseText(source).GetRoot();
        var model = root.DescendantNodes().OfType<TypeDeclarationSyntax>()
            .First(t => t.Identifier.ValueText == type.Name && t.Ancestors().OfType<TypeDeclarationSyntax>().Count() == type.ContainingTypes.Count);
        foreach (var member in model.Members)
        {
            switch (member)
            {
                case FieldDeclarationSyntax field:
                    foreach (var variable in field.Declaration.Variables)
                    {
                        yield return (variable.Identifier.ValueText, null, "field " + variable.Identifier.ValueText);
                    }

                    break;
                case PropertyDeclarationSyntax property:
                    var propertyName = Qualified(property.ExplicitInterfaceSpecifier, property.Identifier);
                    yield return (propertyName, null, "property " + propertyName);
                    break;
                case MethodDeclarationSyntax method:
                    var methodName = Qualified(method.ExplicitInterfaceSpecifier, method.Identifier) +
                        (method.Arity > 0 ? "`" + method.Arity.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
                    yield return (methodName, Parameters(method.ParameterList), "method " + methodName + method.ParameterList);
                    break;
                case ConstructorDeclarationSyntax constructor:
                    yield return (".ctor", Parameters(constructor.ParameterList), "constructor " + type.Name + constructor.ParameterList);
                    break;
                case BaseTypeDeclarationSyntax nested:
                    yield return (nested.Identifier.ValueText, null, "type " + nested.Identifier.ValueText);
                    break;
            }
        }
    }

    private static string Qualified(ExplicitInterfaceSpecifierSyntax? specifier, SyntaxToken identifier) =>
        specifier is null ? identifier.ValueText : Normalize(specifier.Name.ToString()) + "." + identifier.ValueText;

    private static string Parameters(ParameterListSyntax list) =>
        Normalize(string.Join(", ", list.Parameters.Select(p =>
            (p.Modifiers.Any(m => m.IsKind(SyntaxKind.RefKeyword) || m.IsKind(SyntaxKind.OutKeyword) || m.IsKind(SyntaxKind.InKeyword)) ? "ref " : string.Empty) + p.Type)));

    /// <summary>Type text without white space or nullable marks, so that the parser's and the emitter's spellings compare.</summary>
    private static string Normalize(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!char.IsWhiteSpace(c) && c != '?')
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }
}
