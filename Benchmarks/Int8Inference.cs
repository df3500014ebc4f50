using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using ModelGen.Kernels;
using ModelGen.Onnx;
using ModelGen.Quantization;

namespace ModelGen.Benchmarks;

/// <summary>
/// Samples/AotInference's model (784-256-128-10) declared again, with the weights it trained baked in from the same
/// file (Benchmarks' project gives <c>fashion-mlp.safetensors</c> to the compiler): <c>new FashionClassifier()</c> is
/// the trained model.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "fashion-mlp.safetensors")]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionClassifier;

/// <summary>
/// Int8 inference against float, side by side in one process, interleaved round by round: the trained Fashion MLP
/// (<see cref="FashionClassifier"/>) one sample at a time (ModelGen's float <c>Predict</c>, the
/// <see cref="Int8Predictor"/> with dynamic and with calibrated activations, and ONNX Runtime running the graph the
/// model's <c>ExportOnnx</c> writes, in float) and 256 at a time, then <see cref="FashionCnn"/> (seeded weights) at
/// the same two batch sizes, float against int8. One thread, and optionally two. Ratios are the medians of each
/// round's ratio, so that the machine's drift, which moves all cases of a round alike, cancels.
/// Run: <c>dotnet run -c Release --project Benchmarks -- int8 [rounds] [threads]</c>.
/// </summary>
/// <remarks>
/// Every case predicts real images: the first of the 1,000 test images the Fashion sample embeds, or the first 256 of
/// them (pixels / 255, what the MLP was trained on); the calibrated predictors saw 500 of its training images. All
/// buffers are allocated before the rounds, and ONNX Runtime reads and writes them in place through an I/O binding,
/// so no timed call allocates: the bytes allocated during the timed loops are counted and printed.
/// </remarks>
internal static class Int8Inference
{
    /// <summary>Samples of the batch cases.</summary>
    private const int Batch = 256;

    /// <summary>What one measurement of a case aims to last: enough calls to take about this long.</summary>
    private const double MeasurementMicroseconds = 3_000;

    /// <summary>Images the static predictors are calibrated on.</summary>
    private const int CalibrationImages = 500;

    public static void Run(int rounds, int maxThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxThreads, 2);
        var previousThreads = KernelSettings.MaxThreads;
        var test = Idx.ReadImages(Measurements.FashionDataFile("t10k-images-idx3-ubyte.gz"), out _, out _);
        var labels = Idx.ReadLabels(Measurements.FashionDataFile("t10k-labels-idx1-ubyte.gz"));
        var calibration = TrainingBatches.Load().Pixels.AsSpan(0, CalibrationImages * FashionClassifier.InputSize);

        var mlp = new FashionClassifier();
        var mlpDynamic = mlp.Quantize();
        var mlpStatic = mlp.Quantize(calibration);
        var cnn = new FashionCnn(seed: 1);
        var cnnDynamic = cnn.Quantize();
        var cnnStatic = cnn.Quantize(calibration);

