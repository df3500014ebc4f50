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

    /// <summary>
    /// A generated model's file, as its own <c>ExportOnnx(path)</c> writes it: into a new temporary folder (which must
    /// then hold that one file and nothing else), read back and deleted. When <see cref="ExportDirectoryVariable"/> is
    /// set, <paramref name="exportOnnx"/> also writes <c>name.onnx</c> there, and must give the same bytes again.
    /// </summary>
    public static byte[] ExportGenerated(string name, Action<string> exportOnnx)
    {
        var temporary = Directory.CreateTempSubdirectory("modelgen-onnx-").FullName;
        byte[] bytes;
        try
        {
            var path = Path.Combine(temporary, name + ".onnx");
            exportOnnx(path);
            Assert.Equal([name + ".onnx"], Directory.GetFiles(temporary).Select(Path.GetFileName));
            bytes = File.ReadAllBytes(path);
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }

        var directory = Environment.GetEnvironmentVariable(ExportDirectoryVariable);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, name + ".onnx");
            exportOnnx(path);
            Assert.Equal(bytes, File.ReadAllBytes(path));
        }

        return bytes;
    }

    /// <summary>
    /// Exports a generated model with its <c>ExportOnnx</c>, checks that the file's initializers are the model's
    /// state_dict (<see cref="AssertInitializersAreTheTensors"/>), runs it in ONNX Runtime on <paramref name="inputs"/>
    /// and compares with <see cref="ITrainableModel.PredictBatch"/> to 1e-5 (<see cref="AssertClose(IReadOnlyList{double}, IReadOnlyList{float}, double)"/>).
    /// </summary>
    /// <returns>The file, and the largest difference seen, each divided by max(1, |expected|).</returns>
    public static (byte[] File, double Largest) AssertSameAsPredictBatch(string name, ITrainableModel model, int[] inputShape, Action<string> exportOnnx, float[] inputs)
    {
        var expected = new float[inputs.Length / model.InputSize * model.OutputSize];
        model.PredictBatch(inputs, expected);

        var onnx = ExportGenerated(name, exportOnnx);
        AssertInitializersAreTheTensors(model, onnx);
        var actual = Run(onnx, inputs, inputShape, model.OutputSize);
        return (onnx, AssertClose(expected, actual));
    }

    /// <summary>
    /// The file's initializers are the model's <see cref="ITrainableModel.ParameterTensors"/> (the state_dict of its
    /// PyTorch module), each with its file shape and its values in file order, except the batch counters
    /// (<c>num_batches_tracked</c>, which inference does not read); the only others are GELU's scalar constants.
    /// With <paramref name="exactShapes"/> false a tensor may be reshaped (a flat layer-norm γ becomes [c, h, w]).
    /// </summary>
    public static void AssertInitializersAreTheTensors(ITrainableModel model, byte[] onnx, bool exactShapes = true)
    {
        var initializers = OnnxFileReader.Initializers(onnx).ToDictionary(i => i.Name, StringComparer.Ordinal);
        var tensors = model.ParameterTensors.Where(t => !t.IsBatchCounter).ToArray();
        foreach (var tensor in tensors)
        {
            Assert.True(initializers.TryGetValue(tensor.Name, out var initializer), $"'{tensor.Name}' is not in the ONNX file");
            if (exactShapes)
            {
                Assert.Equal(tensor.Shape.Select(d => (long)d), initializer!.Dims);
            }

            Assert.Equal(tensor.Length, initializer!.Dims.Aggregate(1L, (a, b) => a * b));
            var values = new float[tensor.Length];
            tensor.CopyToFileOrder(tensor.Buffer(model), values);
            Assert.Equal(values, initializer.Values);
        }

        var names = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(initializers.Keys.Where(n => !names.Contains(n)), n => Assert.StartsWith("gelu.", n, StringComparison.Ordinal));
    }

    /// <summary>
    /// A few training steps (<see cref="ITrainableModel.TrainStep"/> and Adam at 0.01) on random inputs in [−1, 2)
    /// with targets the loss accepts, so that weights, biases, γ, β and batch normalization's running statistics all
    /// leave their initial values; checks that they did.
    /// </summary>
    public static void Train(ITrainableModel model, int steps, int batch, int seed)
    {
        var random = new Random(seed);
        var optimizer = new Adam(0.01f);
        var initial = model.Parameters.ToArray();
        var initialState = model.State.ToArray();
        for (var step = 0; step < steps; step++)
        {
            var inputs = Enumerable.Range(0, batch * model.InputSize).Select(_ => (random.NextSingle() * 3f) - 1f).ToArray();
            var targets = model.Loss switch
            {
                Loss.SoftmaxCrossEntropy => Enumerable.Range(0, batch).Select(_ => (float)random.Next(model.OutputSize)).ToArray(),
                Loss.BinaryCrossEntropy => Enumerable.Range(0, batch * model.OutputSize).Select(_ => (float)random.Next(2)).ToArray(),
                _ => Enumerable.Range(0, batch * model.OutputSize).Select(_ => (random.NextSingle() * 2f) - 1f).ToArray(),
            };
            model.TrainStep(inputs, targets);
            optimizer.Step(model.Parameters, model.Gradients);
        }

        // Every tensor moved: no weight, bias or statistic is exported at its initial value.
        foreach (var tensor in model.ParameterTensors.Where(t => !t.IsBatchCounter))
        {
            var before = tensor.Slice(tensor.InState ? initialState : initial).ToArray();
            var after = tensor.Slice(tensor.Buffer(model)).ToArray();
            Assert.False(before.AsSpan().SequenceEqual(after), $"training left '{tensor.Name}' at its initial values");
        }

        if (model.ParameterTensors.Any(t => t.IsBatchCounter))
        {
            Assert.Equal(steps, model.BatchesTracked);
        }
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
    /// <returns>The largest |actual − expected| / max(1, |expected|) seen.</returns>
    public static double AssertClose(IReadOnlyList<double> expected, IReadOnlyList<float> actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Count, actual.Count);
        var largest = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            var scale = Math.Max(1.0, Math.Abs(expected[i]));
            var difference = Math.Abs(actual[i] - expected[i]);
            if (!(difference <= tolerance * scale))
            {
                Assert.Fail($"value {i}: expected {expected[i]:R}, got {actual[i]:R} (difference {difference:E2}, allowed {tolerance * scale:E2})");
            }

            largest = Math.Max(largest, difference / scale);
        }

        return largest;
    }

    public static double AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double tolerance = 1e-5) =>
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
/// A hand-made <see cref="ITrainableModel"/> for layer shapes no generated model produces (a convolution padded
/// differently on all four sides, a network that ends on an image) and for checking the exporter against a plain
/// reference rather than against ModelGen's own kernels: named tensors in PyTorch's layouts (convolutions
/// [out, in, kh, kw], dense weights after a flatten in (c, h, w) column order) with random values, batch
/// normalization's <c>num_batches_tracked</c> as generated models list it (<see cref="ParameterTensor.IsBatchCounter"/>,
/// no float), and the sizes and loss the exporter reads. Nothing else is implemented.
/// </summary>
internal sealed class TensorModel : ITrainableModel
{
    private readonly float[] parameters;
    private readonly float[] state;
    private readonly ParameterTensor[] tensors;

