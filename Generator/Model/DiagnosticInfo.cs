using Microsoft.CodeAnalysis;
using ModelGen.Generator.Helpers;

namespace ModelGen.Generator.Model;

/// <summary>
/// A diagnostic waiting to be reported. <see cref="Diagnostic"/> itself holds a <see cref="Location"/> tied to a syntax
/// tree and would defeat caching, so the pipeline carries this equatable form instead.
/// </summary>
internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments)
    {
        var text = new string[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            text[i] = System.Convert.ToString(arguments[i], System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
        }

        return new DiagnosticInfo(descriptor, location, text.ToEquatableArray());
    }

    /// <summary>The diagnostic, located in <paramref name="compilation"/>'s syntax tree when the file is one of its own.</summary>
    public Diagnostic ToDiagnostic(Compilation compilation) =>
        Diagnostic.Create(Descriptor, Location?.ToLocation(compilation), [.. Arguments]);
}
