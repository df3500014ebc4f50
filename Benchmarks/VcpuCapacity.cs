using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// Whole training steps of the Fashion MLP (TrainStep + Adam, batch 64) on one thread pinned to each vCPU in turn, and
/// on two threads, interleaved: how fast each vCPU is now, and so what two threads could reach at best. With one vCPU
/// slower than the other, two threads can at most do the work at the sum of the two rates, which is less than twice the
/// faster one's; the issue's ratio is against a one-thread run on whichever vCPU it got. Two threads run pinned each
/// way round and free.
/// </summary>
internal static partial class VcpuCapacity
{
    public static void Run(int rounds)
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessorCount < 2)
        {
            Console.WriteLine("Needs Linux and two processors.");
            return;
        }

        const int batch = TrainingThroughputBenchmarks.Batch;
        var training = new FashionTraining();
        (string Name, int Threads, ulong Cpus, ulong HelperCpus)[] variants =
        [
            ("1 thread on cpu0", 1, 0b01, 0b10), ("1 thread on cpu1", 1, 0b10, 0b01), ("2 threads, the caller on cpu0 and the helper on cpu1", 2, 0b01, 0b10),
            ("2 threads, the caller on cpu1 and the helper on cpu0", 2, 0b10, 0b01), ("2 threads, both free", 2, 0b11, 0b11),
        ];
        var times = variants.Select(_ => new List<double>()).ToArray();
        var helped = new long[variants.Length];
        // The helper thread starts on the first split step; then each variant places it.
        KernelSettings.MaxThreads = 2;
        training.Step();
        var helper = HelperThreadId();
        for (var round = -50; round < rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                Pin(0, variants[v].Cpus);
                Pin(helper, variants[v].HelperCpus);
                KernelSettings.MaxThreads = variants[v].Threads;
                // One step untimed: the helper wakes (two threads), or the thread settles on its vCPU.
                training.Step();
                var before = Gemm.ProductsWithPartials;
                var start = Stopwatch.GetTimestamp();
                for (var step = 0; step < 5; step++)
                {
                    training.Step();
                }

                if (round >= 0)
                {
                    times[v].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / 5);
                    helped[v] += Gemm.ProductsWithPartials - before;
                }
            }
        }

        Pin(0, 0b11);
        Pin(helper, 0b11);
        Console.WriteLine($"depth splits the helper took part in: {string.Join(", ", helped)} of {rounds * 5} steps");
        var medians = times.Select(Measurements.Median).ToArray();
        var (cpu0, cpu1, two) = (medians[0], medians[1], medians[4]);
        var faster = Math.Min(cpu0, cpu1);
        // Both vCPUs working at their own rates on perfectly divisible work: the best two threads can do.
        var capacity = 1 / ((1 / cpu0) + (1 / cpu1));
        Console.WriteLine($"FashionMlp, TrainStep + Adam, batch {batch}; medians of {rounds} interleaved rounds of 5 steps each");
        foreach (var (variant, i) in variants.Select((v, i) => (v, i)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{variant.Name}: {medians[i]:F1} µs per step, {batch * 1e6 / medians[i]:N0} samples/s"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"2 threads vs the faster vCPU: {faster / two:F2}×; the two vCPUs' combined rate allows {faster / capacity:F2}× ({capacity:F1} µs per step); two threads reach {capacity / two:P0} of it"));
    }

    /// <summary>The kernel helper's thread id, found by the name WorkSplitter gives it.</summary>
    private static int HelperThreadId()
    {
        foreach (var task in System.IO.Directory.GetDirectories("/proc/self/task"))
        {
            if (System.IO.File.ReadAllText(task + "/comm").StartsWith("ModelGen kernel", StringComparison.Ordinal))
            {
                return int.Parse(System.IO.Path.GetFileName(task), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("The kernel helper thread was not found.");
    }

    /// <summary>Restricts a thread (0: the calling one) to the vCPUs in <paramref name="cpus"/>.</summary>
    private static void Pin(int thread, ulong cpus)
    {
        if (SchedSetAffinity(thread, sizeof(ulong), ref cpus) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Linux's sched_setaffinity: pid 0 is the calling thread.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint size, ref ulong mask);
}
