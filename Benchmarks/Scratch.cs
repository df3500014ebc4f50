using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

internal static class Scratch
{
    public static void Run(int rounds)
    {
        KernelSettings.MaxThreads = 1;
        const int n = 64;
        var c1 = new Window2D(1, 28, 28, 3, 1, 1, 1, 28, 28, false);
        var p1 = new Window2D(16, 28, 28, 2, 2, 0, 0, 14, 14, true);
        var c2 = new Window2D(16, 14, 14, 3, 1, 1, 1, 14, 14, true);
        var p2 = new Window2D(32, 14, 14, 2, 2, 0, 0, 7, 7, true);
        var x = Rand(n * 784);
        var cols1 = new float[n * 784 * 9];
        var w1 = Rand(9 * 16); var b1 = new float[16];
        var y1 = new float[n * 784 * 16];
        var a1 = new int[n * 196 * 16]; var y2 = new float[n * 196 * 16];
        var cols2 = new float[n * 196 * 144];
        var w2 = Rand(144 * 32); var b2 = new float[32];
        var y3 = new float[n * 196 * 32];
        var a3 = new int[n * 49 * 32]; var y4 = new float[n * 49 * 32];
        var dw2 = new float[144 * 32]; var dw1 = new float[9 * 16]; var dw16 = new float[256];
        var cases = new (string, Action)[]
        {
            ("im2col conv1 (CHW, C=1)", () => Convolution.ImageToColumns(x, cols1, c1, n)),
            ("gemm conv1 50176×9×16", () => Gemm.Multiply(cols1, w1, y1, n * 784, 16, 9, b1, GemmActivation.Relu)),
            ("pool1 fwd", () => Pooling.MaxForward(y1, y2, a1, p1, n)),
            ("im2col conv2 (HWC, C=16)", () => Convolution.ImageToColumns(y2, cols2, c2, n)),
            ("gemm conv2 12544×144×32", () => Gemm.Multiply(cols2, w2, y3, n * 196, 32, 144, b2, GemmActivation.Relu)),
            ("pool2 fwd", () => Pooling.MaxForward(y3, y4, a3, p2, n)),
            ("pool2 bwd", () => Pooling.MaxBackward(y4, a3, y3, p2, n)),
            ("relu bwd conv2", () => Activations.ReluBackward(y3, y3)),
            ("gemm conv2 dW 144×12544×32", () => Gemm.MultiplyTransposedA(cols2, y3, dw2, 144, 32, n * 196)),
            ("colsums conv2", () => Reductions.ColumnSums(y3, b2)),
            ("gemm conv2 dcols 12544×32×144", () => Gemm.MultiplyTransposed(y3, w2, cols2, n * 196, 144, 32)),
            ("col2im conv2", () => Convolution.ColumnsToImage(cols2, y2, c2, n)),
            ("pool1 bwd", () => Pooling.MaxBackward(y2, a1, y1, p1, n)),
            ("relu bwd conv1", () => Activations.ReluBackward(y1, y1)),
            ("gemm conv1 dW 9×50176×16", () => Gemm.MultiplyTransposedA(cols1, y1, dw1, 9, 16, n * 784)),
            ("colsums conv1", () => Reductions.ColumnSums(y1, b1)),
            ("gemm TN 16×50176×16", () => Gemm.MultiplyTransposedA(y1, y1, dw16, 16, 16, n * 784)),
            ("gemm TN 16×50176×9", () => Gemm.MultiplyTransposedA(y1, cols1, dw1, 16, 9, n * 784)),
            ("gemm TN 9×4096×16", () => Gemm.MultiplyTransposedA(cols1.AsSpan(0, 9 * 4096), y1.AsSpan(0, 16 * 4096), dw1, 9, 16, 4096)),
        };
        for (var rep = 0; rep < 3; rep++)
        {
            var t0 = Stopwatch.GetTimestamp();
            for (var i = 0; i < 100; i++) Convolution.ImageToColumns(x, cols1, c1, n);
            Console.WriteLine($"im2col conv1 back to back: {Stopwatch.GetElapsedTime(t0).TotalMicroseconds / 100:F1} µs");
            t0 = Stopwatch.GetTimestamp();
            for (var i = 0; i < 100; i++) Convolution.ImageToColumns(y2, cols2, c2, n);
            Console.WriteLine($"im2col conv2 back to back: {Stopwatch.GetElapsedTime(t0).TotalMicroseconds / 100:F1} µs");
        }

        var times = cases.Select(_ => new List<double>()).ToArray();
        for (var r = -5; r < rounds; r++)
        {
            for (var i = 0; i < cases.Length; i++)
            {
                var t = Stopwatch.GetTimestamp();
                cases[i].Item2();
                if (r >= 0) times[i].Add(Stopwatch.GetElapsedTime(t).TotalMicroseconds);
            }
        }

        double total = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            var m = Measurements.Median(times[i]);
            total += m;
            Console.WriteLine($"{cases[i].Item1,-32} {m,9:F1} µs");
        }

        Console.WriteLine($"total {total:F0} µs per batch of 64");
    }

    private static float[] Rand(int length)
    {
        var r = new Random(length);
        return Enumerable.Range(0, length).Select(_ => r.NextSingle() - 0.5f).ToArray();
    }
}
