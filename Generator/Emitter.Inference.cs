using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes Predict and PredictBatch.</summary>
internal static partial class Emitter
{
    private static void WriteInference(SourceWriter writer, ModelPlan plan)
    {
        var last = plan.Layers[plan.Layers.Count - 1];
        writer.WriteLine($"/// <summary>Predicts one sample{OutputMeaning(plan)}. Allocates nothing.</summary>");
        writer.WriteLine("/// <param name=\"input\">One sample: <see cref=\"InputSize\"/> floats.</param>");
        writer.WriteLine("/// <param name=\"output\">Receives <see cref=\"OutputSize\"/> floats.</param>");
        using (writer.OpenBlock($"public void Predict({ReadOnlySpan} input, {Span} output)"))
        {
            writer.WriteLine($"{Guard}.Length(input, InputSize, nameof(input));");
            writer.WriteLine($"{Guard}.Length(output, OutputSize, nameof(output));");
            writer.WriteLine(plan.HasTrainingBehavior ? "Forward(input, batch: 1, training: false);" : "Forward(input, batch: 1);");
            writer.WriteLine($"Workspace({last.Identifier}Output, OutputSize, batch: 1).CopyTo(output);");
            WriteOutputTransform(writer, plan, "output");
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>Predicts a batch of samples stored one after another.</summary>");
        writer.WriteLine("/// <param name=\"inputs\">n samples of <see cref=\"InputSize\"/> floats each.</param>");
        writer.WriteLine("/// <param name=\"outputs\">Receives n × <see cref=\"OutputSize\"/> floats.</param>");
        using (writer.OpenBlock($"public void PredictBatch({ReadOnlySpan} inputs, {Span} outputs)"))
        {
            writer.WriteLine($"var count = {Guard}.SampleCount(inputs, InputSize, nameof(inputs));");
            writer.WriteLine($"{Guard}.Length(outputs, count * OutputSize, nameof(outputs));");
            using (writer.OpenBlock("for (var start = 0; start < count; start += PredictionChunk)"))
            {
                writer.WriteLine("var batch = ForwardChunk(inputs, start, count);");
                writer.WriteLine("var chunk = outputs.Slice(start * OutputSize, batch * OutputSize);");
                writer.WriteLine($"Workspace({last.Identifier}Output, OutputSize, batch).CopyTo(chunk);");
                WriteOutputTransform(writer, plan, "chunk");
            }
        }

        writer.WriteLine();
    }

    /// <summary>What turns the last layer's outputs into predictions: softmax or sigmoid for the losses that apply them.</summary>
    private static void WriteOutputTransform(SourceWriter writer, ModelPlan plan, string span)
    {
        switch (plan.Loss)
        {
            case Loss.SoftmaxCrossEntropy:
                writer.WriteLine($"global::ModelGen.Kernels.Reductions.Softmax({span}, {span}, {(plan.OutputPositions > 1 ? plan.OutputClasses.ToString(System.Globalization.CultureInfo.InvariantCulture) : "OutputSize")});");
                break;
            case Loss.BinaryCrossEntropy:
                writer.WriteLine($"global::ModelGen.Kernels.Activations.Sigmoid({span});");
                break;
        }
    }

    private static string OutputMeaning(ModelPlan plan) => plan.Loss switch
    {
        Loss.SoftmaxCrossEntropy => ": the softmax probability of each class",
        Loss.BinaryCrossEntropy => ": the sigmoid probability of each output",
        _ => string.Empty,
    };
}
