using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using ModelGen.Onnx;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Exports a model, runs the file in ONNX Runtime and compares numbers, for the ONNX export tests.</summary>
internal static class OnnxHarness
{
    /// <summary>
    /// Where every exported model is also saved, when set: <c>.ci/onnx-check</c> runs the ONNX export tests with it and
    /// gives the files to the real <c>onnx.checker</c>.
    /// </summary>
    public const string ExportDirectoryVariable = "MODELGEN_ONNX_EXPORT_DIR";

    /// <summary>The file's bytes (<see cref="OnnxExport.Write"/>); also saved as <c>name.onnx</c> when <see cref="ExportDirectoryVariable"/> is set.</summary>
    public static byte[] Export(string name, ITrainableModel model, int[] inputShape, IReadOnlyList<OnnxLayer> layers)
    {
        var bytes = OnnxExport.Write(model, inputShape, layers);
        var directory = Environment.GetEnvironmentVariable(ExportDirectoryVariable);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, name + ".onnx");
            OnnxExport.Save(model, inputShape, layers, path);
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }

        return bytes;
    }

    /// <summary>Runs the graph on a batch in ONNX Runtime (one thread); checks the declared and the returned shapes.</summary>
    public static float[] Run(byte[] onnx, float[] inputs, int[] inputShape, int outputs)
    {
        var sampleSize = inputShape.Aggregate(1, (a, b) => a * b);
        var batch = inputs.Length / sampleSize;
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);

        var input = Assert.Single(session.InputMetadata);
        Assert.Equal(OnnxExport.InputName, input.Key);
        Assert.Equal([-1, .. inputShape], input.Value.Dimensions);
        Assert.Equal(OnnxExport.BatchDimension, input.Value.SymbolicDimensions[0]);
        var output = Assert.Single(session.OutputMetadata);
        Assert.Equal(OnnxExport.OutputName, output.Key);
        Assert.Equal([-1, outputs], output.Value.Dimensions);
        Assert.Equal("ModelGen", session.ModelMetadata.ProducerName);

        using var value = OrtValue.CreateTensorValueFromMemory(inputs, [batch, .. inputShape.Select(d => (long)d)]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [OnnxExport.InputName], [value], [OnnxExport.OutputName]);
        var result = Assert.Single(results);
        Assert.Equal([batch, outputs], result.GetTensorTypeAndShape().Shape);
        return result.GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Element by element: |actual − expected| ≤ tolerance · max(1, |expected|).</summary>
    public static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var allowed = tolerance * Math.Max(1.0, Math.Abs(expected[i]));
            if (!(Math.Abs(actual[i] - expected[i]) <= allowed))
            {
                Assert.Fail($"value {i}: expected {expected[i]:R}, got {actual[i]:R} (difference {Math.Abs(actual[i] - expected[i]):E2}, allowed {allowed:E2})");
            }
        }
    }

    public static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double tolerance = 1e-5) =>
        AssertClose(expected.Select(v => (double)v).ToArray(), actual, tolerance);

    /// <summary>Uniform values in [−scale, scale).</summary>
    public static float[] RandomValues(int count, int seed, float scale = 2f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => ((random.NextSingle() * 2f) - 1f) * scale).ToArray();
    }

    /// <summary>
    /// Gives every tensor that starts as a constant a random value, so that the export of each is seen: biases and β in
    /// [−0.3, 0.3], normalization γ in [0.5, 1.5], running means in [−0.5, 0.5], running variances in [0.4, 2].
    /// Weights keep the constructor's initialization.
    /// </summary>
    public static void RandomizeConstants(ITrainableModel model, int seed)
    {
        var random = new Random(seed);
        foreach (var tensor in model.ParameterTensors)
        {
            var values = tensor.Slice(tensor.Buffer(model));
            (float Low, float High)? range =
                tensor.Name.EndsWith(".running_mean", StringComparison.Ordinal) ? (-0.5f, 0.5f)
                : tensor.Name.EndsWith(".running_var", StringComparison.Ordinal) ? (0.4f, 2f)
                : tensor.Name.EndsWith(".bias", StringComparison.Ordinal) ? (-0.3f, 0.3f)
                : tensor.Name.EndsWith(".weight", StringComparison.Ordinal) && tensor.Shape.Length == 1 ? (0.5f, 1.5f)
                : null;
            if (range is var (low, high))
            {
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = low + (random.NextSingle() * (high - low));
                }
            }
        }
    }
}

/// <summary>
/// A hand-made <see cref="ITrainableModel"/> for the parts of the export no generated model has in PyTorch's layout yet
/// (convolutions [out, in, kh, kw]): named tensors with random values, and the sizes and loss the exporter reads.
/// Nothing else is implemented.
/// </summary>
internal sealed class TensorModel : ITrainableModel
{
    private readonly float[] parameters;
    private readonly float[] state;
    private readonly ParameterTensor[] tensors;

