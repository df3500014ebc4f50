using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Serialization;

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
    /// <summary>Bakes <paramref name="plan"/>'s declared weights; null when the file cannot be baked (<see cref="Check"/> says why).</summary>
    public static BakedWeights? Bake(ModelPlan plan, EquatableArray<WeightsFile> files)
    {
        var parameters = new float[plan.ParameterBufferLength];
        var state = new float[plan.StateLength];
        if (Read(plan, null, files, parameters, state, out var file) is not null)
        {
            return null;
        }

        var name = file!.Path.Replace('\\', '/');
        name = name.Substring(name.LastIndexOf('/') + 1);
        return new BakedWeights(name, parameters.ToEquatableArray(), state.ToEquatableArray());
    }

    /// <summary>Why <paramref name="plan"/>'s declared weights cannot be baked, reported at <paramref name="location"/>; null when they can.</summary>
    public static DiagnosticInfo? Check(ModelPlan plan, LocationInfo? location, EquatableArray<WeightsFile> files) =>
        Read(plan, location, files, parameters: null, state: null, out _);

    /// <summary>
    /// Finds the declared file and checks it against the plan, writing its values into <paramref name="parameters"/>
    /// and <paramref name="state"/> in the model's layout when they are given (the diagnostics branch only checks).
    /// </summary>
    private static DiagnosticInfo? Read(ModelPlan plan, LocationInfo? location, EquatableArray<WeightsFile> files, float[]? parameters, float[]? state, out WeightsFile? file)
    {
        var declared = plan.Weights!;
        var model = plan.Type.Name;
        var matches = files.Where(f => f.Matches(declared)).ToList();
        file = matches.Count == 1 ? matches[0] : null;
        if (matches.Count == 0)
        {
            return Fail(DiagnosticDescriptors.WeightsFileNotFound, location, declared, model);
        }

        if (matches.Count > 1)
        {
            return Fail(DiagnosticDescriptors.WeightsFileAmbiguous, location, declared, model, string.Join(", ", matches.Select(m => m.Path)));
        }

        if (file!.Error is { } readError)
        {
            return Fail(DiagnosticDescriptors.WeightsFileUnreadable, location, declared, readError);
        }

        var bytes = file.Bytes.AsSpan();
        var entries = SafeTensorsHeader.Read(bytes, out var dataStart, out var headerError);
        if (entries is null)
        {
            return Fail(DiagnosticDescriptors.WeightsFileUnreadable, location, declared, headerError!);
        }

        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in plan.Tensors)
        {
            expected.Add(tensor.Name);
            if (!byName.TryGetValue(tensor.Name, out var entry))
            {
                var modelNames = new HashSet<string>(plan.Tensors.Select(t => t.Name), StringComparer.Ordinal);
                var hint = TensorNames.Closest(
                    tensor.Name, tensor.Shape.Select(d => (long)d).ToArray(), entries.Where(e => !modelNames.Contains(e.Name)).Select(e => (e.Name, (IReadOnlyList<long>)e.Shape)));
                return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"it has no tensor '{tensor.Name}' {tensor.ShapeText}{hint}");
            }

            if (tensor.IsBatchCounter)
            {
                // PyTorch's num_batches_tracked: an int64 scalar that inference does not use.
                if (entry.DType != "I64" || entry.Shape.Length != 0)
                {
                    return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"tensor '{tensor.Name}' is {entry.DType} {entry.ShapeText}; PyTorch's batch counter is an I64 scalar []");
                }

                continue;
            }

            if (!SafeTensorsDecoding.IsFloat(entry.DType))
            {
                return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"tensor '{tensor.Name}' is {entry.DType}; ModelGen bakes {SafeTensorsDecoding.FloatDTypes}");
            }

            if (!entry.Shape.SequenceEqual(tensor.Shape.Select(d => (long)d)))
            {
                return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"tensor '{tensor.Name}' has shape {entry.ShapeText} in the file but {tensor.ShapeText} in the model");
            }

            // The tensor's values as F32, in file order (F16, BF16 and F64 converted; NaN, infinities and F64 values beyond F32 refused).
            var values = SafeTensorsDecoding.Decode(bytes.Slice(dataStart + (int)entry.Begin, (int)(entry.End - entry.Begin)), entry.DType, tensor.Name, allowNonFinite: false, out var decodeError);
            if (values is null)
            {
                return Fail(DiagnosticDescriptors.WeightsFileUnreadable, location, declared, decodeError!);
            }

            if ((tensor.InState ? state : parameters) is { } destination)
            {
                // The file's order is PyTorch's; the model keeps some tensors with their axes in another order.
                var stored = tensor.StoredIndices();
                for (var i = 0; i < tensor.Length; i++)
                {
                    destination[tensor.Offset + stored[i]] = values[i];
                }
            }
        }

        if (entries.FirstOrDefault(e => !expected.Contains(e.Name)) is { } extra)
        {
            return Fail(DiagnosticDescriptors.WeightsFileMismatch, location, declared, model, $"it holds tensor '{extra.Name}', which the model does not have");
        }

        return null;
    }

    private static DiagnosticInfo Fail(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
        DiagnosticInfo.Create(descriptor, location, arguments);
}
