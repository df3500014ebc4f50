using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>The MLP of the comparison with PyTorch (Benchmarks/fashion_torch.py): 784-256-128-10, ReLU, no dropout.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dense(128, Activation.Relu)]
[Dense(10)]
public partial class ComparisonMlp;

/// <summary>
/// ModelGen's side of Benchmarks/fashion_torch.py, workload for workload with the same step counts, rounds and output
/// lines (each prefixed <c>modelgen</c>): <see cref="ComparisonMlp"/> and <see cref="WideCnn"/> trained with Adam 1e-3 at
/// batch 64 on one fixed random batch, and the MLP's Predict (batch 1) and PredictBatch (256). Each round is timed
/// whole; the median round is reported, with the FMA peak measured in the same process. Run through
/// <c>bash Benchmarks/pytorch.sh</c>, which alternates it with PyTorch, or alone:
/// <c>dotnet run -c Release --project Benchmarks -- torch-side 5</c>.
/// </summary>
internal static class TorchComparison
{
    public static void Run(int rounds)
    {
        KernelSettings.MaxThreads = 1;
        var random = new Random(2);
        var peak = FmaPeak.Measure();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"modelgen cpu=\"{Measurements.CpuModel()}\" fma_peak_gflops={peak:F1} threads=1"));

        var mlp = new ComparisonMlp(seed: 1);
        var mlpTrain = Train(mlp, new Adam(1e-3f), Measurements.RandomValues(random, 64 * 784), Labels(random, 64), stepsPerRound: 300, warmUp: 30, rounds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"modelgen mlp-train samples_per_s={mlpTrain:F0} gflops_per_s={mlpTrain * MlpFlops / 1e9:F2} of_peak={100 * mlpTrain * MlpFlops / 1e9 / peak:F0}% threads=1 rounds={rounds}"));

        var cnnTrain = Train(new WideCnn(seed: 1), new Adam(1e-3f), Measurements.RandomValues(random, 64 * 784), Labels(random, 64), stepsPerRound: 20, warmUp: 5, rounds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"modelgen cnn-train samples_per_s={cnnTrain:F0} train_flops_per_sample={ConvolutionCost.WideCnnFlops:F0} gflops_per_s={cnnTrain * ConvolutionCost.WideCnnFlops / 1e9:F2} of_peak={100 * cnnTrain * ConvolutionCost.WideCnnFlops / 1e9 / peak:F0}% threads=1 rounds={rounds}"));

        var one = Measurements.RandomValues(random, 1 * 784);
        var output = new float[10];
        var batch1 = MedianRound(() => mlp.Predict(one, output), callsPerRound: 2000, warmUp: 200, rounds) * 1e6 / 2000;
        var many = Measurements.RandomValues(random, 256 * 784);
        var outputs = new float[256 * 10];
        var batch256 = 256 * 100 / MedianRound(() => mlp.PredictBatch(many, outputs), callsPerRound: 100, warmUp: 10, rounds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"modelgen mlp-predict batch1_us={batch1:F2} batch256_samples_per_s={batch256:F0} threads=1 rounds={rounds}"));
    }

    /// <summary>The MLP's floating-point operations per training sample: every product's forward, weight and input gradient, the first layer's input gradient excepted.</summary>
    private const double MlpFlops = (2.0 * 784 * 256 * 2) + (3.0 * 256 * 128 * 2) + (3.0 * 128 * 10 * 2);

    /// <summary>Samples a second over the median round of training steps on one batch.</summary>
    private static double Train(ITrainableModel model, Adam adam, float[] images, float[] labels, int stepsPerRound, int warmUp, int rounds) =>
        images.Length / model.InputSize * stepsPerRound / MedianRound(
            () =>
            {
                model.TrainStep(images, labels);
                adam.Step(model.Parameters, model.Gradients);
            },
            stepsPerRound, warmUp, rounds);

    /// <summary>The median over <paramref name="rounds"/> rounds of the seconds <paramref name="callsPerRound"/> calls take, after the warm-up calls.</summary>
    private static double MedianRound(Action call, int callsPerRound, int warmUp, int rounds)
    {
        for (var i = 0; i < warmUp; i++)
        {
            call();
        }

        var seconds = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < callsPerRound; i++)
            {
                call();
            }

            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return Measurements.Median(seconds);
    }

    private static float[] Labels(Random random, int count) => Enumerable.Range(0, count).Select(_ => (float)random.Next(10)).ToArray();
}
