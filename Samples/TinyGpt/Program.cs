using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ModelGen;
using ModelGen.Samples.TinyGpt;

// Options: --steps N (2000), --seed N (1), --model gpt|lstm, --plot FILE (tinygpt-loss.png), --save FILE (the weights
// and, in their metadata, the vocabulary), --load FILE (start from saved weights; --steps 0 only evaluates and generates).
//
// A character-level GPT on the fortune corpus (Debian's fortunes package), as Benchmarks/sequence_torch.py trains the
// same model in PyTorch: batch 32 of 64 characters, AdamW (β 0.9, 0.95; weight decay 0.1 on the products' matrices),
// 100 steps of linear warm-up then a cosine decay to a tenth, gradients clipped to norm 1. It prints val_loss=… last:
// the mean cross-entropy per character, in nats, over the held-out last 10 % of the text.
var steps = Option("--steps", 2000);
var seed = Option("--seed", 1);
var plotPath = Text("--plot", "tinygpt-loss.png");
var savePath = Text("--save", string.Empty);
var loadPath = Text("--load", string.Empty);
var lstm = Text("--model", "gpt") switch
{
    "gpt" => false,
    "lstm" => true,
    var other => throw new ArgumentException($"--model {other}: the models are gpt and lstm."),
};
const int Batch = 32;
const int Context = TinyGptModel.InputSize;

var corpus = LoadCorpus();
IGenerativeModel model = lstm ? new CharLstmModel(seed) : new TinyGptModel(seed);
if (loadPath.Length > 0)
{
    // Weights saved by --save, whose metadata holds the characters the ids stand for: they must be this text's.
    if (ModelGen.Serialization.SafeTensors.ReadMetadata(loadPath).GetValueOrDefault("vocabulary") != corpus.Tokenizer.Vocabulary)
    {
        Console.Error.WriteLine($"{loadPath} was trained on another vocabulary than this text's.");
        return 1;
    }

    ModelGen.Serialization.SafeTensors.Load(model, loadPath);
}

if (corpus.Tokenizer.VocabularySize > model.OutputSize / Context)
{
    Console.Error.WriteLine($"The text has {corpus.Tokenizer.VocabularySize} distinct characters; the model reads {model.OutputSize / Context}.");
    return 1;
}

var optimizer = new AdamW(learningRate: 3e-3f, weightDecay: 0.1f, beta1: 0.9f, beta2: 0.95f, epsilon: 1e-8f)
{
    Decayed = AdamW.ProductWeights(model),
    GlobalClipNorm = 1f,
    Schedule = new LinearWarmup(100, new CosineDecay(Math.Max(1, steps - 101), alpha: 0.1f)),
};
Console.WriteLine($"{(lstm ? "CharLstm" : "TinyGpt")}: {model.ParameterCount:N0} parameters; {corpus.Training.Length:N0} training and {corpus.Validation.Length:N0} validation characters, {corpus.Tokenizer.VocabularySize} distinct.");
Console.WriteLine($"Training: {steps} steps of batch {Batch} × {Context} characters, on {Environment.ProcessorCount} cores.");

var windows = new int[Batch * (Context + 1)];
var (inputs, targets) = (new float[Batch * Context], new float[Batch * Context]);
var random = new SeededRandom(seed);
var losses = new List<double>(steps);
var stepTimes = new List<double>(steps);
var progress = new ProgressLine(steps, Console.IsOutputRedirected);
for (var step = 0; step < steps; step++)
{
    var started = Stopwatch.GetTimestamp();
    corpus.SampleTrainingWindows(ref random, windows, Context + 1);
    Split(windows, inputs, targets);
    var loss = model.TrainStep(inputs, targets);
    if (!float.IsFinite(loss))
    {
        Console.Error.WriteLine($"The loss became {loss} at step {step + 1}: training stopped.");
        return 1;
    }

    optimizer.Step(model.Parameters, model.Gradients);
    stepTimes.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
    losses.Add(loss);
    progress.Report(step + 1, loss, stepTimes);
}

