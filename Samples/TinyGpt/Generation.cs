using System;
using System.Text;

namespace ModelGen.Samples.TinyGpt;

/// <summary>
/// Samples text from the model one character at a time, recomputing the whole window (the last 64 characters) for each:
/// causal attention lets the unfilled positions after the window's end hold anything.
/// </summary>
internal static class Generation
{
    public static string Sample(TinyGptModel model, CharTokenizer tokenizer, string prompt, int maxTokens, float temperature, int topK, int seed)
    {
        const int Context = TinyGptModel.InputSize;
        var classes = TinyGptModel.OutputSize / Context;
        var history = new System.Collections.Generic.List<int>(tokenizer.Encode(prompt));
        var input = new float[Context];
        var probabilities = new float[TinyGptModel.OutputSize];
        var weights = new double[classes];
        var random = new SeededRandom(seed);
        var text = new StringBuilder();
        for (var produced = 0; produced < maxTokens; produced++)
        {
            var length = Math.Min(history.Count, Context);
            Array.Clear(input);
            for (var t = 0; t < length; t++)
            {
                input[t] = history[history.Count - length + t];
            }

            model.Predict(input, probabilities);
            var row = probabilities.AsSpan((length - 1) * classes, classes);

            // Temperature on the log-probabilities, then only the topK most likely characters keep a chance.
            var threshold = KthLargest(row, Math.Min(topK, tokenizer.VocabularySize));
            var total = 0.0;
            for (var c = 0; c < classes; c++)
            {
                weights[c] = c < tokenizer.VocabularySize && row[c] >= threshold && row[c] > 0 ? Math.Exp(Math.Log(row[c]) / temperature) : 0;
                total += weights[c];
            }

            var draw = random.NextSingle() * total;
            var next = 0;
            for (var acc = weights[0]; acc < draw && next < classes - 1; acc += weights[++next])
            {
            }

            history.Add(next);
            text.Append(tokenizer.Decode([next]));
        }

        return text.ToString();
    }

    private static float KthLargest(ReadOnlySpan<float> values, int k)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted[^k];
    }
}
