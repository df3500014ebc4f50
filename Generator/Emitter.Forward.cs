using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes the forward pass over a batch, each layer's lines as its plan writes them, and the workspace it runs in.</summary>
internal static partial class Emitter
{
    private static void WriteForward(SourceWriter writer, ModelPlan plan)
    {
        var trainingParameter = plan.HasTrainingBehavior ? ", bool training" : string.Empty;
        writer.WriteLine(plan.HasTrainingBehavior
            ? "/// <summary>Runs every layer on a batch, leaving each layer's outputs in the workspace; dropout and batch statistics apply only when training.</summary>"
            : "/// <summary>Runs every layer on a batch, leaving each layer's outputs in the workspace.</summary>");

        using (writer.OpenBlock($"private void Forward({ReadOnlySpan} inputs, int batch{trainingParameter})"))
        {
            var writing = new LayerWriting(plan);
            foreach (var layer in plan.Layers.Where(l => !ForwardFusion.Absorbs(plan, l) && !PoolGate.AbsorbsForward(plan, l)))
            {
                layer.WriteForwardCall(writer, writing);
            }
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>Runs the forward pass on the chunk of at most PredictionChunk samples that begins at <paramref name=\"start\"/>.</summary>");
        writer.WriteLine("/// <returns>The number of samples in the chunk.</returns>");
        using (writer.OpenBlock($"private int ForwardChunk({ReadOnlySpan} inputs, int start, int count)"))
        {
            writer.WriteLine("var batch = global::System.Math.Min(PredictionChunk, count - start);");
            writer.WriteLine("EnsureCapacity(batch);");
            writer.WriteLine(plan.HasTrainingBehavior
                ? "Forward(inputs.Slice(start * InputSize, batch * InputSize), batch, training: false);"
                : "Forward(inputs.Slice(start * InputSize, batch * InputSize), batch);");
            writer.WriteLine("return batch;");
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>The workspace region at per-sample offset <paramref name=\"offset\"/> for a batch.</summary>");
        writer.WriteLine($"private {Span} Workspace(int offset, int perSample, int batch) =>");
        writer.WriteLine($"    _workspace.Span.Slice(offset * batch, perSample * batch);");
        writer.WriteLine();
        writer.WriteLine("/// <summary>Grows the workspace to hold a batch; after the largest batch has been seen, this never allocates.</summary>");
        using (writer.OpenBlock("private void EnsureCapacity(int batch)"))
        {
            using (writer.OpenBlock("if (batch > _batchCapacity)"))
            {
                writer.WriteLine($"_workspace = new {AlignedBuffer}(batch * WorkspacePerSample);");
                writer.WriteLine("_batchCapacity = batch;");
            }
        }
    }
}
