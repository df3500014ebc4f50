using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics;
using ModelGen.Privacy;

namespace ModelGen.Benchmarks;

/// <summary>The Fashion sample's private CNN (Samples/FashionMnist/FashionPrivate.cs), declared again here.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 8, Stride = 2, Padding = Padding.Same, Activation = Activation.Tanh)]
[MaxPool2D(2, Stride = 1)]
[Conv2D(32, 4, Stride = 2, Activation = Activation.Tanh)]
[MaxPool2D(2, Stride = 1)]
[Flatten]
[Dense(32, Activation.Tanh)]
[Dense(10)]
public partial class PrivateCnn;

/// <summary>
/// What differential privacy costs per epoch (<c>dp-fashion [ROUNDS]</c>): one epoch of Fashion-MNIST's training set
/// for <see cref="PrivateCnn"/> and for the Fashion MLP, on standardized pixels, each trained ordinarily (<c>Fit</c>,
/// shuffled batches of 2,048, SGD with momentum at 0.05) and privately (<c>FitPrivately</c>: Poisson batches of 2,048
/// expected, two backward passes, per-image norms, Gaussian noise; SGD with momentum at 4 on gradients clipped to 0.1,
/// as the sample trains), the variants taking turns round by round after one untimed round. Medians.
/// </summary>
internal static class PrivateTrainingCost
{
    public static void Run(int rounds)
    {
        const string folder = "/usr/share/datasets/fashion-mnist";
        var images = Path.Combine(folder, "train-images-idx3-ubyte.gz");
        if (!File.Exists(images))
        {
            throw new FileNotFoundException("dp-fashion measures a whole epoch of Fashion-MNIST: apt-get install dataset-fashion-mnist.", images);
        }

        // Standardized as the sample trains: pixels / 255 centred and scaled by their mean and deviation.
        var pixels = Idx.ReadImages(images, out _, out _);
        var mean = pixels.Average();
        var deviation = MathF.Sqrt(pixels.Average(p => (p - mean) * (p - mean)));
        foreach (ref var pixel in pixels.AsSpan())
        {
            pixel = (pixel - mean) / deviation;
        }

        var train = Dataset.FromLabels(pixels, 784, Idx.ReadLabels(Path.Combine(folder, "train-labels-idx1-ubyte.gz")));
        (string Name, Func<ITrainableModel> Create)[] models = [("PrivateCnn", () => new PrivateCnn(seed: 1)), ("FashionMlp", () => new FashionMlp(seed: 1))];
        (string Name, Action<ITrainableModel> Train)[] variants =
        [
            ("ordinary", model => model.Fit(train, new FitOptions { Epochs = 1, BatchSize = 2048, Optimizer = new Sgd(0.05f, momentum: 0.9f), Shuffle = true, Seed = 1 })),
            ("DP-SGD", model => model.FitPrivately(train, new PrivateFitOptions
            {
                Epochs = 1, BatchSize = 2048, Optimizer = new Sgd(4f, momentum: 0.9f), ClipNorm = 0.1f, NoiseMultiplier = 1.9, Seed = 1,
            })),
        ];

        var isa = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : "SSE or scalar";
        Console.WriteLine($"{Measurements.CpuModel()}, {isa}, {Environment.ProcessorCount} logical cores, {Kernels.KernelSettings.MaxThreads} kernel thread(s)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"One epoch of Fashion-MNIST ({train.Count:N0} images), batches of 2,048: medians of {rounds} interleaved rounds"));
        Console.WriteLine("| model | ordinary, s | DP-SGD, s | DP / ordinary |");
        Console.WriteLine("|---|--:|--:|--:|");
        foreach (var (name, create) in models)
        {
            var times = variants.Select(_ => new List<double>()).ToArray();
            for (var round = -1; round < rounds; round++)
            {
                var turn = round % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 };
                foreach (var v in turn)
                {
                    var model = create();
                    var start = Stopwatch.GetTimestamp();
                    variants[v].Train(model);
                    Measurements.AddIf(round >= 0, times[v], Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }

            var (plain, dp) = (Measurements.Median(times[0]), Measurements.Median(times[1]));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {plain:F3} | {dp:F3} | {dp / plain:F2}× |"));
        }
    }
}
