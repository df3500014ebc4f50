using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen;
using ModelGen.Samples.Adder;

// Two-digit addition learned from text: every sum a + b (a, b in 0..99) is written "AB+CD=EFG", zero-padded; a seeded
// 8,000 of the 10,000 train, the other 2,000 test. The model reads the first 8 characters and learns the next character at
// each position; only the three answer characters count in the loss. A test sum counts as right when the greedy decoding
// of its three answer characters from "AB+CD=" is exact.
var steps = Option("--steps", 600);
var seed = Option("--seed", 1);
const int Batch = 64;
const string Symbols = "0123456789+=";

var order = Enumerable.Range(0, 10_000).ToArray();
new Random(seed).Shuffle(order);
var (train, test) = (order[..8_000], order[8_000..]);

var model = new AdderGpt(seed);
var optimizer = new AdamW(learningRate: 3e-3f, weightDecay: 0.1f, beta1: 0.9f, beta2: 0.95f, epsilon: 1e-8f)
{
    Decayed = AdamW.ProductWeights(model),
    GlobalClipNorm = 1f,
    Schedule = new LinearWarmup(100, new CosineDecay(Math.Max(1, steps - 101), alpha: 0.1f)),
};
Console.WriteLine($"AdderGpt: {AdderGpt.ParameterCount:N0} parameters; {train.Length:N0} training sums, {test.Length:N0} test sums; batch {Batch}, {steps} steps of AdamW.");

var (inputs, targets) = (new float[Batch * 8], new float[Batch * 8]);
var draw = new Random(seed + 1);
var clock = Stopwatch.StartNew();
for (var step = 0; step < steps; step++)
{
    for (var n = 0; n < Batch; n++)
    {
        var text = Sum(train[draw.Next(train.Length)]);
        for (var t = 0; t < 8; t++)
        {
            inputs[(n * 8) + t] = Symbols.IndexOf(text[t]);
            // Position t predicts character t + 1; only the answer's three (positions 5, 6, 7) count.
            targets[(n * 8) + t] = t >= 5 ? Symbols.IndexOf(text[t + 1]) : -1;
        }
    }

    var loss = model.TrainStep(inputs, targets);
    optimizer.Step(model.Parameters, model.Gradients);
    if ((step + 1) % 100 == 0 || step + 1 == steps)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step + 1,4}: loss {loss:F4}, test accuracy {Accuracy(model, test):F4}, {clock.Elapsed.TotalSeconds:F1} s"));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test_accuracy={Accuracy(model, test):F4}"));
return 0;

// "AB+CD=EFG" for sum number a·100 + b.
static string Sum(int number) => FormattableString.Invariant($"{number / 100:D2}+{number % 100:D2}={(number / 100) + (number % 100):D3}");

// Greedy decoding of all test sums at once: three forward passes, each fixing one more answer character.
static double Accuracy(AdderGpt model, int[] sums)
{
    var inputs = new float[sums.Length * 8];
    var answers = new char[sums.Length * 3];
    var predictions = new float[sums.Length * AdderGpt.OutputSize];
    for (var n = 0; n < sums.Length; n++)
    {
        var text = Sum(sums[n]);
        for (var t = 0; t < 6; t++)
        {
            inputs[(n * 8) + t] = Symbols.IndexOf(text[t]);
        }
    }

    for (var position = 5; position < 8; position++)
    {
        // Causal attention: what lies after a position does not change its prediction, so the places not yet filled may hold anything.
        model.PredictBatch(inputs, predictions);
        for (var n = 0; n < sums.Length; n++)
        {
            var probabilities = predictions.AsSpan((n * AdderGpt.OutputSize) + (position * Symbols.Length), Symbols.Length);
            var next = probabilities.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(probabilities));
            answers[(n * 3) + position - 5] = Symbols[next];
            if (position < 7)
            {
                inputs[(n * 8) + position + 1] = next;
            }
        }
    }

    var right = Enumerable.Range(0, sums.Length).Count(n => new string(answers, n * 3, 3) == Sum(sums[n])[6..]);
    return (double)right / sums.Length;
}

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
