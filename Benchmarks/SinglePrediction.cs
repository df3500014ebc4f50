using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// One-sample <c>Predict</c> latency of the Fashion MLP on one thread, with the few-rows product path against the
/// blocked path (<c>GemmTuning.SmallRows</c>), interleaved round by round, and a 256-sample <c>PredictBatch</c> per sample.
/// </summary>
internal static class SinglePrediction
{
    public static void Run(int rounds)
    {
        var previousThreads = KernelSettings.MaxThreads;
        KernelSettings.MaxThreads = 1;
        var model = new FashionMlp(seed: 1);
        var random = new Random(1);
        var inputs = Measurements.RandomValues(random, 256 * FashionMlp.InputSize);
        var input = inputs.AsSpan(0, FashionMlp.InputSize).ToArray();
        var output = new float[FashionMlp.OutputSize];
        var outputs = new float[256 * FashionMlp.OutputSize];
        var times = new[] { new List<double>(), new List<double>(), new List<double>() };
        for (var round = -3; round < rounds; round++)
        {
            for (var v = 0; v < 2; v++)
            {
                Gemm.Tuning = GemmTuning.Default with { SmallRows = v == 1 };
                var start = Stopwatch.GetTimestamp();
                for (var r = 0; r < 200; r++)
                {
                    model.Predict(input, output);
                }

                Measurements.AddIf(round >= 0, times[v], Stopwatch.GetElapsedTime(start).TotalMicroseconds / 200);
            }

            Gemm.Tuning = GemmTuning.Default;
            var batchStart = Stopwatch.GetTimestamp();
            for (var r = 0; r < 4; r++)
            {
                model.PredictBatch(inputs, outputs);
            }

            Measurements.AddIf(round >= 0, times[2], Stopwatch.GetElapsedTime(batchStart).TotalMicroseconds / 4 / 256);
        }

        KernelSettings.MaxThreads = previousThreads;
        var (blocked, small, batched) = (Measurements.Median(times[0]), Measurements.Median(times[1]), Measurements.Median(times[2]));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FashionMlp, one thread, medians of {rounds} rounds: Predict {small:F2} µs (blocked path {blocked:F2} µs, {blocked / small:F1}×); PredictBatch of 256 {batched:F2} µs per sample."));
    }

}