        var image = test.AsSpan(0, FashionClassifier.InputSize).ToArray();
        var images = test.AsSpan(0, Batch * FashionClassifier.InputSize).ToArray();
        var output = new float[FashionClassifier.OutputSize];
        var outputs = new float[Batch * FashionClassifier.OutputSize];
        var threadCounts = Enumerable.Range(1, maxThreads).ToArray();
        var runtimes = ExportToOnnxRuntime(mlp, threadCounts, image, images);
        try
        {
            PrintAgreement(mlp, mlpDynamic, mlpStatic, runtimes[0].Batched, test, labels, images);
            var cases = threadCounts.Select(threads => new Case[]
            {
                new("MLP, batch 1", "ModelGen float Predict", 1, () => mlp.Predict(image, output)),
                new("MLP, batch 1", "ModelGen int8 Predict, dynamic", 1, () => mlpDynamic.Predict(image, output)),
                new("MLP, batch 1", "ModelGen int8 Predict, static", 1, () => mlpStatic.Predict(image, output)),
                new("MLP, batch 1", "ONNX Runtime float", 1, runtimes[threads - 1].Single.Run, IsPeer: true),
                new($"MLP, batch {Batch}", "ModelGen float PredictBatch", Batch, () => mlp.PredictBatch(images, outputs)),
                new($"MLP, batch {Batch}", "ModelGen int8 PredictBatch, dynamic", Batch, () => mlpDynamic.PredictBatch(images, outputs)),
                new($"MLP, batch {Batch}", "ModelGen int8 PredictBatch, static", Batch, () => mlpStatic.PredictBatch(images, outputs)),
                new($"MLP, batch {Batch}", "ONNX Runtime float", Batch, runtimes[threads - 1].Batched.Run, IsPeer: true),
                new("CNN, batch 1", "ModelGen float Predict", 1, () => cnn.Predict(image, output)),
                new("CNN, batch 1", "ModelGen int8 Predict, dynamic", 1, () => cnnDynamic.Predict(image, output)),
                new("CNN, batch 1", "ModelGen int8 Predict, static", 1, () => cnnStatic.Predict(image, output)),
                new($"CNN, batch {Batch}", "ModelGen float PredictBatch", Batch, () => cnn.PredictBatch(images, outputs)),
                new($"CNN, batch {Batch}", "ModelGen int8 PredictBatch, dynamic", Batch, () => cnnDynamic.PredictBatch(images, outputs)),
                new($"CNN, batch {Batch}", "ModelGen int8 PredictBatch, static", Batch, () => cnnStatic.PredictBatch(images, outputs)),
            }).ToArray();

            var results = Measure(cases, rounds, out var peaks);
            KernelSettings.MaxThreads = previousThreads;
            Print(cases[0], results, rounds, Measurements.Median(peaks));
        }
        finally
        {
            KernelSettings.MaxThreads = previousThreads;
            foreach (var runtime in runtimes)
            {
                runtime.Single.Dispose();
                runtime.Batched.Dispose();
            }
        }
    }

    /// <summary>
    /// Sets each case's number of calls per measurement from a warm-up (which also lets the JIT finish), then runs
    /// the rounds: the FMA peak, then for each thread count (taking turns on which goes first) every case once
    /// untimed and once timed, in an order that is reversed every other round.
    /// </summary>
    /// <returns>Per thread count and case, the µs per call of each round, and the bytes its timed loops allocated.</returns>
    private static Result[][] Measure(Case[][] cases, int rounds, out List<double> peaks)
    {
        var results = cases.Select(set => set.Select(_ => new Result()).ToArray()).ToArray();
        for (var t = 0; t < cases.Length; t++)
        {
            KernelSettings.MaxThreads = t + 1;
            for (var c = 0; c < cases[t].Length; c++)
            {
                var (calls, start) = (0, Stopwatch.GetTimestamp());
                while (calls < 3 || Stopwatch.GetElapsedTime(start).TotalMilliseconds < 300)
                {
                    cases[t][c].Body();
                    calls++;
                }

                results[t][c].Calls = (int)Math.Clamp(MeasurementMicroseconds * calls / Stopwatch.GetElapsedTime(start).TotalMicroseconds, 1, 100_000);
            }
        }

        peaks = [];
        for (var round = -2; round < rounds; round++)
        {
            var peakStart = Stopwatch.GetTimestamp();
            var peak = FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(peakStart).TotalSeconds;
            Measurements.AddIf(round >= 0, peaks, peak);
            var threadOrder = Enumerable.Range(0, cases.Length);
            foreach (var t in round % 2 == 0 ? threadOrder : threadOrder.Reverse())
            {
                KernelSettings.MaxThreads = t + 1;
                var order = Enumerable.Range(0, cases[t].Length);
                foreach (var c in round % 2 == 0 ? order : order.Reverse())
                {
                    var (body, result) = (cases[t][c].Body, results[t][c]);
                    body();
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    var start = Stopwatch.GetTimestamp();
                    for (var r = 0; r < result.Calls; r++)
                    {
                        body();
                    }

                    var microseconds = Stopwatch.GetElapsedTime(start).TotalMicroseconds / result.Calls;
                    result.Allocated += GC.GetAllocatedBytesForCurrentThread() - allocated;
                    Measurements.AddIf(round >= 0, result.Times, microseconds);
                }

                if (round >= 0)
                {
                    PrintRound(round, t + 1, cases[t], results[t]);
                }
            }
        }

        return results;
    }

    private static void PrintRound(int round, int threads, Case[] cases, Result[] results)
    {
        var line = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"round {round}, {Threads(threads)}, µs per call:"));
        for (var c = 0; c < cases.Length; c++)
        {
            line.Append(c == 0 || cases[c].Group != cases[c - 1].Group ? $" | {cases[c].Group}:" : ",");
            line.Append(string.Create(CultureInfo.InvariantCulture, $" {Short(cases[c].Name)} {results[c].Times[^1]:F1}"));
        }

        Console.WriteLine(line);
    }

    /// <summary>The medians, each case against its group's ModelGen float case and ONNX Runtime, then the floors.</summary>
    private static void Print(Case[] cases, Result[][] results, int rounds, double peak)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CPU: {Measurements.CpuModel()}; FMA peak, one core: median {peak / 1e9:F1} GFLOP/s over {rounds} rounds; int8 kernel: {Int8Predictor.Kernel}; ONNX Runtime {OrtEnv.Instance().GetVersionString()} (as many intra-op threads as ModelGen's, sequential execution, all graph optimizations)."));
        for (var t = 0; t < results.Length; t++)
        {
            Console.WriteLine();
            Console.WriteLine($"Medians of {rounds} interleaved rounds, {Threads(t + 1)}; ratios are medians of the rounds' own ratios (time / time: below 1 is faster).");
            Console.WriteLine("| model, batch | variant | µs per call | µs per sample | samples/s | vs ModelGen float | vs ONNX Runtime |");
            Console.WriteLine("|---|---|--:|--:|--:|--:|--:|");
            for (var c = 0; c < cases.Length; c++)
            {
                var (baseline, peer) = (Baseline(cases, c), Peer(cases, c));
                var median = Measurements.Median(results[t][c].Times);
                var versusFloat = baseline == c ? "" : string.Create(CultureInfo.InvariantCulture, $"{RatioOfRounds(results[t][c], results[t][baseline]):F2}×");
                var versusPeer = peer is not { } p || p == c ? "" : string.Create(CultureInfo.InvariantCulture, $"{RatioOfRounds(results[t][c], results[t][p]):F2}×");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {cases[c].Group} | {cases[c].Name} | {median:F1} | {median / cases[c].Samples:F2} | {cases[c].Samples * 1e6 / median:N0} | {versusFloat} | {versusPeer} |"));
            }

            // The floors, from the MLP's cases in the order they are listed in Run.
            var one = results[t];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Floors ({Threads(t + 1)}): MLP batch-1 int8 / ModelGen float Predict ≤ 0.5×: dynamic {RatioOfRounds(one[1], one[0]):F2}×, static {RatioOfRounds(one[2], one[0]):F2}×; " +
                $"int8 / ONNX Runtime float ≤ 0.5×: dynamic {RatioOfRounds(one[1], one[3]):F2}×, static {RatioOfRounds(one[2], one[3]):F2}×; " +
                $"MLP batch-{Batch} int8 throughput / float PredictBatch ≥ 1.5×: dynamic {RatioOfRounds(one[4], one[5]):F2}×, static {RatioOfRounds(one[4], one[6]):F2}×."));
        }

        var allocating = cases.Select((c, i) => (c, Bytes: results.Sum(r => r[i].Allocated))).Where(x => x.Bytes != 0).ToArray();
        Console.WriteLine(allocating.Length == 0
            ? "Allocated during the timed loops: 0 bytes, every case."
            : "Allocated during the timed loops: " + string.Join("; ", allocating.Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.c.Group} {x.c.Name} {x.Bytes:N0} bytes"))));
    }

    /// <summary>
    /// The MLP's graph as its generated <c>ExportOnnx</c> writes it, loaded into ONNX Runtime for one sample and for a
    /// batch (<see cref="OnnxRuntimeModel"/>), one pair per thread count.
    /// </summary>
    private static (OnnxRuntimeModel Single, OnnxRuntimeModel Batched)[] ExportToOnnxRuntime(FashionClassifier model, int[] threadCounts, float[] image, float[] images)
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-int8-").FullName;
        try
        {
            var path = Path.Combine(directory, "fashion-mlp.onnx");
            model.ExportOnnx(path);
            return threadCounts
                .Select(threads => (
                    new OnnxRuntimeModel(path, threads, image, FashionClassifier.InputSize, FashionClassifier.OutputSize),
                    new OnnxRuntimeModel(path, threads, images, FashionClassifier.InputSize, FashionClassifier.OutputSize)))
                .ToArray();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Checks what is timed computes what it should: ONNX Runtime's outputs against the float model's, and how often the
    /// int8 predictors pick the float model's class over the 1,000 test images, with each one's accuracy.
    /// </summary>
    private static void PrintAgreement(FashionClassifier model, Int8Predictor dynamic, Int8Predictor calibrated, OnnxRuntimeModel runtime, float[] test, byte[] labels, float[] images)
    {
        var expected = new float[Batch * FashionClassifier.OutputSize];
        model.PredictBatch(images, expected);
        runtime.Run();
        var largest = expected.Zip(runtime.Output, (e, a) => Math.Abs(e - a)).Max();

        var count = labels.Length;
        var (reference, quantized, calibratedOutputs) = (new float[count * 10], new float[count * 10], new float[count * 10]);
        model.PredictBatch(test, reference);
        dynamic.PredictBatch(test, quantized);
        calibrated.PredictBatch(test, calibratedOutputs);
        var classes = new[] { reference, quantized, calibratedOutputs }.Select(o => Enumerable.Range(0, count).Select(n => ArgMax(o.AsSpan(n * 10, 10))).ToArray()).ToArray();
        double Accuracy(int[] predicted) => predicted.Where((p, n) => p == labels[n]).Count() / (double)count;
        double Agreement(int[] predicted) => predicted.Where((p, n) => p == classes[0][n]).Count() / (double)count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Fashion MLP (Samples/AotInference's trained weights) on the {count:N0} embedded test images: accuracy float {Accuracy(classes[0]):F4}, int8 dynamic {Accuracy(classes[1]):F4}, int8 static {Accuracy(classes[2]):F4}; " +
            $"int8 picks the float class for {Agreement(classes[1]):P1} (dynamic) and {Agreement(classes[2]):P1} (static); ONNX Runtime's probabilities differ from ModelGen float's by at most {largest:E1}."));
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    /// <summary>The median over the rounds of <paramref name="result"/>'s time divided by <paramref name="baseline"/>'s in the same round.</summary>
    private static double RatioOfRounds(Result result, Result baseline) => Measurements.Median(result.Times.Zip(baseline.Times, (a, b) => a / b));

    /// <summary>The first case of <paramref name="c"/>'s group: ModelGen's float model.</summary>
    private static int Baseline(Case[] cases, int c) => Array.FindIndex(cases, x => x.Group == cases[c].Group);

    /// <summary>ONNX Runtime's case in <paramref name="c"/>'s group, if it has one.</summary>
    private static int? Peer(Case[] cases, int c)
    {
        var peer = Array.FindIndex(cases, x => x.Group == cases[c].Group && x.IsPeer);
        return peer < 0 ? null : peer;
    }

    /// <summary>A variant's name in a round's line: "float", "int8 dynamic", "ORT".</summary>
    private static string Short(string name) => name switch
    {
        "ONNX Runtime float" => "ORT",
        _ when name.Contains("int8", StringComparison.Ordinal) => name.EndsWith("dynamic", StringComparison.Ordinal) ? "int8 dynamic" : "int8 static",
        _ => "float",
    };

    private static string Threads(int threads) => threads == 1 ? "1 thread" : $"{threads} threads";

    /// <summary>One thing timed: <paramref name="Body"/> predicts <paramref name="Samples"/> samples once.</summary>
    private sealed record Case(string Group, string Name, int Samples, Action Body, bool IsPeer = false);

    /// <summary>A case's calls per measurement, its µs per call in each round, and what its timed loops allocated.</summary>
    private sealed class Result
    {
        public int Calls { get; set; }

        public List<double> Times { get; } = [];

        public long Allocated { get; set; }
    }
}

