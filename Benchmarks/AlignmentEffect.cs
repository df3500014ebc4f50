using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// The forward GEMM of a 784 → 128 layer at batch 32 on an input that starts on a cache line against the same input
/// shifted by 4 bytes, alternating in each round so that machine drift hits both alike. Prints medians.
/// Run: <c>dotnet run -c Release --project Benchmarks -- alignment</c>.
/// </summary>
public static class AlignmentEffect
{
    private const int Rounds = 400;

    public static void Run()
    {
        const int batch = 32, inputs = 784, units = 128;
        var random = new Random(1);
        var aligned = new AlignedBuffer(batch * inputs);
        var shifted = new float[(batch * inputs) + 16];
        var offset = FirstMisalignedOffset(shifted);
        for (var i = 0; i < batch * inputs; i++)
        {
            aligned.Span[i] = random.NextSingle();
            shifted[offset + i] = aligned.Span[i];
        }

        var weights = new AlignedBuffer(units * inputs);
        for (var i = 0; i < weights.Length; i++)
        {
            weights.Span[i] = random.NextSingle();
        }

        var output = new float[batch * units];
        var times = (Aligned: new List<double>(), Shifted: new List<double>());
        for (var round = -50; round < Rounds; round++)
        {
            foreach (var useAligned in round % 2 == 0 ? new[] { true, false } : new[] { false, true })
            {
                var start = Stopwatch.GetTimestamp();
                Gemm.MultiplyTransposed(useAligned ? aligned.Span : shifted.AsSpan(offset, batch * inputs), weights.Span, output, batch, units, inputs);
                var microseconds = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                if (round >= 0)
                {
                    (useAligned ? times.Aligned : times.Shifted).Add(microseconds);
                }
            }
        }

        times.Aligned.Sort();
        times.Shifted.Sort();
        var a = times.Aligned[Rounds / 2];
        var s = times.Shifted[Rounds / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forward X·Wᵀ 32×784→128: aligned input {a:F1} µs, input 4 bytes off a cache line {s:F1} µs, ratio {s / a:F2}"));
    }

    /// <summary>An index whose element starts 4 bytes past a 64-byte boundary.</summary>
    private static unsafe int FirstMisalignedOffset(float[] array)
    {
        fixed (float* start = array)
        {
            for (var i = 0; i < 16; i++)
            {
                if ((long)(start + i) % 64 == 4)
                {
                    return i;
                }
            }
        }

        throw new InvalidOperationException("The array is not 4-byte aligned.");
    }
}
