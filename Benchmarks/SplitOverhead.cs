using System;
using System.Diagnostics;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// What one split call costs beyond its work: <c>WorkSplitter.Run</c> over two parts whose body is a short loop (given
/// work large enough to split), against calling the body directly. A training step of the Fashion MLP makes six split
/// calls. Run: <c>dotnet run -c Release --project Benchmarks -- overhead</c>.
/// </summary>
internal static unsafe class SplitOverhead
{
    private static long _sink;

    private static void Body(void* context, int from, int to)
    {
        var sum = 0L;
        for (var i = from; i < to; i++)
        {
            sum += i;
        }

        _sink += sum;
    }

    public static void Run()
    {
        KernelSettings.MaxThreads = 2;
        for (var rep = 0; rep < 5; rep++)
        {
            var start = Stopwatch.GetTimestamp();
            const int calls = 100_000;
            for (var c = 0; c < calls; c++)
            {
                WorkSplitter.Run(&Body, null, 64, grain: 8, work: 1L << 24, reduction: 1024);
            }

            var split = Stopwatch.GetElapsedTime(start).TotalMicroseconds / calls;
            start = Stopwatch.GetTimestamp();
            for (var c = 0; c < calls; c++)
            {
                Body(null, 0, 64);
            }

            var direct = Stopwatch.GetElapsedTime(start).TotalMicroseconds / calls;
            Console.WriteLine($"split call {split:F3} µs, the body called directly {direct:F3} µs");
        }
    }
}
