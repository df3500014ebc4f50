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

/// <summary>
/// Where a training step of <see cref="FashionCnn"/> at batch 64 goes: each kernel call of the generated convolution
/// and pooling layers, on buffers of their own, and whole steps (TrainStep + Adam on shuffled Fashion images), 1 and
/// 2 threads interleaved. Run: <c>dotnet run -c Release --project Benchmarks -- conv 31</c>.
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
        var windows1 = new float[n * 784 * 9];
        var (w1, b1, dw1) = (Random(9 * 16), new float[16], new float[9 * 16]);
        var y1 = new float[n * 784 * 16];
        var (argmax1, y2) = (new int[n * 196 * 16], new float[n * 196 * 16]);
        var windows2 = new float[n * 196 * 144];
        var (w2, b2, dw2) = (Random(144 * 32), new float[32], new float[144 * 32]);
        var y3 = new float[n * 196 * 32];
        var (argmax2, y4) = (new int[n * 49 * 32], new float[n * 49 * 32]);
        var training = new CnnTraining();
        var cases = new (string Name, Action Body)[]
        {
            ("conv2d_1 im2col, (c, h, w) input, 64×784 windows of 9", () => Convolution.ImageToColumns(x, windows1, conv1, n)),
            ("conv2d_1 forward product 50176×9×16 + bias + ReLU", () => Gemm.Multiply(windows1, w1, y1, n * 784, 16, 9, b1, GemmActivation.Relu)),
            ("max_pooling2d_1 forward", () => Pooling.MaxForward(y1, y2, argmax1, pool1, n)),
            ("conv2d_2 im2col, (h, w, c) input, 64×196 windows of 144", () => Convolution.ImageToColumns(y2, windows2, conv2, n)),
            ("conv2d_2 forward product 12544×144×32 + bias + ReLU", () => Gemm.Multiply(windows2, w2, y3, n * 196, 32, 144, b2, GemmActivation.Relu)),
            ("max_pooling2d_2 forward", () => Pooling.MaxForward(y3, y4, argmax2, pool2, n)),
            ("max_pooling2d_2 backward", () => Pooling.MaxBackward(y4, argmax2, y3, pool2, n)),
            ("conv2d_2 ∂W 144×12544×32", () => Gemm.MultiplyTransposedA(windows2, y3, dw2, 144, 32, n * 196)),
            ("conv2d_2 windows' gradient 12544×32×144", () => Gemm.MultiplyTransposed(y3, w2, windows2, n * 196, 144, 32)),
            ("conv2d_2 col2im", () => Convolution.ColumnsToImage(windows2, y2, conv2, n)),
            ("max_pooling2d_1 backward", () => Pooling.MaxBackward(y2, argmax1, y1, pool1, n)),
            ("conv2d_1 ∂W 9×50176×16", () => Gemm.MultiplyTransposedA(windows1, y1, dw1, 9, 16, n * 784)),
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
            $"Training: {n * 1e6 / stepOne:N0} samples/s on 1 thread, {n * 1e6 / stepTwo:N0} on 2."));
    }

    private static float[] Random(int length)
    {
        var random = new Random(length);
        return Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f).ToArray();
    }

    /// <summary>The CNN trained as <see cref="FashionTraining"/> trains the MLP: shuffled real batches of 64, Adam 1e-3.</summary>
    private sealed class CnnTraining
    {
        private readonly AlignedBuffer _inputs = new(64 * FashionCnn.InputSize);
        private readonly float[] _labels = new float[64];
        private readonly TrainingBatches _batches = TrainingBatches.Load();
        private readonly FashionCnn _model = new(seed: 1);
        private readonly Adam _adam = new(1e-3f);

        public void Step()
        {
            _batches.Next(_inputs.Span, _labels);
            _model.TrainStep(_inputs.Span, _labels);
            _adam.Step(_model.Parameters, _model.Gradients);
        }
    }
}
