using System;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes the forward pass over a batch, and the workspace it runs in.</summary>
internal static partial class Emitter
{
    /// <summary>
    /// Whether a layer's inference output is its input span itself: a dropout layer's, except as the model's first
    /// layer (its input is the caller's read-only inputs) or last (predictions are read from the last layer's workspace).
    /// </summary>
    private static bool PassesThrough(ModelPlan plan, LayerPlan layer) =>
        layer is DropoutPlan && layer.Inputs[0] > 0 && layer.Position < plan.Layers.Count;

    /// <summary>The span a layer's forward writes: its workspace region, or outside training its input where it <see cref="PassesThrough"/>.</summary>
    private static string OutputSpan(ModelPlan plan, LayerPlan layer, string input)
    {
        var workspace = $"Workspace({layer.Identifier}Output, {layer.Units}, batch)";
        return PassesThrough(plan, layer) ? $"training ? {workspace} : {input}" : workspace;
    }

    private static void WriteForward(SourceWriter writer, ModelPlan plan)
    {
        var trainingParameter = plan.HasTrainingBehavior ? ", bool training" : string.Empty;
        writer.WriteLine(plan.HasTrainingBehavior
            ? "/// <summary>Runs every layer on a batch, leaving each layer's outputs in the workspace; dropout and batch statistics apply only when training.</summary>"
            : "/// <summary>Runs every layer on a batch, leaving each layer's outputs in the workspace.</summary>");

        using (writer.OpenBlock($"private void Forward({ReadOnlySpan} inputs, int batch{trainingParameter})"))
        {
            foreach (var layer in plan.Layers)
            {
                var input = InputOf(plan, layer);
                if (ForwardFusion.Absorbs(plan, layer))
                {
                    continue;
                }

                if (layer is AddPlan add)
                {
                    writer.WriteLine($"// {add.Name}: the residual connection's sum, {add.Block}(x) + {(add.Shortcut is null ? "x" : add.Shortcut + "(x)")}");
                    writer.WriteLine($"var {layer.Output} = Workspace({layer.Identifier}Output, {layer.Units}, batch);");
                    writer.WriteLine($"{layer.Identifier}Forward({input}, {InputOf(plan, layer, 1)}, {layer.Output}, batch);");
                    continue;
                }

                if (layer is FlattenPlan)
                {
                    if (layer.Inputs[0] == 0)
                    {
                        writer.WriteLine($"// {layer.Name}: the inputs, copied to be viewed as one vector per sample");
                        writer.WriteLine($"var {layer.Output} = Workspace({layer.Identifier}Output, {layer.Units}, batch);");
                        writer.WriteLine($"{input}.Slice(0, batch * {layer.Units}).CopyTo({layer.Output});");
                    }
                    else
                    {
                        writer.WriteLine($"var {layer.Output} = {input}; // {layer.Name}: the same values, viewed as one vector of {layer.Units} per sample");
                    }

                    continue;
                }

                // Outside training a dropout layer hands its input on unchanged: its output is that span, a copy only
                // where it cannot be (see PassesThrough).
                writer.WriteLine($"var {layer.Output} = {OutputSpan(plan, layer, input)};");
                if (ForwardFusion.DropoutAfter(plan, layer) is { } dropout)
                {
                    // The dense layer's product draws the dropout layer's mask while training.
                    writer.WriteLine($"var {dropout.Output} = {OutputSpan(plan, dropout, layer.Output)};");
                    using (writer.OpenBlock("if (training)"))
                    {
                        writer.WriteLine($"{layer.Identifier}And{dropout.Identifier}Forward({input}, {layer.Output}, {dropout.Output}, batch);");
                    }

                    using (writer.OpenBlock("else"))
                    {
                        writer.WriteLine($"{layer.Identifier}Forward({input}, {layer.Output}, batch);");
                        if (!PassesThrough(plan, dropout))
                        {
                            writer.WriteLine($"{layer.Output}.Slice(0, batch * {layer.Units}).CopyTo({dropout.Output});");
                        }
                    }

                    if (dropout.Position < plan.Layers.Count)
                    {
                        writer.WriteLine();
                    }

                    continue;
                }

                if (layer is DropoutPlan or BatchNormPlan)
                {
                    var training = layer is BatchNormPlan ? "Training" : string.Empty;
                    using (writer.OpenBlock("if (training)"))
                    {
                        writer.WriteLine($"{layer.Identifier}Forward{training}({input}, {layer.Output}, batch);");
                    }

                    if (!PassesThrough(plan, layer))
                    {
                        using (writer.OpenBlock("else"))
                        {
                            writer.WriteLine(layer is BatchNormPlan
                                ? $"{layer.Identifier}ForwardInference({input}, {layer.Output}, batch);"
                                : $"{input}.Slice(0, batch * {layer.Units}).CopyTo({layer.Output});");
                        }
                    }

                    if (layer.Position < plan.Layers.Count)
                    {
                        writer.WriteLine();
                    }
                }
                else
                {
                    writer.WriteLine($"{layer.Identifier}Forward({input}, {layer.Output}, batch);");
                }
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
