using System;
using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes the tensor list a weights file follows, Save and Load.</summary>
internal static partial class Emitter
{
    private static void WriteSerialization(SourceWriter writer, ModelPlan plan)
    {
        const string Tensor = "global::ModelGen.ParameterTensor";
        const string SafeTensors = "global::ModelGen.Serialization.SafeTensors";
        writer.WriteLine("// Each tensor as the equivalent PyTorch module's state_dict holds it (see the remarks): its name, where it");
        writer.WriteLine("// starts in Parameters (or State), and its shape. Where this model orders a tensor's values otherwise (dense");
        writer.WriteLine("// weights [inputs × units], kernels [kh, kw, c, filters], images channels-last), StoredAxes says how.");
        using (writer.OpenBlock($"private static readonly {Tensor}[] ParameterLayout = new {Tensor}[]", closingSuffix: ";"))
        {
            foreach (var tensor in plan.Tensors)
            {
                if (tensor.IsBatchCounter)
                {
                    writer.WriteLine($"new(\"{tensor.Name}\", -1, global::System.Array.Empty<int>()) {{ IsBatchCounter = true }},");
                    continue;
                }

                var flags = new List<string>();
                if (tensor.View.Count > 0)
                {
                    flags.Add($"View = new[] {{ {string.Join(", ", tensor.View)} }}");
                }

                if (tensor.StoredAxes.Count > 0)
                {
                    flags.Add($"StoredAxes = new[] {{ {string.Join(", ", tensor.StoredAxes)} }}");
                }

                if (tensor.InState)
                {
                    flags.Add("InState = true");
                }

                var initializer = flags.Count > 0 ? " { " + string.Join(", ", flags) + " }" : string.Empty;
                writer.WriteLine($"new(\"{tensor.Name}\", {tensor.OffsetConstant}, new[] {{ {string.Join(", ", tensor.Shape)} }}){initializer},");
            }
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>The named tensors that make up <see cref=\"Parameters\"/>, in layer order.</summary>");
        writer.WriteLine($"public global::System.Collections.Generic.IReadOnlyList<{Tensor}> ParameterTensors => ParameterLayout;");
        writer.WriteLine();
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// Saves the parameters as a safetensors file. The new file is written beside the old one and renamed over it");
        writer.WriteLine("/// only when complete, so a failed save leaves the previous file intact.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine($"public void Save(string path) => {SafeTensors}.Save(this, path);");
        writer.WriteLine();
        writer.WriteLine("/// <summary>Creates a model from a safetensors file written by <see cref=\"Save\"/>, or by PyTorch under the same names and shapes.</summary>");
        writer.WriteLine("/// <exception cref=\"global::System.IO.InvalidDataException\">The file is truncated or corrupt, or holds other tensors.</exception>");
        using (writer.OpenBlock($"public static {plan.Type.NameSyntax} Load(string path)"))
        {
            writer.WriteLine($"var model = new {plan.Type.NameSyntax}();");
            writer.WriteLine($"{SafeTensors}.Load(model, path);");
            writer.WriteLine("return model;");
        }

        writer.WriteLine();
    }
}
