using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Emit;

/// <summary>
/// Writes baked weights as a second source file of the model's partial class: two <c>ReadOnlySpan&lt;float&gt;</c>
/// properties over constant data, which the compiler stores in the assembly's data section, so reading them
/// neither allocates nor touches a file.
/// </summary>
internal static class WeightsEmitter
{
    private const int ValuesPerLine = 8;

    private const string ParametersName = "BakedParameters";
    private const string StateName = "BakedState";

    /// <summary>The members this file adds to the model's class.</summary>
    public static string[] MemberNames(ModelPlan plan) => plan.StateLength > 0 ? [ParametersName, StateName] : [ParametersName];

    public static string Emit(ModelPlan plan, BakedWeights weights) => Emitter.WriteFile(plan.Type, writer =>
    {
        using (writer.OpenBlock($"partial {plan.Type.Keyword} {plan.Type.NameSyntax}"))
        {
            writer.WriteLine($"// The trained parameters, baked in at build time from {weights.File} and laid out as Parameters: each");
            writer.WriteLine("// tensor at its offset, dense weights as [inputs × units] (the file holds [units, inputs]), gaps zero.");
            WriteValues(writer, ParametersName, weights.Parameters, plan, inState: false);
            if (plan.StateLength > 0)
            {
                writer.WriteLine();
                writer.WriteLine($"// The running statistics, baked in from {weights.File} and laid out as State.");
                WriteValues(writer, StateName, weights.State, plan, inState: true);
            }
        }
    });

    private static void WriteValues(SourceWriter writer, string name, EquatableArray<float> values, ModelPlan plan, bool inState)
    {
        var starts = plan.Tensors.Where(t => t.InState == inState && !t.IsBatchCounter).ToDictionary(t => t.Offset);
        using (writer.OpenCollection($"private static global::System.ReadOnlySpan<float> {name} =>"))
        {
            var ends = new HashSet<int>(starts.Values.Select(t => t.Offset + t.Length));
            var line = new List<string>(ValuesPerLine);
            for (var i = 0; i < values.Count; i++)
            {
                var tensorStarts = starts.TryGetValue(i, out var tensor);
                var gapStarts = !tensorStarts && (i == 0 || ends.Contains(i));
                if (tensorStarts || gapStarts || line.Count == ValuesPerLine)
                {
                    Flush(writer, line);
                }

                if (tensorStarts)
                {
                    writer.WriteLine(Describe(tensor!));
                }
                else if (gapStarts)
                {
                    writer.WriteLine(inState ? "// not in the weights file (alignment, the last training batch's 1/σ): zero" : "// alignment padding");
                }

                line.Add(Emitter.Float(values[i]) + ",");
            }

            Flush(writer, line);
        }
    }

    private static string Describe(PlannedTensor tensor) => tensor.StoredAxes.Count > 0
        ? $"// {tensor.Name} {tensor.ShapeText}, its axes kept in the order ({string.Join(", ", tensor.StoredAxes)}) of [{string.Join(", ", tensor.View.Count > 0 ? tensor.View : tensor.Shape)}]"
        : $"// {tensor.Name} {tensor.ShapeText}";

    private static void Flush(SourceWriter writer, List<string> line)
    {
        if (line.Count > 0)
        {
            writer.WriteLine(string.Join(" ", line));
            line.Clear();
        }
    }
}
