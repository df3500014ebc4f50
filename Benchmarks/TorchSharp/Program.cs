using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelGen;
using ModelGen.Benchmarks;
using ModelGen.Kernels;
using TorchSharp;
using static TorchSharp.torch;

// The Fashion MLP of issue 5 (784-256-128-10, ReLU, softmax cross-entropy, Adam 1e-3, batch 64; with dropout 0.2 and
// without) trained by TorchSharp (libtorch 2.10) and by ModelGen in one process, in alternating rounds of ten steps
// each, on the 3,000 Fashion-MNIST training images the sample embeds. Neither copies a batch: TorchSharp takes a view
// of one tensor holding every image, ModelGen a slice of one 64-byte-aligned buffer. One thread each, then two.
// Run: bash Benchmarks/torchsharp.sh [rounds]; bash Benchmarks/torchsharp.sh [rounds] gemm compares the products alone,
// and bash Benchmarks/torchsharp.sh [rounds] cnn the sample's convolutional network.
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 101;
if (args is [_, "gemm", ..])
{
    CompareProducts(rounds);
    return;
}

if (args is [_, "cnn", ..])
{
    CompareCnn(rounds);
    return;
}

var images = TrainingImages.Load([784]);
Console.WriteLine($"Fashion MLP 784-256-128-10, ReLU, batch {TrainingImages.Batch}, Adam 1e-3: medians of {rounds} interleaved rounds of 10 steps each");
Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {__version__}");
Console.WriteLine("| dropout | threads | TorchSharp µs/step | samples/s | ModelGen µs/step | samples/s | ModelGen ÷ TorchSharp |");
Console.WriteLine("|--:|--:|--:|--:|--:|--:|--:|");
foreach (var dropout in new[] { 0.2, 0.0 })
{
    foreach (var threads in new[] { 1, 2 })
    {
        ITrainableModel modelGen = dropout > 0 ? new FashionMlp(seed: 1) : new PlainMlp(seed: 1);
        var row = images.Compare(rounds, stepsPerRound: 10, threads, () => TorchClassifier.Mlp(dropout), modelGen);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {dropout} | {row}"));
    }
}

// One thread: each product of the MLP's training step (and 1024³) by libtorch's matmul and by ModelGen's Gemm, in
// alternating rounds; libtorch takes the transposed operands as views, as its backward pass does.
static void CompareProducts(int rounds)
{
    set_num_threads(1);
    KernelSettings.MaxThreads = 1;
    ProductShape[] shapes =
    [
        new(64, 784, 256), new(64, 256, 128), new(64, 128, 10), new(784, 64, 256, TransposeA: true), new(256, 64, 128, TransposeA: true),
        new(64, 256, 784, TransposeB: true), new(1024, 1024, 1024),
    ];
    Console.WriteLine($"One thread, µs per product, medians of {rounds} interleaved rounds; libtorch {__version__}");
    Console.WriteLine("| product | M×K×N | libtorch µs | GFLOP/s | ModelGen µs | GFLOP/s | ModelGen ÷ libtorch |");
    Console.WriteLine("|---|---|--:|--:|--:|--:|--:|");
    var random = new Random(5);
    foreach (var shape in shapes)
    {
        var (m, k, n) = (shape.M, shape.K, shape.N);
        var (a, b, c) = (Measurements.RandomValues(random, m * k), Measurements.RandomValues(random, k * n), new float[m * n]);
        // Stored as the kernels get them: A [k × m] when transposed, B [n × k] when transposed.
        var ta = shape.TransposeA ? tensor(a, [k, m]).t() : tensor(a, [m, k]);
        var tb = shape.TransposeB ? tensor(b, [n, k]).t() : tensor(b, [k, n]);
        var repeats = (int)Math.Max(1, 20_000_000 / (2.0 * m * n * k));
        var (torchTime, modelGenTime) = Timing.Alternate(rounds, warmUp: 3,
            () =>
            {
                for (var r = 0; r < repeats; r++)
                {
                    using var product = ta.matmul(tb);
                }
            },
            () =>
            {
                for (var r = 0; r < repeats; r++)
                {
                    Gemm.Compute(a, shape.TransposeA, b, shape.TransposeB, c, m, n, k, accumulate: false);
                }
            });
        (torchTime, modelGenTime) = (torchTime / repeats, modelGenTime / repeats);
        var flops = 2.0 * m * n * k;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {shape.Role} | {m}×{k}×{n} | {torchTime:F1} | {flops / torchTime / 1e3:F1} | {modelGenTime:F1} | {flops / modelGenTime / 1e3:F1} | {torchTime / modelGenTime:F2}× |"));
    }
}