    /// <param name="tensors">Name, shape and whether it lives in <see cref="State"/>, each filled with random values.</param>
    public TensorModel(int inputSize, int outputSize, Loss loss, int seed, params (string Name, int[] Shape, bool InState)[] tensors)
    {
        InputSize = inputSize;
        OutputSize = outputSize;
        Loss = loss;
        var list = new List<ParameterTensor>();
        int parameterCount = 0, stateCount = 0;
        foreach (var (name, shape, inState) in tensors)
        {
            var tensor = new ParameterTensor(name, inState ? stateCount : parameterCount, shape) { InState = inState };
            if (inState)
            {
                stateCount += tensor.Length;
            }
            else
            {
                parameterCount += tensor.Length;
            }

            list.Add(tensor);
        }

        this.tensors = [.. list];
        parameters = new float[parameterCount];
        state = new float[stateCount];
        ParameterCount = parameterCount;
        var random = new Random(seed);
        foreach (var tensor in this.tensors)
        {
            var values = tensor.Slice(tensor.Buffer(this));
            var isVariance = tensor.Name.EndsWith(".running_var", StringComparison.Ordinal);
            var isGamma = !isVariance && tensor.Name.EndsWith(".gamma", StringComparison.Ordinal);
            for (var i = 0; i < values.Length; i++)
            {
                var u = random.NextSingle();
                values[i] = isVariance ? 0.3f + (1.7f * u) : isGamma ? 0.5f + u : (u * 1.2f) - 0.6f;
            }
        }
    }

    public int InputSize { get; }

    public int OutputSize { get; }

    public int ParameterCount { get; }

    public Loss Loss { get; }

    public Span<float> Parameters => parameters;

    public Span<float> State => state;

    public IReadOnlyList<ParameterTensor> ParameterTensors => tensors;

    /// <summary>A tensor's values in file order, as doubles.</summary>
    public double[] Values(string name)
    {
        var tensor = tensors.Single(t => t.Name == name);
        return tensor.Slice(tensor.Buffer(this)).ToArray().Select(v => (double)v).ToArray();
    }

    public Span<float> Gradients => throw new NotSupportedException();

    public SeededRandom TrainingRandom { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public void Predict(ReadOnlySpan<float> input, Span<float> output) => throw new NotSupportedException();

    public void PredictBatch(ReadOnlySpan<float> inputs, Span<float> outputs) => throw new NotSupportedException();

    public float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets) => throw new NotSupportedException();

    public float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Span<float> predictions) => throw new NotSupportedException();

    public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets) => throw new NotSupportedException();
}

/// <summary>
/// What the layers compute, written out plainly in double precision from docs/attributes.md, one sample at a time:
/// images channels-first [c, h, w], a direct convolution over explicitly padded borders, windows that stay inside.
/// </summary>
internal static class ReferenceNetwork
{
    public static double[] Predict(TensorModel model, int[] inputShape, IReadOnlyList<OnnxLayer> layers, ReadOnlySpan<float> sample)
    {
        var x = sample.ToArray().Select(v => (double)v).ToArray();
        var shape = inputShape.ToArray();
        foreach (var layer in layers)
        {
            switch (layer.Kind)
            {
                case OnnxLayerKind.Dense:
                {
                    var w = model.Values(layer.Weight!);
                    var b = model.Values(layer.Bias!);
                    var inputs = x.Length;
                    var y = new double[b.Length];
                    for (var u = 0; u < y.Length; u++)
                    {
                        var sum = b[u];
                        for (var i = 0; i < inputs; i++)
                        {
                            sum += w[(u * inputs) + i] * x[i];
                        }

                        y[u] = Activate(layer, sum);
                    }

                    (x, shape) = (y, [y.Length]);
                    break;
                }

                case OnnxLayerKind.Conv2D:
                    (x, shape) = Convolve(model, layer, x, shape);
                    break;
                case OnnxLayerKind.MaxPool2D:
                case OnnxLayerKind.AvgPool2D:
                    (x, shape) = Pool(layer, x, shape);
                    break;
                case OnnxLayerKind.GlobalAvgPool2D:
                {
                    var (c, positions) = (shape[0], shape[1] * shape[2]);
                    var y = new double[c];
                    for (var ch = 0; ch < c; ch++)
                    {
                        y[ch] = x.Skip(ch * positions).Take(positions).Sum() / positions;
                    }

                    (x, shape) = (y, [c]);
                    break;
                }

                case OnnxLayerKind.Flatten:
                    shape = [x.Length];
                    break;
                case OnnxLayerKind.Dropout:
                    break;
                case OnnxLayerKind.LayerNorm:
                {
                    var gamma = model.Values(layer.Weight!);
                    var beta = model.Values(layer.Bias!);
                    var mean = x.Average();
                    var variance = x.Select(v => (v - mean) * (v - mean)).Average();
                    var inverse = 1 / Math.Sqrt(variance + layer.Epsilon);
                    x = x.Select((v, i) => (gamma[i] * (v - mean) * inverse) + beta[i]).ToArray();
                    break;
                }

                case OnnxLayerKind.BatchNorm:
                {
                    var gamma = model.Values(layer.Weight!);
                    var beta = model.Values(layer.Bias!);
                    var mean = model.Values(layer.RunningMean!);
                    var variance = model.Values(layer.RunningVariance!);
                    var positions = x.Length / shape[0];
                    x = x.Select((v, i) =>
                    {
                        var c = i / positions;
                        return (gamma[c] * (v - mean[c]) / Math.Sqrt(variance[c] + layer.Epsilon)) + beta[c];
                    }).ToArray();
                    break;
                }
            }
        }

        if (model.Loss == Loss.SoftmaxCrossEntropy)
        {
            var max = x.Max();
            var exponentials = x.Select(v => Math.Exp(v - max)).ToArray();
            var total = exponentials.Sum();
            x = exponentials.Select(e => e / total).ToArray();
        }
        else if (model.Loss == Loss.BinaryCrossEntropy)
        {
            x = x.Select(Sigmoid).ToArray();
        }

        return x;
    }

