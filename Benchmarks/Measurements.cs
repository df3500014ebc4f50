using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>What the hand-rolled measurement modes share: medians, rounds kept after warm-up, random operands.</summary>
internal static class Measurements
{
    /// <summary>The median (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// Median microseconds of each of <paramref name="cases"/> on one thread and on two: every round runs all of them
    /// once per setting, the settings taking turns on which goes first, after <paramref name="warmUp"/> untimed rounds.
    /// </summary>
    /// <returns>For each case, its medians on one thread and on two.</returns>
    public static (double One, double Two)[] MedianOnOneAndTwoThreads(IReadOnlyList<Action> cases, int rounds, int warmUp)
    {
        var times = cases.Select(_ => new Dictionary<int, List<double>> { [1] = [], [2] = [] }).ToArray();
        for (var round = -warmUp; round < rounds; round++)
        {
            foreach (var threads in round % 2 == 0 ? new[] { 1, 2 } : new[] { 2, 1 })
            {
                KernelSettings.MaxThreads = threads;
                for (var c = 0; c < cases.Count; c++)
                {
                    var start = Stopwatch.GetTimestamp();
                    cases[c]();
                    AddIf(round >= 0, times[c][threads], Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }
        }

        KernelSettings.MaxThreads = 1;
        return times.Select(t => (Median(t[1]), Median(t[2]))).ToArray();
    }

    /// <summary>Adds a measurement once the warm-up rounds are over.</summary>
    public static void AddIf(bool condition, List<double> list, double value)
    {
        if (condition)
        {
            list.Add(value);
        }
    }

    /// <summary><paramref name="length"/> values uniform in [0, 1).</summary>
    public static float[] RandomValues(Random random, int length)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = random.NextSingle();
        }

        return values;
    }

    /// <summary>
    /// A file of the Fashion sample's embedded data (Samples/FashionMnist/Data: 3,000 training and 1,000 test images),
    /// found from the binary's folder up to the repository's root.
    /// </summary>
    public static string FashionDataFile(string name)
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "ModelGen.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return Path.Combine(directory ?? throw new InvalidOperationException("Run the benchmarks from inside the repository."), "Samples", "FashionMnist", "Data", name);
    }

    /// <summary>The processor's name as lscpu's "Model name" gives it (the first "model name" of /proc/cpuinfo), or "unknown".</summary>
    public static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        var line = File.Exists(cpuinfo) ? File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    /// <summary>
    /// Median microseconds of one product of <paramref name="shape"/> under each of <paramref name="variants"/> settings,
    /// the variants taking turns round by round (so the machine's drift falls on all alike): <paramref name="select"/>
    /// applies variant v's settings, then the product runs once untimed and enough times to take about 20 M multiply-adds.
    /// </summary>
    public static double[] MedianProductTimes(ProductShape shape, Random random, int rounds, int variants, Action<int> select)
    {
        var (m, k, n) = (shape.M, shape.K, shape.N);
        var (a, b, c) = (RandomValues(random, m * k), RandomValues(random, k * n), new float[m * n]);
        var repeats = Math.Max(2, 20_000_000 / (m * n * k));
        var times = Enumerable.Range(0, variants).Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var v = 0; v < variants; v++)
            {
                select(v);
                Gemm.Compute(a, shape.TransposeA, b, shape.TransposeB, c, m, n, k, accumulate: false);
                var start = Stopwatch.GetTimestamp();
                for (var r = 0; r < repeats; r++)
                {
                    Gemm.Compute(a, shape.TransposeA, b, shape.TransposeB, c, m, n, k, accumulate: false);
                }

                times[v].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / repeats);
            }
        }

        return times.Select(Median).ToArray();
    }
}

/// <summary>A product C[M×N] = op(A)·op(B) with a depth of K, named by the role it plays in a dense layer.</summary>
internal readonly record struct ProductShape(int M, int K, int N, bool TransposeA = false, bool TransposeB = false)
{
    public string Role => TransposeA ? "weight grad" : TransposeB ? "input grad" : M == K && K == N ? "square" : "forward";
}