// The sample's CNN (Samples/FashionMnist/FashionCnn.cs) trained by both, batch 64, Adam 1e-3, one thread and then two,
// in alternating rounds of five steps.
static void CompareCnn(int rounds)
{
    var images = TrainingImages.Load([1, 28, 28]);
    Console.WriteLine($"Fashion CNN (conv 16, pool, conv 32, pool, dense 64, dropout 0.25, dense 10), batch {TrainingImages.Batch}, Adam 1e-3: medians of {rounds} interleaved rounds of 5 steps");
    Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {__version__}");
    Console.WriteLine("| threads | TorchSharp µs/step | samples/s | ModelGen µs/step | samples/s | ModelGen ÷ TorchSharp |");
    Console.WriteLine("|--:|--:|--:|--:|--:|--:|");
    foreach (var threads in new[] { 1, 2 })
    {
        Console.WriteLine("| " + images.Compare(rounds, stepsPerRound: 5, threads, TorchClassifier.Cnn, new FashionCnn(seed: 1)));
    }
}

/// <summary>
/// The sample's embedded training images (Samples/FashionMnist/Data, found from the working directory up) as both
/// libraries take them: one tensor of every image (a batch is a view of it) and one 64-byte-aligned buffer (a batch is
/// a slice of it). Neither copies a batch.
/// </summary>
internal sealed class TrainingImages
{
    public const int Batch = 64;

    private readonly Tensor _images;
    private readonly Tensor _classes;
    private readonly AlignedBuffer _pixels;
    private readonly float[] _targets;

    private TrainingImages(float[] pixels, byte[] labels, long[] shape)
    {
        _images = tensor(pixels, [labels.Length, .. shape]);
        _classes = tensor(labels.Select(l => (long)l).ToArray(), [labels.Length]);
        _pixels = new AlignedBuffer(pixels.Length);
        pixels.CopyTo(_pixels.Span);
        _targets = labels.Select(l => (float)l).ToArray();
    }

