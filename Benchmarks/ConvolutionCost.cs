using System;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>The sample's convolutional network (Samples/FashionMnist/FashionCnn.cs), declared again for the benchmarks.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(64, Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class FashionCnn;

/// <summary><see cref="FashionCnn"/> with batch normalization per channel after each convolution: what it costs a step.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm]
[MaxPool2D(2)]
[Flatten]
[Dense(64, Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class FashionCnnNormalized;

/// <summary>
/// The convolutional network of the comparison with TorchSharp and PyTorch in docs/performance.md ("Against PyTorch"):
/// twice the sample's filters and dense units. 25.0 MFLOP a training sample (see <see cref="ConvolutionCost"/>).
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(64, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(128, Activation.Relu)]
[Dense(10)]
public partial class WideCnn;

/// <summary>
/// Where a training step of <see cref="FashionCnn"/> at batch 64 goes: each kernel call of the generated convolution
/// and pooling layers, on buffers of their own, and whole steps (TrainStep + Adam on shuffled Fashion images), also
/// of <see cref="FashionCnnNormalized"/>, 1 and 2 threads interleaved; conv2d_2 both through im2col and as the generated code
/// now runs it (implicit GEMM), interleaved in the same rounds. Run: <c>dotnet run -c Release --project Benchmarks -- conv 31</c>.
/// </summary>
internal static class ConvolutionCost
{
    public static void Run(int rounds)
    {
        const int n = 64;
        var conv1 = new Window2D(1, 28, 28, 3, 1, 1, 1, 28, 28, ChannelsLast: false);
        var pool1 = new Window2D(16, 28, 28, 2, 2, 0, 0, 14, 14, ChannelsLast: true);
        var conv2 = new Window2D(16, 14, 14, 3, 1, 1, 1, 14, 14, ChannelsLast: true);
        var pool2 = new Window2D(32, 14, 14, 2, 2, 0, 0, 7, 7, ChannelsLast: true);
        var x = Random(n * 784);
        var windows = new float[18 * 784 * 9]; // the generated model's window buffer: its larger chunk, conv2d_1's
        var (w1, b1, dw1) = (Random(9 * 16), new float[16], new float[9 * 16]);
        var y1 = new float[n * 784 * 16];
        var (argmax1, y2) = (new int[n * 196 * 16], new float[n * 196 * 16]);
        var (w2, b2, dw2) = (Random(144 * 32), new float[32], new float[144 * 32]);
        var y3 = new float[n * 196 * 32];
        var (argmax2, y4) = (new int[n * 49 * 32], new float[n * 49 * 32]);
        var training = new ImageTraining(new FashionCnn(seed: 1));
        var wide = new ImageTraining(new WideCnn(seed: 1));
        var wideConv2 = new Window2D(32, 14, 14, 3, 1, 1, 1, 14, 14, ChannelsLast: true);
        var (wideX, wideW, wideB, wideDz, flipped) = (Random(n * 196 * 32), Random(288 * 64), Random(64), Random(n * 196 * 64), new float[288 * 64]);
        var wideWindows = new float[4 * 196 * 288];
        var normalized = new ImageTraining(new FashionCnnNormalized(seed: 1));

        // As the generated code runs them: a chunk of samples' windows built, then the products that read them.
        void Forward(float[] input, Window2D window, int chunk, float[] w, float[] b, float[] output, int filters)
        {
            for (var start = 0; start < n; start += chunk)
            {
                var count = Math.Min(chunk, n - start);
                var rows = windows.AsSpan(0, count * window.Positions * window.PatchSize);
                Convolution.ImageToColumns(input.AsSpan(start * window.InputSize, count * window.InputSize), rows, window, count);
                Gemm.Multiply(rows, w, output.AsSpan(start * window.Positions * filters, count * window.Positions * filters), count * window.Positions, filters, window.PatchSize, b, GemmActivation.Relu);
            }
        }

        // implicitGemm: both gradients as the generated code computes them (Convolution.WeightGradient, InputGradient).
        void Backward(float[] input, Window2D window, int chunk, float[] w, float[] dz, float[] dw, float[]? dx, int filters, bool implicitGemm = false)
        {
            if (implicitGemm)
            {
                Convolution.WeightGradient(input, dz, dw, window, n, chunk);
                if (dx is not null)
                {
                    Convolution.InputGradient(dz, w, dx, window, n, flipped);
                }

                return;
            }

            for (var start = 0; start < n; start += chunk)
            {
                var count = Math.Min(chunk, n - start);
                var rows = windows.AsSpan(0, count * window.Positions * window.PatchSize);
                var dzChunk = dz.AsSpan(start * window.Positions * filters, count * window.Positions * filters);
                if (!implicitGemm)
                {
                    Convolution.ImageToColumns(input.AsSpan(start * window.InputSize, count * window.InputSize), rows, window, count);
                    if (start == 0)
                    {
                        Gemm.MultiplyTransposedA(rows, dzChunk, dw, window.PatchSize, filters, count * window.Positions);
                    }
                    else
                    {
                        Gemm.MultiplyAddTransposedA(rows, dzChunk, dw, window.PatchSize, filters, count * window.Positions);
                    }
                }

                if (dx is not null)
                {
                    Gemm.MultiplyTransposed(dzChunk, w, rows, count * window.Positions, window.PatchSize, filters);
                    Convolution.ColumnsToImage(rows, dx.AsSpan(start * window.InputSize, count * window.InputSize), window, count);
                }
            }
        }

        // The input gradient as the generated code ran it before: a chunk's windows' gradient, then col2im.
        void InputGradientByColumns(float[] dz, float[] w, float[] dx, Window2D window, int chunk, int filters, float[] rows)
        {
            for (var start = 0; start < n; start += chunk)
            {
                var count = Math.Min(chunk, n - start);
                var gradient = rows.AsSpan(0, count * window.Positions * window.PatchSize);
                Gemm.MultiplyTransposed(dz.AsSpan(start * window.Positions * filters, count * window.Positions * filters), w, gradient, count * window.Positions, window.PatchSize, filters);
                Convolution.ColumnsToImage(gradient, dx.AsSpan(start * window.InputSize, count * window.InputSize), window, count);
            }
        }

        var cases = new (string Name, Action Body)[]
        {
            ("conv2d_2 ∂x: windows' gradient and col2im, 4 samples at a time", () => InputGradientByColumns(y3, w2, y2, conv2, 4, 32, windows)),
            ("conv2d_2 ∂x: dz convolved with the flipped kernel, windows read in place (generated)", () => Convolution.InputGradient(y3, w2, y2, conv2, n, flipped)),
            ("WideCnn conv2d_2 forward: 12544×288×64, windows read in place (generated)", () => Convolution.Forward(wideX, wideW, wideB, wideDz, wideConv2, n, GemmActivation.Relu)),
            ("WideCnn conv2d_2 ∂W: windows read in place (generated)", () => Convolution.WeightGradient(wideX, wideDz, wideW, wideConv2, n, 4)),
            ("WideCnn conv2d_2 ∂x: windows' gradient and col2im, 4 samples at a time", () => InputGradientByColumns(wideDz, wideW, wideX, wideConv2, 4, 64, wideWindows)),
            ("WideCnn conv2d_2 ∂x: windows read in place (generated)", () => Convolution.InputGradient(wideDz, wideW, wideX, wideConv2, n, flipped)),
            ("WideCnn whole step: batch gathered, TrainStep, Adam", wide.Step),
            ("conv2d_1 forward: im2col and 50176×9×16 product, 18 samples at a time", () => Forward(x, conv1, 18, w1, b1, y1, 16)),
            ("max_pooling2d_1 forward", () => Pooling.MaxForward(y1, y2, argmax1, pool1, n)),
            ("conv2d_2 forward: im2col and 12544×144×32 product, 4 samples at a time", () => Forward(y2, conv2, 4, w2, b2, y3, 32)),
            ("conv2d_2 forward: windows read in place (generated)", () => Convolution.Forward(y2, w2, b2, y3, conv2, n, GemmActivation.Relu)),
            ("max_pooling2d_2 forward", () => Pooling.MaxForward(y3, y4, argmax2, pool2, n)),
            ("max_pooling2d_2 backward", () => Pooling.MaxBackward(y4, argmax2, y3, pool2, n)),
            ("conv2d_2 ∂W: im2col and 144×784×32 products, 4 samples at a time", () => Backward(y2, conv2, 4, w2, y3, dw2, null, 32)),
            ("conv2d_2 ∂W: windows read in place (generated)", () => Backward(y2, conv2, 4, w2, y3, dw2, null, 32, implicitGemm: true)),
            ("conv2d_2 backward: im2col, ∂W, windows' gradient, col2im, 4 samples at a time", () => Backward(y2, conv2, 4, w2, y3, dw2, y2, 32)),
            ("conv2d_2 backward: ∂W, then ∂x, windows read in place (generated)", () => Backward(y2, conv2, 4, w2, y3, dw2, y2, 32, implicitGemm: true)),
            ("max_pooling2d_1 backward", () => Pooling.MaxBackward(y2, argmax1, y1, pool1, n)),
            ("conv2d_1 backward: im2col and ∂W, 18 samples at a time", () => Backward(x, conv1, 18, w1, y1, dw1, null, 16)),
            ("with batch normalization after each convolution: whole step", normalized.Step),
            ("whole step: batch gathered, TrainStep, Adam", training.Step),
        };

        var medians = Measurements.MedianOnOneAndTwoThreads(cases.Select(c => c.Body).ToArray(), rounds, warmUp: 5);
        Console.WriteLine($"FashionCnn at batch {n}; medians of {rounds} interleaved rounds, µs");
        Console.WriteLine("| call | 1 thread | 2 threads | 2 vs 1 |");
        Console.WriteLine("|---|--:|--:|--:|");
        foreach (var ((name, _), (one, two)) in cases.Zip(medians))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {one:F1} | {two:F1} | {one / two:F2}× |"));
        }

        var (stepOne, stepTwo) = medians[^1];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FashionCnn training: {n * 1e6 / stepOne:N0} samples/s on 1 thread, {n * 1e6 / stepTwo:N0} on 2."));
        var (wideOne, wideTwo) = medians[Array.FindIndex(cases, c => c.Name.StartsWith("WideCnn whole step", StringComparison.Ordinal))];
        var peak = FmaPeak.Measure();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"WideCnn training: {n * 1e6 / wideOne:N0} samples/s on 1 thread ({WideCnnFlops * n / wideOne / 1e3:F1} GFLOP/s, {100 * WideCnnFlops * n / wideOne / 1e3 / peak:F0} % of a {peak:F1} GFLOP/s FMA peak measured now), {n * 1e6 / wideTwo:N0} on 2 ({wideOne / wideTwo:F2}×)."));
    }

    /// <summary>
    /// <see cref="WideCnn"/> (or <see cref="ComparisonMlp"/>) trained for <paramref name="steps"/> steps on one thread,
    /// nothing else: a process to profile (<c>perf record</c>). Run: <c>dotnet run -c Release --project Benchmarks --
    /// wide-cnn 2000</c> (<c>wide-cnn 20000 mlp</c> for the MLP).
    /// </summary>
    public static void Train(int steps, bool mlp = false)
    {
        KernelSettings.MaxThreads = 1;
        var training = new ImageTraining(mlp ? new ComparisonMlp(seed: 1) : new WideCnn(seed: 1));
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var step = 0; step < steps; step++)
        {
            training.Step();
        }

        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(mlp ? "ComparisonMlp" : "WideCnn")}: {steps} steps of 64 in {seconds:F2} s, {steps * 64 / seconds:N0} samples/s on one thread."));
    }

    /// <summary>
    /// <see cref="WideCnn"/>'s floating-point operations per training sample: 2 per multiply-add, forward, weight
    /// gradient and input gradient of every convolution and dense layer, except the first layer's input gradient.
    /// </summary>
    internal const double WideCnnFlops =
        (2.0 * 784 * 9 * 32 * 2) + (3.0 * 196 * 288 * 64 * 2) + (3.0 * 3136 * 128 * 2) + (3.0 * 128 * 10 * 2);

    private static float[] Random(int length)
    {
        var random = new Random(length);
        return Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f).ToArray();
    }

    /// <summary>A model of Fashion images trained as <see cref="FashionTraining"/> trains the MLP: shuffled real batches of 64, Adam 1e-3.</summary>
    private sealed class ImageTraining(ITrainableModel model)
    {
        private readonly AlignedBuffer _inputs = new(64 * FashionCnn.InputSize);
        private readonly float[] _labels = new float[64];
        private readonly TrainingBatches _batches = TrainingBatches.Load();
        private readonly ITrainableModel _model = model;
        private readonly Adam _adam = new(1e-3f);

        public void Step()
        {
            _batches.Next(_inputs.Span, _labels);
            _model.TrainStep(_inputs.Span, _labels);
            _adam.Step(_model.Parameters, _model.Gradients);
        }
    }
}
