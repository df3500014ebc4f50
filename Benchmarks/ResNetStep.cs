using System;
using System.Collections.Generic;
using System.Diagnostics;
using ModelGen.Samples.FashionMnist;

namespace ModelGen.Benchmarks;

/// <summary>
/// <c>resnet [steps]</c>: training steps of the Fashion sample's ResNet (its declaration, compiled into this project) at
/// batch 64 on random images, after three steps of warm-up, then an SGD update as <c>Fit</c> makes it; prints the
/// median step and samples/s on one line that <c>Benchmarks/resnet-pytorch.sh</c> reads beside PyTorch's.
/// </summary>
internal static class ResNetStep
{
    private const int Batch = 64;

    public static void Run(int steps)
    {
        var model = new FashionResNet(seed: 1);
        var random = new Random(1);
        var inputs = Measurements.RandomValues(random, Batch * FashionResNet.InputSize);
        var labels = new float[Batch];
        for (var i = 0; i < Batch; i++)
        {
            labels[i] = random.Next(FashionResNet.OutputSize);
        }

        var optimizer = new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 5e-4f);
        void Step()
        {
            model.TrainStep(inputs, labels);
            optimizer.Step(model.Parameters, model.Gradients);
        }

        for (var i = 0; i < 3; i++)
        {
            Step();
        }

        var times = new List<double>();
        for (var i = 0; i < steps; i++)
        {
            var watch = Stopwatch.StartNew();
            Step();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        var median = Measurements.Median(times);
        Console.WriteLine(FormattableString.Invariant($"modelgen step_ms={median:F1} samples_per_s={Batch * 1000 / median:F0}"));
    }
}
