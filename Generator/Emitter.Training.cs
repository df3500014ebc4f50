using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes ComputeLoss and TrainStep: the loss, then the backward steps the plan lists.</summary>
internal static partial class Emitter
{
    private static void WriteTraining(SourceWriter writer, ModelPlan plan)
    {
        var layers = plan.Layers;
        var last = layers[layers.Count - 1];

        writer.WriteLine("/// <summary>The mean loss over a batch, without computing gradients.</summary>");
        writer.WriteLine($"public float ComputeLoss({ReadOnlySpan} inputs, {ReadOnlySpan} targets) => ComputeLoss(inputs, targets, {Span}.Empty, keepPredictions: false);");
        writer.WriteLine();
        writer.WriteLine("/// <summary>The mean loss over a batch, and the predictions (as <see cref=\"PredictBatch\"/> gives them) from the same forward pass.</summary>");
        using (writer.OpenBlock($"public float ComputeLoss({ReadOnlySpan} inputs, {ReadOnlySpan} targets, {Span} predictions)"))
        {
            writer.WriteLine($"{Guard}.Length(predictions, {Guard}.SampleCount(inputs, InputSize, nameof(inputs)) * OutputSize, nameof(predictions));");
            writer.WriteLine("return ComputeLoss(inputs, targets, predictions, keepPredictions: true);");
        }

        writer.WriteLine();
        using (writer.OpenBlock($"private float ComputeLoss({ReadOnlySpan} inputs, {ReadOnlySpan} targets, {Span} predictions, bool keepPredictions)"))
        {
            writer.WriteLine($"var count = {Guard}.SampleCount(inputs, InputSize, nameof(inputs));");
            writer.WriteLine($"var targetSize = {TargetCheck(plan, "count")};");
            writer.WriteLine("var total = 0.0;");
            using (writer.OpenBlock("for (var start = 0; start < count; start += PredictionChunk)"))
            {
                writer.WriteLine("var batch = ForwardChunk(inputs, start, count);");
                writer.WriteLine($"var outputs = Workspace({last.Identifier}Output, OutputSize, batch);");
                writer.WriteLine($"total += (double){LossCall(plan, "outputs", "targets.Slice(start * targetSize, batch * targetSize)", gradient: null)} * batch;");
                using (writer.OpenBlock("if (keepPredictions)"))
                {
                    writer.WriteLine("var chunk = predictions.Slice(start * OutputSize, batch * OutputSize);");
                    writer.WriteLine("outputs.CopyTo(chunk);");
                    WriteOutputTransform(writer, plan, "chunk");
                }
            }

            writer.WriteLine();
            writer.WriteLine("return (float)(total / count);");
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// One training step on a batch: forward, loss, then the hand-derived backward pass. Overwrites");
        writer.WriteLine("/// <see cref=\"Gradients\"/> with ∂(mean loss)/∂parameter; the parameters themselves are left to an optimizer.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine("/// <returns>The batch's mean loss.</returns>");
        using (writer.OpenBlock($"public float TrainStep({ReadOnlySpan} inputs, {ReadOnlySpan} targets)"))
        {
            writer.WriteLine($"var batch = {Guard}.SampleCount(inputs, InputSize, nameof(inputs));");
            writer.WriteLine($"{TargetCheck(plan, "batch")};");
            writer.WriteLine("EnsureCapacity(batch);");
            writer.WriteLine(plan.HasTrainingBehavior ? "Forward(inputs, batch, training: true);" : "Forward(inputs, batch);");
            if (plan.CountsBatches)
            {
                writer.WriteLine("BatchesTracked++;");
            }

            writer.WriteLine();
            var backward = BackwardCalls(plan, plan.Backward, toInputs: false);
            WriteBackwardVariables(writer, plan, plan.Backward, backward.Reads, layers.Max(l => l.Units));

            writer.WriteLine();
            writer.WriteLine($"// {LossDescription(plan)}; its gradient {LossGradient(plan)} seeds backward");
            var seed = $"gradientA.Slice(0, batch * OutputSize)";
            writer.WriteLine($"var loss = {LossCall(plan, last.Output, "targets", seed)};");
            writer.WriteLine();
            writer.WriteLine(layers.Count == 1
                ? "// backward: ∂L/∂W and ∂L/∂b of the only layer"
                : plan.Joins
                    ? "// backward, last layer first: each writes its ∂L/∂W and ∂L/∂b and hands ∂L/∂(its input) to the layer it reads"
                    : "// backward, last layer first: each writes its ∂L/∂W and ∂L/∂b and hands ∂L/∂(its input) to the layer before");
            foreach (var call in backward.Calls)
            {
                writer.WriteLine(call);
            }

            writer.WriteLine("return loss;");
        }

        writer.WriteLine();
    }

    /// <summary>
    /// TrainStep's backward calls, last layer first, and the layer outputs they read. Each layer reads ∂L/∂(its output)
    /// from one gradient buffer and writes ∂L/∂(its input) to the other; a dropout layer whose mask the input-gradient
    /// product above it applies has no call of its own, and a dense layer reads its outputs only for its activation's derivative.
    /// </summary>
    /// <param name="after">Lines to write after a layer's backward call, given the layer, its input variable and its dy span.</param>
    private static (List<string> Calls, HashSet<string> Reads) BackwardCalls(
        ModelPlan plan, EquatableArray<BackwardStep> steps, bool toInputs,
        System.Func<LayerPlan, string, string, string?>? after = null)
    {
        var calls = new List<string>();
        var reads = new HashSet<string>();
        var writing = new LayerWriting(plan, toInputs, readsOutputGradients: after is not null);
        foreach (var backwardStep in steps)
        {
            if (backwardStep is GradientSum sum)
            {
                calls.Add($"// {sum.Tensor} feeds two layers: its gradient is the sum of the two that come back");
                calls.Add($"global::ModelGen.Kernels.Elementwise.Add({GradientVariable(sum.From)}.Slice(0, batch * {sum.Size}), {GradientVariable(sum.Into)}.Slice(0, batch * {sum.Size}), {GradientVariable(sum.Into)}.Slice(0, batch * {sum.Size}));");
                continue;
            }

            if (backwardStep is GradientCopy { To: BackwardStep.Inputs } result)
            {
                calls.Add("// the inputs' gradient, handed on unchanged by the layers that read them, copied to the caller's span");
                calls.Add($"{GradientVariable(result.From)}.Slice(0, batch * {result.Size}).CopyTo({GradientVariable(result.To)});");
                continue;
            }

            if (backwardStep is GradientCopy copy)
            {
                calls.Add($"// {copy.Tensor}'s gradient is shared with another tensor: copied, since its layer writes over it");
                calls.Add($"{GradientVariable(copy.From)}.Slice(0, batch * {copy.Size}).CopyTo({GradientVariable(copy.To)});");
                continue;
            }

            var (position, gradient, inputGradient) = (LayerBackward)backwardStep;
            var layer = plan.At(position);
            var input = InputOf(plan, layer);
            var dy = GradientVariable(gradient) + $".Slice(0, batch * {layer.Units})";
            // A first layer's backward is given no dx (null): no layer before it needs one.
            var dx = inputGradient == -1 ? null
                : inputGradient == BackwardStep.Inputs ? GradientVariable(inputGradient)
                : GradientVariable(inputGradient) + $".Slice(0, batch * {layer.InputSize})";
            if (layer.BackwardCall(writing, input, dy, dx, reads) is { } call)
            {
                calls.Add(call);
            }

            if (after?.Invoke(layer, input, dy) is { } line)
            {
                calls.Add(line);
            }
        }

        return (calls, reads);
    }

    /// <summary>
    /// Declares what a backward pass reads: the outputs of the last layer and of the layers its calls read, then gradient
    /// buffer A (the loss's gradient) and every other buffer its steps use, each <paramref name="width"/> floats a sample.
    /// </summary>
    private static void WriteBackwardVariables(SourceWriter writer, ModelPlan plan, EquatableArray<BackwardStep> steps, HashSet<string> reads, int width)
    {
        var last = plan.Layers[plan.Layers.Count - 1];
        foreach (var layer in plan.Layers.Where(l => l == last || reads.Contains(l.Output)))
        {
            writer.WriteLine($"var {layer.Output} = Workspace({layer.Identifier}Output, {layer.Units}, batch);");
        }

        WriteGradientVariables(writer, steps, width);
    }

    /// <summary>Declares gradient buffer A (where backward is seeded) and every other buffer <paramref name="steps"/> use.</summary>
    private static void WriteGradientVariables(SourceWriter writer, EquatableArray<BackwardStep> steps, int width)
    {
        var used = steps.SelectMany(step => step switch
        {
            LayerBackward call => new[] { call.Gradient, call.InputGradient },
            GradientSum sum => new[] { sum.From, sum.Into },
            GradientCopy copy => new[] { copy.From, copy.To },
            _ => System.Array.Empty<int>(),
        }).Where(buffer => buffer > 0).Distinct().OrderBy(buffer => buffer);
        foreach (var buffer in new[] { 0 }.Concat(used))
        {
            writer.WriteLine($"var {GradientVariable(buffer)} = Workspace({GradientName(buffer)}, {width}, batch);");
        }
    }

    /// <summary>The constant of gradient buffer <paramref name="buffer"/>: GradientA, GradientB …</summary>
    private static string GradientName(int buffer) => "Gradient" + (char)('A' + buffer);

    /// <summary>The local variable of gradient buffer <paramref name="buffer"/>: gradientA, gradientB …, or the caller's inputGradients.</summary>
    private static string GradientVariable(int buffer) => buffer == BackwardStep.Inputs ? "inputGradients" : "gradient" + (char)('A' + buffer);

    /// <summary>
    /// The check of the targets' length for <paramref name="samples"/> samples, which gives the targets per sample: one class
    /// index per position for a sequence's cross-entropy, else OutputSize values or (softmax cross-entropy) one label.
    /// </summary>
    private static string TargetCheck(ModelPlan plan, string samples) => plan.SequenceLoss
        ? $"{Guard}.SequenceTargets(targets, {samples}, {plan.OutputPositions}, nameof(targets))"
        : $"{Guard}.TargetSize(targets, {samples}, OutputSize, allowLabels: {(plan.Loss == Loss.SoftmaxCrossEntropy ? "true" : "false")}, nameof(targets))";

    /// <summary>The runtime call that computes the loss (and, given a gradient span, its gradient) of <paramref name="outputs"/>.</summary>
    private static string LossCall(ModelPlan plan, string outputs, string targets, string? gradient)
    {
        var method = gradient is null ? "Value" : "ValueAndGradient";
        if (plan.SequenceLoss)
        {
            return $"global::ModelGen.Losses.SequenceCrossEntropy.{method}({outputs}, {targets}{(gradient is null ? string.Empty : ", " + gradient)}, {plan.OutputClasses})";
        }

        var arguments = gradient is null ? $"{outputs}, {targets}" : $"{outputs}, {targets}, {gradient}";
        var extra = plan.Loss switch
        {
            Loss.SoftmaxCrossEntropy => ", OutputSize",
            Loss.Huber => ", HuberDelta",
            _ => string.Empty,
        };
        return $"global::ModelGen.Losses.{plan.Loss}.{method}({arguments}{extra})";
    }

    private static string LossGradient(ModelPlan plan) => plan.Loss switch
    {
        Loss.MeanSquaredError => $"∂L/∂y = 2·(y − t) / (batch·{plan.OutputSize})",
        Loss.MeanAbsoluteError => $"∂L/∂y = sign(y − t) / (batch·{plan.OutputSize})",
        Loss.Huber => $"∂L/∂y = clamp(y − t, −δ, δ) / (batch·{plan.OutputSize})",
        Loss.SoftmaxCrossEntropy when plan.SequenceLoss => "∂L/∂z = (softmax(z) − onehot(t)) / (positions counted)",
        Loss.SoftmaxCrossEntropy => "∂L/∂z = (softmax(z) − t) / batch",
        Loss.BinaryCrossEntropy => $"∂L/∂z = (σ(z) − t) / (batch·{plan.OutputSize})",
        _ => "∂L/∂y",
    };
}
