using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// The part of stage 4 that writes TrainStepClipped, DP-SGD's step: TrainStep's backward pass twice, the first to add
/// up each sample's gradient norm layer by layer, the second from the loss gradient with each sample's row scaled to
/// clip its gradient.
/// </summary>
internal static partial class Emitter
{
    /// <summary>The runtime's per-sample gradient norms, which <c>TrainStepClipped</c> adds each layer's to.</summary>
    internal const string Norms = "global::ModelGen.Privacy.SampleGradientNorms";

    private static void WriteClippedTraining(SourceWriter writer, ModelPlan plan)
    {
        var layers = plan.Layers;
        var last = layers[layers.Count - 1];
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// One training step whose gradient is the mean of the samples' gradients each clipped to norm <paramref name=\"clipNorm\"/>");
        writer.WriteLine("/// (DP-SGD's clipping): overwrites <see cref=\"Gradients\"/> with (1/batch)·Σₙ min(1, C/‖gₙ‖)·gₙ, gₙ the gradient of sample n's");
        writer.WriteLine("/// loss. The norms come from the backward pass layer by layer, without forming per-sample gradients of dense layers.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine("/// <param name=\"inputs\">n samples of <see cref=\"InputSize\"/> floats each.</param>");
        writer.WriteLine("/// <param name=\"targets\">Their targets, as <see cref=\"TrainStep\"/> takes them.</param>");
        writer.WriteLine("/// <param name=\"clipNorm\">C: the largest norm a sample's gradient keeps.</param>");
        writer.WriteLine("/// <param name=\"sampleNorms\">Receives ‖gₙ‖ of each of the n samples, before clipping.</param>");
        writer.WriteLine("/// <returns>The batch's mean loss.</returns>");
        var signature = $"public float TrainStepClipped({ReadOnlySpan} inputs, {ReadOnlySpan} targets, float clipNorm, {Span} sampleNorms)";
        if (plan.Sequences)
        {
            writer.WriteLine("/// <exception cref=\"global::System.NotSupportedException\">Always: per-sample clipping is not written for sequence layers yet.</exception>");
            writer.WriteLine($"{signature} =>");
            writer.WriteLine($"    throw new global::System.NotSupportedException({SequenceUnsupported("Per-sample gradient clipping (differentially private training)")});");
            writer.WriteLine();
            return;
        }

        if (plan.MixesSamples)
        {
            writer.WriteLine("/// <exception cref=\"global::System.NotSupportedException\">Always: batch normalization mixes the samples of a batch, so a sample has no gradient of its own.</exception>");
            writer.WriteLine($"{signature} =>");
            writer.WriteLine("    throw new global::System.NotSupportedException(\"Batch normalization mixes the samples of a batch, so a sample has no gradient of its own to clip: use layer normalization for differentially private training.\");");
            writer.WriteLine();
            return;
        }

        var allowLabels = plan.Loss == Loss.SoftmaxCrossEntropy ? "true" : "false";
        using (writer.OpenBlock(signature))
        {
            writer.WriteLine($"var batch = {Guard}.SampleCount(inputs, InputSize, nameof(inputs));");
            writer.WriteLine($"{Guard}.TargetSize(targets, batch, OutputSize, allowLabels: {allowLabels}, nameof(targets));");
            writer.WriteLine($"{Guard}.Length(sampleNorms, batch, nameof(sampleNorms));");
            writer.WriteLine("global::System.ArgumentOutOfRangeException.ThrowIfNegativeOrZero(clipNorm);");
            writer.WriteLine("EnsureCapacity(batch);");
            writer.WriteLine(plan.HasTrainingBehavior ? "Forward(inputs, batch, training: true);" : "Forward(inputs, batch);");
            writer.WriteLine();

            var normsPass = BackwardCalls(plan, plan.Backward, toInputs: false, (layer, input, dy) => layer.SampleNormsCall(input, dy));
            var backward = BackwardCalls(plan, plan.Backward, toInputs: false);
            WriteBackwardVariables(writer, plan, plan.Backward, normsPass.Reads, layers.Max(l => l.Units));
            writer.WriteLine();
            writer.WriteLine($"// {LossDescription(plan)}; its gradient {LossGradient(plan)} seeds backward,");
            writer.WriteLine("// and sample n's gradient is linear in row n of it: the rows are kept, to be scaled once the norms are known");
            writer.WriteLine($"var loss = {LossCall(plan, last.Output, "targets", "gradientA.Slice(0, batch * OutputSize)")};");
            using (writer.OpenBlock("if (_clippingSeed.Length < batch * OutputSize)"))
            {
                writer.WriteLine("_clippingSeed = new float[batch * OutputSize];");
            }

            writer.WriteLine($"var rows = new {Span}(_clippingSeed, 0, batch * OutputSize);");
            writer.WriteLine("gradientA.Slice(0, batch * OutputSize).CopyTo(rows);");
            writer.WriteLine();
            writer.WriteLine("// the first pass adds up each sample's squared norm after each layer with parameters; the parameter gradients");
            writer.WriteLine("// it writes on the way go to a buffer of their own");
            writer.WriteLine("sampleNorms.Clear();");
            WriteWithScratchGradients(writer, normsPass.Calls);

            writer.WriteLine();
            writer.WriteLine("// the second pass, from the rows scaled by min(1, C / ‖gₙ‖): the clipped mean");
            writer.WriteLine($"{Norms}.ClipRows(sampleNorms, rows, OutputSize, clipNorm);");
            writer.WriteLine("rows.CopyTo(gradientA);");
            foreach (var call in backward.Calls)
            {
                writer.WriteLine(call);
            }

            writer.WriteLine("return loss;");
        }

        writer.WriteLine();
    }

    /// <summary>A bool as a C# literal.</summary>
    /// <summary>A bool as a C# literal.</summary>
    /// <summary>The message, as a C# string literal, of a member a model with sequence layers does not support yet.</summary>
    internal static string SequenceUnsupported(string what) =>
        $"\"{what} is not available for models with sequence layers (embeddings, attention) yet.\"";

    internal static string Bool(bool value) => value ? "true" : "false";
}
