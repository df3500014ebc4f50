using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace ModelGen.Generator.Helpers;

/// <summary>Names as generated code and generated file names must spell them.</summary>
internal static class Identifiers
{
    /// <summary>
    /// <paramref name="name"/> as a C# identifier: any keyword gets <c>@</c> (<c>class</c> → <c>@class</c>), contextual
    /// ones too, since <c>record</c> or <c>partial</c> in a member's return type would be read as the keyword.
    /// </summary>
    public static string Escape(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    /// <summary>
    /// The hint name (without <c>.g.cs</c>) of the model <paramref name="fullName"/>, among every model's full name.
    /// Hint names may hold only ASCII letters, digits, <c>_</c> and <c>.</c> here (any other character becomes <c>_</c>
    /// and its code point), and must differ even ignoring case: names that would collide (<c>Net</c> and <c>NET</c>,
    /// <c>Modè</c> and <c>Mod_e8</c>) each get a hash of their exact full name, so every name keeps the same file
    /// whatever the other models are called, as long as it collides with none.
    /// </summary>
    public static string HintName(string fullName, IEnumerable<string> fullNames)
    {
        var safe = FileSafe(fullName);
        var collides = fullNames.Any(other => other != fullName && string.Equals(FileSafe(other), safe, System.StringComparison.OrdinalIgnoreCase));
        return collides ? $"{safe}.{Hash(fullName):x8}" : safe;
    }

    /// <summary><paramref name="name"/> with every character other than ASCII letters, digits, <c>_</c> and <c>.</c> written as <c>_</c> and its hexadecimal code.</summary>
    public static string FileSafe(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '.')
            {
                text.Append(c);
            }
            else
            {
                text.Append('_').Append(((int)c).ToString("x", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    /// <summary>32-bit FNV-1a over the UTF-16 code units: stable across processes and platforms, unlike <c>string.GetHashCode</c>.</summary>
    private static uint Hash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