    /// <param name="tensors">
    /// Name, shape and whether it lives in <see cref="State"/>, each filled with random values; a name ending in
    /// <c>.num_batches_tracked</c> is a batch counter (shape [], no value), as a generated model lists it.
    /// </param>
    public TensorModel(int inputSize, int outputSize, Loss loss, int seed, params (string Name, int[] Shape, bool InState)[] tensors)
    {
        InputSize = inputSize;
        OutputSize = outputSize;
        Loss = loss;
        var list = new List<ParameterTensor>();
        int parameterCount = 0, stateCount = 0;
        foreach (var (name, shape, inState) in tensors)
        {
            var counter = name.EndsWith(".num_batches_tracked", StringComparison.Ordinal);
            var tensor = new ParameterTensor(name, inState ? stateCount : parameterCount, shape) { InState = inState, IsBatchCounter = counter };
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
            // γ of a normalization: a ".weight" that is neither a dense [units, inputs] nor a convolution [out, in, kh, kw].
            var isVariance = tensor.Name.EndsWith(".running_var", StringComparison.Ordinal);
            var isGamma = tensor.Name.EndsWith(".weight", StringComparison.Ordinal) && tensor.Shape.Length is not (2 or 4);
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

    public float TrainStepClipped(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, float clipNorm, Span<float> sampleNorms) => throw new NotSupportedException();

    public void InputGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradients, Span<float> inputGradients) => throw new NotSupportedException();

    public float LossInputGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Span<float> inputGradients) => throw new NotSupportedException();
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

/// <summary>
/// Reads back the parts of an ONNX file the tests look at, from the protocol buffers wire format: the graph's
/// initializers (name, dims, raw little-endian floats) and its nodes' operator types. Independent of the writer.
/// </summary>
internal static class OnnxFileReader
{
    public sealed record Initializer(string Name, long[] Dims, float[] Values);

    /// <summary>ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto dims (1), data_type (2), name (8), raw_data (9).</summary>
    public static List<Initializer> Initializers(byte[] file)
    {
        var result = new List<Initializer>();
        foreach (var tensor in Fields(Graph(file)).Where(f => f.Number == 5))
        {
            var fields = Fields(tensor.Bytes);
            Assert.Equal(1UL, fields.Single(f => f.Number == 2).Varint);            // FLOAT
            var raw = fields.Single(f => f.Number == 9).Bytes.Span;
            var values = new float[raw.Length / sizeof(float)];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * sizeof(float)));
            }

            result.Add(new Initializer(
                System.Text.Encoding.UTF8.GetString(fields.Single(f => f.Number == 8).Bytes.Span),
                fields.Where(f => f.Number == 1).Select(f => (long)f.Varint).ToArray(),
                values));
        }

        return result;
    }

    /// <summary>GraphProto.node (1) → NodeProto.op_type (4), in graph order.</summary>
    public static List<string> Operators(byte[] file) =>
        Fields(Graph(file)).Where(f => f.Number == 1)
            .Select(node => System.Text.Encoding.UTF8.GetString(Fields(node.Bytes).Single(f => f.Number == 4).Bytes.Span))
            .ToList();

    private static ReadOnlyMemory<byte> Graph(byte[] file) => Fields(file).Single(f => f.Number == 7).Bytes;

    private static List<(int Number, ulong Varint, ReadOnlyMemory<byte> Bytes)> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ulong, ReadOnlyMemory<byte>)>();
        var position = 0;
        while (position < message.Length)
        {
            var key = ReadVarint(message.Span, ref position);
            var (number, wireType) = ((int)(key >> 3), (int)(key & 7));
            switch (wireType)
            {
                case 0:
                    fields.Add((number, ReadVarint(message.Span, ref position), ReadOnlyMemory<byte>.Empty));
                    break;
                case 1:
                    fields.Add((number, 0, message.Slice(position, 8)));
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message.Span, ref position);
                    fields.Add((number, 0, message.Slice(position, length)));
                    position += length;
                    break;
                case 5:
                    fields.Add((number, 0, message.Slice(position, 4)));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wireType} at byte {position}");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
