using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Serialization;

/// <summary>
/// Words for a missing tensor: which tensor of a file the model expected instead, so that a file saved under other
/// names (another numbering of the modules, a renamed layer) says so. Linked into the generator, whose baker words its
/// MG0024 the same way.
/// </summary>
internal static class TensorNames
{
    /// <summary>
    /// The file's tensor nearest to the expected one, among those the model does not have: the same shape first, then
    /// the same last part (<c>weight</c>, <c>bias</c>, …), then the nearest module index. Null when there is none.
    /// </summary>
    public static string? Closest(string expected, IReadOnlyList<long> expectedShape, IEnumerable<(string Name, IReadOnlyList<long> Shape)> unmatched)
    {
        var suffix = Suffix(expected);
        var index = Index(expected);
        var best = unmatched
            .OrderByDescending(t => t.Shape.SequenceEqual(expectedShape))
            .ThenByDescending(t => Suffix(t.Name) == suffix)
            .ThenBy(t => System.Math.Abs(Index(t.Name) - index))
            .ThenBy(t => t.Name, System.StringComparer.Ordinal)
            .Select(t => (t.Name, t.Shape))
            .FirstOrDefault();
        if (best.Name is null)
        {
            return null;
        }

        var shape = "[" + string.Join(", ", best.Shape) + "]";
        return best.Shape.SequenceEqual(expectedShape)
            ? $"; the file's '{best.Name}' has its shape {shape}: was it saved with other names? Each module of the PyTorch equivalent counts in the index, activations too (see the model's remarks)"
            : $"; the nearest the file has is '{best.Name}' {shape}";
    }

    private static string Suffix(string name) => name.Substring(name.LastIndexOf('.') + 1);

    private static int Index(string name)
    {
        foreach (var part in name.Split('.'))
        {
            if (int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
            {
                return index;
            }
        }

        return int.MaxValue / 2;
    }
}
