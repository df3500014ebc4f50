using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// The part of stage 4 that writes <c>Generate</c> for a language model (token input, cross-entropy at every position,
/// only layers that can compute one position at a time): each new token costs one position's work, attention reading the
/// keys and values of the positions before from its cache.
/// </summary>
internal static partial class Emitter
{
    /// <summary>Whether the model generates text: token ids in, a distribution over them at every position out, and every layer with a step.</summary>
    internal static bool Generates(ModelPlan plan) =>
        plan.Vocabulary > 0 && plan.SequenceLoss && plan.OutputPositions == plan.InputSize && plan.OutputClasses == plan.Vocabulary && plan.Layers.All(l => l.Steps);

    private static void WriteGeneration(SourceWriter writer, ModelPlan plan)
    {
        if (!Generates(plan))
        {
            return;
        }

        var positions = plan.InputSize;
        var vocabulary = plan.Vocabulary;
        var last = plan.Layers[plan.Layers.Count - 1];
        var attention = plan.Layers.OfType<AttentionPlan>().ToList();
        foreach (var layer in attention)
        {
            writer.WriteLine($"private (float[] Keys, float[] Values) {layer.CacheField}; // {layer.Name}'s keys and values of the positions so far, for Generate");
        }

        foreach (var layer in plan.Layers.OfType<RecurrentPlan>())
        {
            writer.WriteLine(layer.StepField);
        }

        writer.WriteLine($"private float[] _samplerScratch = []; // Generate's sampler's {vocabulary} floats");
        writer.WriteLine();
        writer.WriteLine("/// <summary>");
        writer.WriteLine($"/// Continues <paramref name=\"prompt\"/> (token ids in [0, {vocabulary})) with <paramref name=\"maxTokens\"/> tokens, each drawn by");
        writer.WriteLine("/// <see cref=\"global::ModelGen.TokenSampler\"/> from the model's logits at the last position; see the overload that writes to a span.");
        writer.WriteLine("/// </summary>");
        using (writer.OpenBlock("public int[] Generate(global::System.ReadOnlySpan<int> prompt, int maxTokens, float temperature = 1f, int topK = 0, int seed = 0)"))
        {
            writer.WriteLine("global::System.ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);");
            writer.WriteLine("var tokens = new int[maxTokens];");
            writer.WriteLine("Generate(prompt, tokens, temperature, topK, seed);");
            writer.WriteLine("return tokens;");
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>");
        writer.WriteLine("/// Continues <paramref name=\"prompt\"/> with tokens.Length tokens, one position's work each: the layers run on the new");
        writer.WriteLine("/// position only, attention reading the cached keys and values of the positions before. The model sees the last");
        writer.WriteLine($"/// {positions} tokens at most: the window starts with the prompt's last {positions} and, when it is full, starts again from its");
        writer.WriteLine($"/// last {positions / 2} tokens. The tokens are those a forward pass over each window gives. Allocates nothing after the first call.");
        writer.WriteLine("/// </summary>");
        writer.WriteLine("/// <param name=\"prompt\">At least one token id.</param>");
        writer.WriteLine("/// <param name=\"tokens\">Receives the generated ids.</param>");
        writer.WriteLine("/// <param name=\"temperature\">0 for the most likely token each time; otherwise the softmax temperature.</param>");
        writer.WriteLine("/// <param name=\"topK\">How many of the most likely tokens may be drawn; 0 for all.</param>");
        writer.WriteLine("/// <param name=\"seed\">The draws' seed: the same seed and prompt give the same tokens.</param>");
        using (writer.OpenBlock("public void Generate(global::System.ReadOnlySpan<int> prompt, global::System.Span<int> tokens, float temperature = 1f, int topK = 0, int seed = 0)"))
        {
            writer.WriteLine("if (prompt.IsEmpty)");
            writer.WriteLine("{");
            writer.WriteLine("    throw new global::System.ArgumentException(\"The prompt must hold at least one token.\", nameof(prompt));");
            writer.WriteLine("}");
            writer.WriteLine();
            using (writer.OpenBlock("foreach (var id in prompt)"))
            {
                writer.WriteLine($"global::System.ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)id, (uint){vocabulary}, nameof(prompt));");
            }

            writer.WriteLine();
            writer.WriteLine("EnsureCapacity(1);");
            if (attention.Count > 0)
            {
                using (writer.OpenBlock($"if ({attention[0].CacheField}.Keys is null)"))
                {
                    foreach (var layer in attention)
                    {
                        writer.WriteLine(layer.CacheAllocation);
                    }
                }
            }

            writer.WriteLine();
            using (writer.OpenBlock("if (_samplerScratch.Length == 0)"))
            {
                writer.WriteLine($"_samplerScratch = new float[{vocabulary}];");
            }

            writer.WriteLine();
            writer.WriteLine("var random = new global::ModelGen.SeededRandom(seed);");
            writer.WriteLine($"var logits = Workspace({last.Identifier}Output, {last.Units}, 1);");
            writer.WriteLine($"// the window: the prompt's last {positions} tokens, run position by position");
            writer.WriteLine($"var window = prompt.Slice(global::System.Math.Max(0, prompt.Length - {positions}));");
            using (writer.OpenBlock("for (var position = 0; position < window.Length; position++)"))
            {
                writer.WriteLine("Step(window[position], position);");
            }

            writer.WriteLine();
            writer.WriteLine("var next = window.Length;");
            using (writer.OpenBlock("for (var i = 0; i < tokens.Length; i++)"))
            {
                writer.WriteLine($"tokens[i] = global::ModelGen.TokenSampler.Sample(logits.Slice((next - 1) * {vocabulary}, {vocabulary}), temperature, topK, ref random, _samplerScratch);");
                using (writer.OpenBlock("if (i + 1 == tokens.Length)"))
                {
                    writer.WriteLine("break;");
                }

                using (writer.OpenBlock($"if (next == {positions})"))
                {
                    writer.WriteLine($"// the window is full: it starts again from its last {positions / 2} tokens, the newest included");
                    writer.WriteLine($"var kept = {positions / 2};");
                    using (writer.OpenBlock("for (var position = 0; position < kept - 1; position++)"))
                    {
                        writer.WriteLine("var index = i - (kept - 1) + position;");
                        writer.WriteLine("Step(index >= 0 ? tokens[index] : prompt[prompt.Length + index], position);");
                    }

                    writer.WriteLine("next = kept - 1;");
                }

                writer.WriteLine("Step(tokens[i], next);");
                writer.WriteLine("next++;");
            }
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>Runs every layer on one position of sequence 0: its rows of the workspace, attention adding the position to its cache.</summary>");
        using (writer.OpenBlock("private void Step(int token, int position)"))
        {
            var writing = new LayerWriting(plan);
            foreach (var layer in plan.Layers)
            {
                layer.WriteStep(writer, writing);
            }
        }

        writer.WriteLine();
    }
}