    /// <param name="shape">One image's shape as TorchSharp's first layer takes it: [784], or [1, 28, 28].</param>
    public static TrainingImages Load(long[] shape)
    {
        var directory = Directory.GetCurrentDirectory();
        while (!File.Exists(Path.Combine(directory, "ModelGen.sln")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("Run this from inside the repository.");
        }

        var data = Path.Combine(directory, "Samples", "FashionMnist", "Data");
        var images = Idx.ReadImages(Path.Combine(data, "train-images-idx3-ubyte.gz"), out _, out _);
        return new TrainingImages(images, Idx.ReadLabels(Path.Combine(data, "train-labels-idx1-ubyte.gz")), shape);
    }

    /// <summary>
    /// Trains a fresh TorchSharp network and <paramref name="modelGen"/> (each with its library's Adam at 1e-3) on
    /// <paramref name="threads"/> threads, in alternating rounds of <paramref name="stepsPerRound"/> steps, batch after
    /// batch of the images; returns the table row from the thread count on: µs per step, samples/s, and the ratio.
    /// </summary>
    public string Compare(int rounds, int stepsPerRound, int threads, Func<TorchClassifier> createTorch, ITrainableModel modelGen)
    {
        set_num_threads(threads);
        KernelSettings.MaxThreads = threads;
        var torchModel = createTorch();
        var adam = new Adam(1e-3f);
        var (batches, imageSize) = (_targets.Length / Batch, modelGen.InputSize);
        var (torchNext, modelGenNext) = (0, 0);
        var (torchRound, modelGenRound) = Timing.Alternate(rounds, warmUp: 10,
            () =>
            {
                for (var step = 0; step < stepsPerRound; step++)
                {
                    torchModel.Step(_images, _classes, Batch * (torchNext++ % batches), Batch);
                }
            },
            () =>
            {
                for (var step = 0; step < stepsPerRound; step++)
                {
                    var first = Batch * (modelGenNext++ % batches);
                    modelGen.TrainStep(_pixels.Span.Slice(first * imageSize, Batch * imageSize), _targets.AsSpan(first, Batch));
                    adam.Step(modelGen.Parameters, modelGen.Gradients);
                }
            });
        var (torchStep, modelGenStep) = (torchRound / stepsPerRound, modelGenRound / stepsPerRound);
        return string.Create(CultureInfo.InvariantCulture,
            $"{get_num_threads()} | {torchStep:F1} | {Batch * 1e6 / torchStep:N0} | {modelGenStep:F1} | {Batch * 1e6 / modelGenStep:N0} | {torchStep / modelGenStep:F2}× |");
    }
}

/// <summary>The two libraries timed against each other.</summary>
internal static class Timing
{
    /// <summary>Medians, in µs, of two actions timed in alternating rounds (which goes first alternates too), after some untimed ones.</summary>
    public static (double First, double Second) Alternate(int rounds, int warmUp, Action first, Action second)
    {
        var times = new[] { new List<double>(), new List<double>() };
        for (var round = -warmUp; round < rounds; round++)
        {
            foreach (var which in round % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
            {
                var start = Stopwatch.GetTimestamp();
                (which == 0 ? first : second)();
                Measurements.AddIf(round >= 0, times[which], Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        return (Measurements.Median(times[0]), Measurements.Median(times[1]));
    }
}

/// <summary>The same network in ModelGen: the generator writes its forward and backward passes.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionMlp;

/// <summary>The same network without dropout, as the issue states TorchSharp's figure.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dense(128, Activation.Relu)]
[Dense(10)]
public partial class PlainMlp;

/// <summary>The sample's convolutional network in ModelGen.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, Padding = ModelGen.Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = ModelGen.Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(64, Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class FashionCnn;

/// <summary>A network in TorchSharp, as its documentation writes one, trained with its Adam (1e-3) and cross-entropy.</summary>
internal sealed class TorchClassifier
{
    private readonly nn.Module<Tensor, Tensor> _network;
    private readonly optim.Optimizer _optimizer;
    private readonly nn.Module<Tensor, Tensor, Tensor> _loss = nn.CrossEntropyLoss();

    private TorchClassifier(nn.Module<Tensor, Tensor> network)
    {
        _network = network;
        _network.train();
        _optimizer = optim.Adam(_network.parameters(), lr: 1e-3);
    }

    /// <summary>The Fashion MLP, with a dropout of <paramref name="dropout"/> after each hidden layer (none for 0).</summary>
    public static TorchClassifier Mlp(double dropout) => new(dropout > 0
        ? nn.Sequential(
            nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(128, 10))
        : nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)));

    /// <summary>The sample's CNN.</summary>
    public static TorchClassifier Cnn() => new(nn.Sequential(
        nn.Conv2d(1, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 64), nn.ReLU(), nn.Dropout(0.25), nn.Linear(64, 10)));

    /// <summary>One training step on rows [first, first + count); every tensor it makes (the batch's views too) is freed when it returns.</summary>
    public void Step(Tensor images, Tensor classes, long first, long count)
    {
        using var scope = NewDisposeScope();
        _optimizer.zero_grad();
        var loss = _loss.call(_network.call(images.narrow(0, first, count)), classes.narrow(0, first, count));
        loss.backward();
        _optimizer.step();
    }
}
