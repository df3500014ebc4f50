using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// The part of stage 4 that writes InputGradients and LossInputGradients: a forward pass as the model predicts, then
/// the backward steps of the plan's pass to the inputs (<see cref="ModelPlan.InputBackward"/>), which reuse the
/// layers' backward methods.
/// </summary>
internal static partial class Emitter
{
    private static void WriteInputGradients(SourceWriter writer, ModelPlan plan)
    {
        if (plan.Sequences)
        {
            // Token ids have no gradient, and the sequence layers' backward methods write their parameters' gradients as they go.
            var message = SequenceUnsupported("Input gradients (explanations)");
            writer.WriteLine("/// <summary>Not available for a model with sequence layers: always throws <see cref=\"global::System.NotSupportedException\"/>.</summary>");
            writer.WriteLine($"public void InputGradients({ReadOnlySpan} inputs, {ReadOnlySpan} outputGradients, {Span} inputGradients) =>");
            writer.WriteLine($"    throw new global::System.NotSupportedException({message});");
            writer.WriteLine();
            writer.WriteLine("/// <summary>Not available for a model with sequence layers: always throws <see cref=\"global::System.NotSupportedException\"/>.</summary>");
            writer.WriteLine($"public float LossInputGradients({ReadOnlySpan} inputs, {ReadOnlySpan} targets, {Span} inputGradients) =>");
            writer.WriteLine($"    throw new global::System.NotSupportedException({message});");
            writer.WriteLine();
            return;
        }

        var last = plan.Layers[plan.Layers.Count - 1];
        var forward = plan.HasTrainingBehavior ? "Forward(inputs, batch, training: false);" : "Forward(inputs, batch);";
        var outputs = $"Workspace({last.Identifier}Output, OutputSize, batch)";
        var seed = "Workspace(GradientA, OutputSize, batch)";

        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// The gradient of the predictions with respect to the inputs, by the hand-derived backward pass: for each sample,");
        writer.WriteLine("/// ∂(Σⱼ outputGradients[j]·prediction[j])/∂input, with the predictions as <see cref=\"PredictBatch\"/> computes them");
        writer.WriteLine("/// (dropout off, batch statistics from the running averages). A one-hot row of <paramref name=\"outputGradients\"/> gives");
        writer.WriteLine("/// that output's saliency map. Leaves <see cref=\"Gradients\"/> as the last <see cref=\"TrainStep\"/> wrote them.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine("/// <param name=\"inputs\">n samples of <see cref=\"InputSize\"/> floats each.</param>");
        writer.WriteLine("/// <param name=\"outputGradients\">n × <see cref=\"OutputSize\"/> weights on the predictions.</param>");
        writer.WriteLine("/// <param name=\"inputGradients\">Receives n × <see cref=\"InputSize\"/> floats.</param>");
        using (writer.OpenBlock($"public void InputGradients({ReadOnlySpan} inputs, {ReadOnlySpan} outputGradients, {Span} inputGradients)"))
        {
            writer.WriteLine($"var batch = {Guard}.SampleCount(inputs, InputSize, nameof(inputs));");
            writer.WriteLine($"{Guard}.Length(outputGradients, batch * OutputSize, nameof(outputGradients));");
            writer.WriteLine($"{Guard}.Length(inputGradients, batch * InputSize, nameof(inputGradients));");
            writer.WriteLine("EnsureCapacity(batch);");
            writer.WriteLine(forward);
            writer.WriteLine();
            switch (plan.Loss)
            {
                case Loss.SoftmaxCrossEntropy:
                    writer.WriteLine("// the weights on the softmax probabilities p carried back to the logits z: ∂/∂zⱼ = pⱼ·(gⱼ − Σₖ gₖ·pₖ)");
                    writer.WriteLine($"global::ModelGen.Losses.SoftmaxCrossEntropy.PredictionGradient({outputs}, outputGradients, {seed}, OutputSize);");
                    break;
                case Loss.BinaryCrossEntropy:
                    writer.WriteLine("// the weights on the probabilities p = σ(z) carried back to the logits z: ∂/∂z = g·p·(1 − p)");
                    writer.WriteLine($"global::ModelGen.Losses.BinaryCrossEntropy.PredictionGradient({outputs}, outputGradients, {seed});");
                    break;
                default:
                    writer.WriteLine("// the predictions are the last layer's outputs: the weights on them seed backward as they are");
                    writer.WriteLine($"outputGradients.CopyTo({seed});");
                    break;
            }

            writer.WriteLine("BackwardToInputs(inputs, inputGradients, batch);");
        }

        writer.WriteLine();
        var allowLabels = plan.Loss == Loss.SoftmaxCrossEntropy ? "true" : "false";
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// ∂(mean loss)/∂inputs for a batch, with the loss of the predictions as <see cref=\"PredictBatch\"/> computes them (dropout");
        writer.WriteLine("/// off, batch statistics from the running averages). Leaves <see cref=\"Gradients\"/> as the last <see cref=\"TrainStep\"/> wrote them.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine("/// <returns>The batch's mean loss.</returns>");
        using (writer.OpenBlock($"public float LossInputGradients({ReadOnlySpan} inputs, {ReadOnlySpan} targets, {Span} inputGradients)"))
        {
            writer.WriteLine($"var batch = {Guard}.SampleCount(inputs, InputSize, nameof(inputs));");
            writer.WriteLine($"{Guard}.TargetSize(targets, batch, OutputSize, allowLabels: {allowLabels}, nameof(targets));");
            writer.WriteLine($"{Guard}.Length(inputGradients, batch * InputSize, nameof(inputGradients));");
            writer.WriteLine("EnsureCapacity(batch);");
            writer.WriteLine(forward);
            writer.WriteLine();
            writer.WriteLine($"// {LossDescription(plan)}; its gradient {LossGradient(plan)} seeds backward");
            writer.WriteLine($"var loss = {LossCall(plan, outputs, "targets", seed)};");
            writer.WriteLine("BackwardToInputs(inputs, inputGradients, batch);");
            writer.WriteLine("return loss;");
        }

        writer.WriteLine();
        WriteBackwardToInputs(writer, plan);
        writer.WriteLine();
    }

    private static void WriteBackwardToInputs(SourceWriter writer, ModelPlan plan)
    {
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// The backward pass from the gradient in GradientA (of the last layer's outputs) to the inputs', as the model predicts:");
        writer.WriteLine("/// dropout hands gradients on unchanged and batch normalization is affine. The layers' backward methods write their");
        writer.WriteLine("/// parameters' gradients too: here into a buffer of their own, so that Gradients keeps TrainStep's.");
        writer.WriteLine("/// </summary>");
        using (writer.OpenBlock($"private void BackwardToInputs({ReadOnlySpan} inputs, {Span} inputGradients, int batch)"))
        {
            var backward = BackwardCalls(plan, plan.InputBackward, toInputs: true);
            foreach (var layer in plan.Layers.Where(l => backward.Reads.Contains(l.Output)))
            {
                var passedOn = PassedOn(plan, layer);
                writer.WriteLine(passedOn == layer
                    ? $"var {layer.Output} = Workspace({layer.Identifier}Output, {layer.Units}, batch);"
                    : $"var {layer.Output} = Workspace({passedOn.Identifier}Output, {layer.Units}, batch); // {layer.Name} passes {passedOn.Name}'s outputs on outside training");
            }

            WriteGradientVariables(writer, plan.InputBackward, plan.GradientWidth);

            var masks = plan.BackwardFusions.Select(f => f.Dropout).Where(d => d is not null).Distinct().ToList();
            if (masks.Count > 0)
            {
                writer.WriteLine();
                writer.WriteLine("// outside training dropout keeps every value: the input-gradient products that apply its mask read ones");
                foreach (var dropout in masks)
                {
                    writer.WriteLine($"Workspace({dropout!.Identifier}Mask, {dropout.Units}, batch).Fill(1f);");
                }
            }

            writer.WriteLine();
            WriteWithScratchGradients(writer, backward.Calls);
        }
    }

    /// <summary>
    /// Writes backward calls whose parameter gradients are not wanted (the passes to the inputs and to the norms): they
    /// write into a buffer of their own while the calls run, so that Gradients keeps TrainStep's.
    /// </summary>
    private static void WriteWithScratchGradients(SourceWriter writer, IEnumerable<string> calls)
    {
        writer.WriteLine("var trainingGradients = _gradients;");
        writer.WriteLine($"_gradients = _inputPassGradients ??= new {AlignedBuffer}(ParameterBufferLength);");
        using (writer.OpenBlock("try"))
        {
            foreach (var call in calls)
            {
                writer.WriteLine(call);
            }
        }

        using (writer.OpenBlock("finally"))
        {
            writer.WriteLine("_gradients = trainingGradients;");
        }
    }

    /// <summary>The layer whose workspace holds a layer's outputs outside training: a dropout layer's input where it passes it through.</summary>
    private static LayerPlan PassedOn(ModelPlan plan, LayerPlan layer) =>
        layer.PassesInputThrough(plan) ? PassedOn(plan, plan.At(layer.Inputs[0])) : layer;
}
