using System;
using System.Diagnostics;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Thousands of training steps of the Fashion MLP on one model, timed per thousand: what a short benchmark misses.
/// It found Adam 8× slower after 10,000 steps, from optimizer state decaying into subnormal floats; it also counts
/// the subnormal values in Adam's state, the gradients and the parameters.
/// </summary>
internal static class SustainedTraining
{
    public static void Run(int thousands, int threads)
    {
        KernelSettings.MaxThreads = threads;
        var training = new FashionTraining();
        var (model, adam) = (training.Model, training.Adam);
        Console.WriteLine($"FashionMlp, batch 64, Adam, {threads} thread(s); means per step over each thousand steps");
        for (var block = 0; block < thousands; block++)
        {
            double train = 0, update = 0;
            for (var s = 0; s < 1000; s++)
            {
                training.NextBatch();
                var t0 = Stopwatch.GetTimestamp();
                training.TrainStep();
                var t1 = Stopwatch.GetTimestamp();
                training.Update();
                var t2 = Stopwatch.GetTimestamp();
                train += Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds;
                update += Stopwatch.GetElapsedTime(t1, t2).TotalMicroseconds;
            }

            int Subnormal(ReadOnlySpan<float> values) { var n = 0; foreach (var x in values) if (float.IsSubnormal(x)) n++; return n; }
            var length = model.Parameters.Length;
            Console.WriteLine($"steps {(block + 1) * 1000}: TrainStep {train / 1000:F0} µs, Adam {update / 1000:F0} µs; subnormal m {Subnormal(adam.StateBuffer("m", length))}, v {Subnormal(adam.StateBuffer("v", length))}, gradients {Subnormal(model.Gradients)}, parameters {Subnormal(model.Parameters)}{(threads > 1 ? $"; helper share {ModelGen.Kernels.WorkSplitter.HelperShare:F2}" : "")}");
        }
    }
}