    private static (double[] Values, int[] Shape) Convolve(TensorModel model, OnnxLayer layer, double[] x, int[] shape)
    {
        var (channels, height, width) = (shape[0], shape[1], shape[2]);
        var w = model.Values(layer.Weight!);
        var b = model.Values(layer.Bias!);
        var (k, s) = (layer.Kernel, layer.Stride);
        var outHeight = ((height + layer.PadTop + layer.PadBottom - k) / s) + 1;
        var outWidth = ((width + layer.PadLeft + layer.PadRight - k) / s) + 1;
        var y = new double[b.Length * outHeight * outWidth];
        for (var f = 0; f < b.Length; f++)
        {
            for (var oy = 0; oy < outHeight; oy++)
            {
                for (var ox = 0; ox < outWidth; ox++)
                {
                    var sum = b[f];
                    for (var c = 0; c < channels; c++)
                    {
                        for (var ky = 0; ky < k; ky++)
                        {
                            for (var kx = 0; kx < k; kx++)
                            {
                                // Padded coordinates minus the top and left padding: outside the input reads zero.
                                var iy = (oy * s) + ky - layer.PadTop;
                                var ix = (ox * s) + kx - layer.PadLeft;
                                if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                {
                                    sum += w[(((f * channels) + c) * k * k) + (ky * k) + kx] * x[(((c * height) + iy) * width) + ix];
                                }
                            }
                        }
                    }

                    y[(((f * outHeight) + oy) * outWidth) + ox] = Activate(layer, sum);
                }
            }
        }

        return (y, [b.Length, outHeight, outWidth]);
    }

    private static (double[] Values, int[] Shape) Pool(OnnxLayer layer, double[] x, int[] shape)
    {
        var (channels, height, width) = (shape[0], shape[1], shape[2]);
        var (k, s) = (layer.Kernel, layer.Stride);
        var outHeight = ((height - k) / s) + 1;
        var outWidth = ((width - k) / s) + 1;
        var y = new double[channels * outHeight * outWidth];
        for (var c = 0; c < channels; c++)
        {
            for (var oy = 0; oy < outHeight; oy++)
            {
                for (var ox = 0; ox < outWidth; ox++)
                {
                    var window = new List<double>();
                    for (var ky = 0; ky < k; ky++)
                    {
                        for (var kx = 0; kx < k; kx++)
                        {
                            window.Add(x[(((c * height) + (oy * s) + ky) * width) + (ox * s) + kx]);
                        }
                    }

                    y[(((c * outHeight) + oy) * outWidth) + ox] = layer.Kind == OnnxLayerKind.MaxPool2D ? window.Max() : window.Average();
                }
            }
        }

        return (y, [channels, outHeight, outWidth]);
    }

    private static double Activate(OnnxLayer layer, double z) => layer.Activation switch
    {
        Activation.Linear => z,
        Activation.Relu => Math.Max(0, z),
        Activation.Sigmoid => Sigmoid(z),
        Activation.Tanh => Math.Tanh(z),
        Activation.LeakyRelu => z > 0 ? z : layer.Alpha * z,
        Activation.Elu => z > 0 ? z : layer.Alpha * (Math.Exp(z) - 1),
        Activation.Gelu => 0.5 * z * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (z + (0.044715 * z * z * z)))),
        Activation.Silu => z * Sigmoid(z),
        _ => throw new ArgumentOutOfRangeException(nameof(layer)),
    };

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