progress.Finish();
var stepsPerSecond = steps == 0 ? 0 : 1 / Median(stepTimes.Skip(Math.Min(10, stepTimes.Count - 1)));
if (savePath.Length > 0)
{
    // The tokenizer's vocabulary travels in the weights file's metadata: ids mean nothing without it.
    ModelGen.Serialization.SafeTensors.Save(model, savePath, new Dictionary<string, string> { ["vocabulary"] = corpus.Tokenizer.Vocabulary });
    Console.WriteLine($"Saved: {savePath}");
}

var validation = ValidationLoss(model, corpus);
if (losses.Count > 0)
{
    LossPlot.Save(losses, validation, plotPath);
    Console.WriteLine($"Loss curve: {plotPath}");
}

Console.WriteLine();
Console.WriteLine("Generated (temperature 0.8, top 10, seed 1):");
// Generate runs one position per token, attention reading its cached keys and values (the window restarts when full).
var ids = model.Generate(corpus.Tokenizer.Encode("\n"), maxTokens: 240, temperature: 0.8f, topK: 10, seed: 1);
var generated = corpus.Tokenizer.Decode(ids.Where(id => id < corpus.Tokenizer.VocabularySize).ToArray());
foreach (var line in generated.Split('\n').Where(l => l.Length > 0).Take(6))
{
    Console.WriteLine("  " + line);
}

Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"steps_per_second={stepsPerSecond:F2}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"val_loss={validation:F4}"));
return 0;

// The fortune files as Benchmarks/sequence_torch.py reads them; without the package, the embedded README's ASCII text.
static TextCorpus LoadCorpus()
{
    const string Fortunes = "/usr/share/games/fortunes";
    if (Directory.Exists(Fortunes) && TextCorpus.FortuneFiles(Fortunes) is { Length: > 0 } files)
    {
        return TextCorpus.FromFiles(files);
    }

    Console.WriteLine($"{Fortunes} not found (apt-get install fortunes): training on the embedded README instead.");
    using var stream = typeof(TinyGptModel).Assembly.GetManifestResourceStream("fallback.txt")!;
    using var reader = new StreamReader(stream, Encoding.UTF8);
    var text = new string(reader.ReadToEnd().Where(c => c == '\n' || (c >= ' ' && c < 127)).ToArray());
    return new TextCorpus(text);
}

// Window n's first 64 tokens are its inputs, the same shifted by one its targets.
static void Split(int[] windows, float[] inputs, float[] targets)
{
    var count = inputs.Length / Context;
    for (var n = 0; n < count; n++)
    {
        for (var t = 0; t < Context; t++)
        {
            inputs[(n * Context) + t] = windows[(n * (Context + 1)) + t];
            targets[(n * Context) + t] = windows[(n * (Context + 1)) + t + 1];
        }
    }
}

// Mean cross-entropy per character over the validation text, as Benchmarks/sequence_torch.py measures it: windows of 65
// starting at every multiple of 64 (each character but the first is a target once), in batches of 32.
static double ValidationLoss(ITrainableModel model, TextCorpus corpus)
{
    var text = corpus.Validation;
    var count = (text.Length - 1) / Context;
    var (inputs, targets) = (new float[Batch * Context], new float[Batch * Context]);
    var total = 0.0;
    for (var first = 0; first < count; first += Batch)
    {
        var size = Math.Min(Batch, count - first);
        for (var n = 0; n < size; n++)
        {
            for (var t = 0; t < Context; t++)
            {
                inputs[(n * Context) + t] = text[((first + n) * Context) + t];
                targets[(n * Context) + t] = text[((first + n) * Context) + t + 1];
            }
        }

        total += (double)model.ComputeLoss(inputs.AsSpan(0, size * Context), targets.AsSpan(0, size * Context)) * size;
    }

    return total / count;
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

string Text(string name, string fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}
