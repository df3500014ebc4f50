using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// The three products of a convolution's training step, forward, weight gradient and input gradient, for the second
/// convolution of <see cref="FashionCnn"/> and of <see cref="WideCnn"/> at batch 64, each over windows written first
/// (im2col; col2im for the input gradient) and read by the product (the kernels the generated code calls), as GFLOP/s
/// and as a fraction of the FMA peak timed right before it; medians of interleaved rounds, one thread.
/// Run: <c>dotnet run -c Release --project Benchmarks -- conv-products 21</c>.
/// </summary>
internal static class ConvolutionProducts
{
    public static void Run(int rounds)
    {
        const int n = 64;
        var cases = new List<(string Name, double Flops, Action Body)>();
        foreach (var (name, channels, filters) in new[] { ("FashionCnn conv2d_2", 16, 32), ("WideCnn conv2d_2", 32, 64) })
        {
            var g = new Window2D(channels, 14, 14, 3, 1, 1, 1, 14, 14, ChannelsLast: true);
            var random = new Random(filters);
            var x = Measurements.RandomValues(random, n * g.InputSize);
            var w = Measurements.RandomValues(random, g.PatchSize * filters);
            var bias = Measurements.RandomValues(random, filters);
            var dz = Measurements.RandomValues(random, n * g.Positions * filters);
            var (y, dw, dx, flipped) = (new float[dz.Length], new float[w.Length], new float[x.Length], new float[w.Length]);
            var columns = new float[n * g.Positions * g.PatchSize];
            var (m, k) = (n * g.Positions, g.PatchSize);
            var flops = 2.0 * m * k * filters;
            cases.Add(($"{name} forward, im2col + product", flops, () =>
            {
                Convolution.ImageToColumns(x, columns, g, n);
                Gemm.Multiply(columns, w, y, m, filters, k, bias, GemmActivation.Relu);
            }));
            cases.Add(($"{name} forward, product alone (windows already written)", flops, () => Gemm.Multiply(columns, w, y, m, filters, k, bias, GemmActivation.Relu)));
            cases.Add(($"{name} forward, implicit", flops, () => Convolution.Forward(x, w, bias, y, g, n, GemmActivation.Relu)));
            cases.Add(($"{name} ∂W, product alone (windows already written)", flops, () => Gemm.MultiplyTransposedA(columns, dz, dw, k, filters, m)));
            cases.Add(($"{name} ∂W, implicit, one product", flops, () => Convolution.WeightGradient(x, dz, dw, g, n, n)));
            cases.Add(($"{name} ∂W, implicit, 4 samples a product", flops, () => Convolution.WeightGradient(x, dz, dw, g, n, 4)));
            cases.Add(($"{name} ∂x, product + col2im", flops, () =>
            {
                Gemm.MultiplyTransposed(dz, w, columns, m, k, filters);
                Convolution.ColumnsToImage(columns, dx, g, n);
            }));
            cases.Add(($"{name} ∂x, product alone", flops, () => Gemm.MultiplyTransposed(dz, w, columns, m, k, filters)));
            cases.Add(($"{name} ∂x, implicit", flops, () => Convolution.InputGradient(dz, w, dx, g, n, flipped)));
        }

        // The strided layers of the Fashion ResNet (3 × 3 and 1 × 1 at stride 2): their input gradient through the
        // windows' gradient and col2im, and as one stride-1 convolution per phase (what the generated code calls).
        foreach (var (name, channels, filters, side, kernel) in new[]
        {
            ("FashionResNet 3×3/2 16→32", 16, 32, 28, 3), ("FashionResNet 1×1/2 16→32", 16, 32, 28, 1),
            ("FashionResNet 3×3/2 32→64", 32, 64, 14, 3), ("FashionResNet 1×1/2 32→64", 32, 64, 14, 1),
        })
        {
            var output = (side + 1) / 2;
            var pad = Math.Max(((output - 1) * 2) + kernel - side, 0) / 2;
            var g = new Window2D(channels, side, side, kernel, 2, pad, pad, output, output, ChannelsLast: true);
            var random = new Random(filters + kernel);
            var w = Measurements.RandomValues(random, g.PatchSize * filters);
            var dz = Measurements.RandomValues(random, n * g.Positions * filters);
            var dx = new float[n * g.InputSize];
            var columns = new float[n * g.Positions * g.PatchSize];
            var scratch = new float[Convolution.InputGradientScratch(g, filters) * n];
            var (m, k) = (n * g.Positions, g.PatchSize);
            var flops = 2.0 * m * k * filters;
            cases.Add(($"{name} ∂x, product + col2im", flops, () =>
            {
                Gemm.MultiplyTransposed(dz, w, columns, m, k, filters);
                Convolution.ColumnsToImage(columns, dx, g, n);
            }));
            cases.Add(($"{name} ∂x, one convolution per phase", flops, () => Convolution.InputGradient(dz, w, dx, g, n, scratch)));
        }

        KernelSettings.MaxThreads = 1;
        var rates = cases.Select(_ => new List<double>()).ToArray();
        var ofPeak = cases.Select(_ => new List<double>()).ToArray();
        for (var round = -2; round < rounds; round++)
        {
            for (var c = 0; c < cases.Count; c++)
            {
                var peakStart = Stopwatch.GetTimestamp();
                var peak = FmaPeak.Run(200_000) / Stopwatch.GetElapsedTime(peakStart).TotalSeconds;
                var start = Stopwatch.GetTimestamp();
                cases[c].Body();
                var rate = cases[c].Flops / Stopwatch.GetElapsedTime(start).TotalSeconds;
                Measurements.AddIf(round >= 0, rates[c], rate / 1e9);
                Measurements.AddIf(round >= 0, ofPeak[c], rate / peak);
            }
        }

        Console.WriteLine($"Convolution products at batch {n}, one thread, {Measurements.CpuModel()}; medians of {rounds} interleaved rounds");
        Console.WriteLine("| product | GFLOP/s | of the FMA peak |");
        Console.WriteLine("|---|--:|--:|");
        for (var c = 0; c < cases.Count; c++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {cases[c].Name} | {Measurements.Median(rates[c]):F1} | {100 * Measurements.Median(ofPeak[c]):F0} % |"));
        }
    }
}