/// <summary>
/// An ONNX file loaded into ONNX Runtime with a given number of intra-op threads (one: no thread pool),
/// sequential execution and every graph optimization, its input and output bound once to arrays held here, so that
/// <see cref="Run"/> allocates nothing.
/// </summary>
internal sealed class OnnxRuntimeModel : IDisposable
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _inference;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue _input;
    private readonly OrtValue _output;
    private readonly OrtIoBinding _binding;

    /// <summary>
    /// The file at <paramref name="path"/>, loaded to run on <paramref name="threads"/> intra-op threads, read
    /// <paramref name="inputs"/> (samples of <paramref name="inputSize"/> floats) and write <paramref name="outputSize"/>
    /// floats per sample.
    /// </summary>
    public OnnxRuntimeModel(string path, int threads, float[] inputs, int inputSize, int outputSize)
    {
        _options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _inference = new InferenceSession(path, _options);
        var batch = inputs.Length / inputSize;
        Output = new float[batch * outputSize];
        _input = OrtValue.CreateTensorValueFromMemory(inputs, [batch, inputSize]);
        _output = OrtValue.CreateTensorValueFromMemory(Output, [batch, outputSize]);
        _binding = _inference.CreateIoBinding();
        _binding.BindInput(OnnxExport.InputName, _input);
        _binding.BindOutput(OnnxExport.OutputName, _output);
    }

    /// <summary>What the last <see cref="Run"/> wrote.</summary>
    public float[] Output { get; }

    /// <summary>Runs the graph on the bound input.</summary>
    public void Run() => _inference.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        _output.Dispose();
        _input.Dispose();
        _runOptions.Dispose();
        _inference.Dispose();
        _options.Dispose();
    }
}
