using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Weights;

/// <summary>
/// Trained weights ready to be written into source: the model's parameter and state buffers exactly as the generated
/// class lays them out (dense weights already transposed to [inputs × units], alignment gaps zero).
/// </summary>
/// <param name="File">The weights file's name, for the generated comments.</param>
internal sealed record BakedWeights(string File, EquatableArray<float> Parameters, EquatableArray<float> State);

/// <summary>
/// Matches a <c>[Model(Weights = …)]</c> declaration with the <c>AdditionalFiles</c> it names and checks that the
/// file's tensors are exactly the model's, by name, dtype and shape, with finite values: what the runtime's loader
/// checks, but at build time, so a wrong file is a build error (MG0022–MG0025) instead of an exception in production.
/// </summary>
internal static class Baker
{
    /// <summary>Bakes <paramref name="plan"/>'s declared weights, or says (at <paramref name="location"/>) why it cannot.</summary>
    public static (BakedWeights? Weights, DiagnosticInfo? Problem) Bake(ModelPlan plan, LocationInfo? location, EquatableArray<WeightsFile> files)
    {
        var declared = plan.Weights!;
        var model = plan.Type.Name;
        var matches = files.Where(f => f.Matches(declared)).ToList();
        if (matches.Count == 0)
        {
            return Fail(DiagnosticDescriptors.WeightsFileNotFound, location, declared, model);
        }

        if (matches.Count > 1)
        {
            return Fail(DiagnosticDescriptors.WeightsFileAmbiguous, location, declared, model, string.Join(", ", matches.Select(m => m.Path)));
        }

        var file = matches[0];
        if (file.Error is { } readError)
        {
            return Fail(DiagnosticDescriptors.WeightsFileUnreadable, location, declared, readError);
        }

        var bytes = file.Bytes.AsSpan().ToArray();
        var entries = SafeTensorsHeader.Read(bytes, out var dataStart, out var headerError);
        if (entries is null)
        {
            return Fail(DiagnosticDescriptors.WeightsFileUnreadable, location, declared, headerError!);
        }

        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var parameters = new float[plan.ParameterBufferLength];
        var state = new float[plan.StateLength];
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in plan.Tensors)
        {
            expected.Add(tensor.Name);
            if (!byName.TryGetValue(tensor.Name, out var entry))
            {
                return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"it has no tensor '{tensor.Name}'");
            }

            if (entry.DType != "F32")
            {
                return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"tensor '{tensor.Name}' is {entry.DType}; ModelGen bakes F32");
            }

            var shapeMatches = tensor.Columns is { } columns
                ? entry.Shape.Length == 2 && entry.Shape[0] == tensor.Rows && entry.Shape[1] == columns
                : entry.Shape.Length == 1 && entry.Shape[0] == tensor.Rows;
            if (!shapeMatches)
            {
                return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"tensor '{tensor.Name}' has shape {entry.ShapeText} in the file but {tensor.ShapeText} in the model");
            }

            var destination = tensor.InState ? state : parameters;
            var start = dataStart + (int)entry.Begin;
            for (var i = 0; i < tensor.Length; i++)
            {
                var value = ReadSingle(bytes, start + (4 * i));
                if (float.IsNaN(value) || float.IsInfinity(value))
                {
                    return Fail(DiagnosticDescriptors.WeightsFileUnreadable, location, declared, $"tensor '{tensor.Name}' holds {value} at element {i}");
                }

                // A file holds a dense weight as [units, inputs]; the model keeps it as [inputs × units].
                var index = tensor.Columns is { } inputs ? ((i % inputs) * tensor.Rows) + (i / inputs) : i;
                destination[tensor.Offset + index] = value;
            }
        }

        if (entries.FirstOrDefault(e => !expected.Contains(e.Name)) is { } extra)
        {
            return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"it holds tensor '{extra.Name}', which the model does not have");
        }

        var name = file.Path.Replace('\\', '/');
        name = name.Substring(name.LastIndexOf('/') + 1);
        return (new BakedWeights(name, parameters.ToEquatableArray(), state.ToEquatableArray()), null);
    }

    private static float ReadSingle(byte[] bytes, int offset)
    {
        if (BitConverter.IsLittleEndian)
        {
            return BitConverter.ToSingle(bytes, offset);
        }

        var reversed = new[] { bytes[offset + 3], bytes[offset + 2], bytes[offset + 1], bytes[offset] };
        return BitConverter.ToSingle(reversed, 0);
    }

    private static (BakedWeights?, DiagnosticInfo?) Fail(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
        (null, DiagnosticInfo.Create(descriptor, location, arguments));
}
