using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// One thread against two, interleaved: each round times every case once with <see cref="KernelSettings.MaxThreads"/>
/// = 1 and once with 2, in alternating order, so drift in the machine's load and cache warmth hit both alike (BenchmarkDotNet runs each parameter value in
/// its own process, minutes apart, and on this shared machine that drift exceeds the effect). Prints medians.
/// Run: <c>dotnet run -c Release --project Benchmarks -- threads</c>.
/// </summary>
public static class ThreadScaling
{
    private const int Rounds = 300;

    public static void Run()
    {
        const int batch = 32, inputs = 784, units = 128;
        var random = new Random(1);
        float[] Fill(int length) => Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var x = Fill(batch * inputs);
        var w = Fill(units * inputs);
        var dz = Fill(batch * units);
        var y = new float[batch * units];
        var dw = new float[units * inputs];
        var dx = new float[batch * inputs];
        var model = new MnistMlp(seed: 1);
        var optimizer = new Sgd(0.001f);
        var targets = Fill(batch * MnistMlp.OutputSize);
        var outputs = new float[batch * MnistMlp.OutputSize];

        var cases = new (string Name, Action Body)[]
        {
            ("forward X·Wᵀ 32×784→128", () => Gemm.MultiplyTransposed(x, w, y, batch, units, inputs)),
            ("inputs ∂Z·W", () => Gemm.Multiply(dz, w, dx, batch, inputs, units)),
            ("weights ∂Zᵀ·X (k = 32: never split)", () => Gemm.MultiplyAddTransposedA(dz, x, dw, units, inputs, batch)),
            ("MnistMlp PredictBatch 32", () => model.PredictBatch(x, outputs)),
            ("MnistMlp TrainStep + SGD 32", () =>
            {
                model.TrainStep(x, targets);
                optimizer.Step(model.Parameters, model.Gradients);
            }),
        };

        var times = cases.Select(_ => (One: new List<double>(), Two: new List<double>())).ToArray();
        for (var round = -20; round < Rounds; round++)
        {
            for (var c = 0; c < cases.Length; c++)
            {
                // Alternate which goes first: the second of a pair finds the caches warmer.
                foreach (var threads in round % 2 == 0 ? new[] { 1, 2 } : new[] { 2, 1 })
                {
                    KernelSettings.MaxThreads = threads;
                    var start = Stopwatch.GetTimestamp();
                    cases[c].Body();
                    var microseconds = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    if (round >= 0)
                    {
                        (threads == 1 ? times[c].One : times[c].Two).Add(microseconds);
                    }
                }
            }
        }

        Console.WriteLine($"| case | 1 thread (median µs) | 2 threads (median µs) | speed-up |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (var c = 0; c < cases.Length; c++)
        {
            var one = Measurements.Median(times[c].One);
            var two = Measurements.Median(times[c].Two);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {cases[c].Name} | {one:F1} | {two:F1} | {one / two:F2}× |"));
        }
    }
}
