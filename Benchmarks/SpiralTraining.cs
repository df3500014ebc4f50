using System;
using System.Globalization;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Benchmarks;

/// <summary>The two-spirals classifier of the instruction-set question: 2 inputs, two ReLU layers of 16, one logit.</summary>
[Model(Loss = Loss.BinaryCrossEntropy)]
[Input(2)]
[Dense(16, Activation.Relu)]
[Dense(16, Activation.Relu)]
[Dense(1)]
public partial class SpiralClassifier;

/// <summary>
/// Trains <see cref="SpiralClassifier"/> on two spirals of three turns (600 points in the unit disc) for 400 epochs,
/// batch 32, Adam 10⁻², once per seed, on whatever instruction sets the process has, and prints each run's final
/// loss, its lowest loss over the last 100 epochs, and the distribution over the seeds. With <c>ulp</c>, every
/// nonzero initial parameter is first moved up by one unit in the last place: run it beside the unperturbed runs to
/// see how far a rounding-sized difference carries (docs/performance.md, "Results across instruction sets").
/// </summary>
internal static class SpiralTraining
{
    private const int PointsPerClass = 300, Epochs = 400, Batch = 32;

    public static void Run(int seeds, bool perturb)
    {
        var isa = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : Vector128.IsHardwareAccelerated ? "SSE" : "scalar";
        Console.WriteLine($"vector path: {isa}, fused multiply-add: {(Fma.IsSupported ? "yes" : "no")}{(perturb ? ", initial parameters moved by 1 ulp" : "")}");
        var (features, targets) = TwoSpirals();
        var data = new Dataset(features, 2, targets, 1);
        var finals = new double[seeds];
        for (var seed = 1; seed <= seeds; seed++)
        {
            var model = new SpiralClassifier(seed);
            if (perturb)
            {
                var parameters = model.Parameters;
                for (var i = 0; i < parameters.Length; i++)
                {
                    parameters[i] = parameters[i] == 0f ? 0f : MathF.BitIncrement(parameters[i]);
                }
            }

            var losses = model.Fit(data, new FitOptions { Epochs = Epochs, BatchSize = Batch, Optimizer = new Adam(1e-2f), Seed = seed }).Loss;
            finals[seed - 1] = losses[^1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed,2}: final loss {losses[^1]:G5}, lowest of the last 100 epochs {losses.Skip(Epochs - 100).Min():G5}"));
        }

        var sorted = finals.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"final loss over {seeds} seeds: quartiles {sorted[seeds / 4]:G4} / {Measurements.Median(finals):G4} / {sorted[3 * seeds / 4]:G4}, above 0.1: {finals.Count(l => l > 0.1)}"));
    }

    /// <summary>Two interleaved spirals of three turns, radius growing to 1, with seeded noise of ±0.01; classes 0 and 1 alternate.</summary>
    private static (float[] Features, float[] Targets) TwoSpirals()
    {
        var random = new Random(1234);
        var features = new float[4 * PointsPerClass];
        var targets = new float[2 * PointsPerClass];
        var span = 2 * Math.PI * 3;
        for (var i = 0; i < PointsPerClass; i++)
        {
            var angle = 0.25 + (span * i / PointsPerClass);
            var radius = angle / span;
            for (var c = 0; c < 2; c++)
            {
                var k = (2 * i) + c;
                features[2 * k] = (float)((radius * Math.Cos(angle + (c * Math.PI))) + (0.02 * (random.NextDouble() - 0.5)));
                features[(2 * k) + 1] = (float)((radius * Math.Sin(angle + (c * Math.PI))) + (0.02 * (random.NextDouble() - 0.5)));
                targets[k] = c;
            }
        }

        return (features, targets);
    }
}
