using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Kernels;
using ModelGen.Onnx;

namespace ModelGen.Quantization;

/// <summary>
/// Turns a model's layer list into the steps of an <see cref="Int8Predictor"/>: walks the layers with one sample's
/// shape and memory layout, copies each layer's tensors from the model in the order the model keeps them (dense weights
/// [inputs × units], kernels [kh·kw·c × filters], images channels-last after a convolution or pooling layer, the
/// model's input as declared), folds batch normalizations and activations into the dense or convolution layer before
/// them where that is exact, and lays out one workspace in which values whose lifetimes do not overlap share memory.
/// From weights quantized ahead of time (<see cref="Int8ModelWeights"/>) it makes the same steps, checking that the
/// batch normalizations folded before quantizing are exactly those it would fold.
/// </summary>
internal sealed class Int8Plan
{
    private readonly List<Entry> _entries;

    private Int8Plan(Int8Step[] steps, Int8Workspace workspace, int output, List<Entry> entries)
    {
        Steps = steps;
        Workspace = workspace;
        Output = output;
        _entries = entries;
    }

    /// <summary>The computations in order.</summary>
    public Int8Step[] Steps { get; }

    /// <summary>Where they compute.</summary>
    public Int8Workspace Workspace { get; }

    /// <summary>The value the last layer leaves: the model's output before its softmax or sigmoid.</summary>
    public int Output { get; }

    /// <summary>What the predictor does with each layer, once the quantized layers have their parameters.</summary>
    public IReadOnlyList<Int8LayerReport> Report(QuantizationOptions options)
    {
        var reports = new Int8LayerReport[_entries.Count];
        for (var i = 0; i < reports.Length; i++)
        {
            var entry = _entries[i];
            var detail = entry.Detail;
            if (entry.Step is { } step)
            {
                detail += step.InputQuantization is { } p
                    ? string.Create(CultureInfo.InvariantCulture, $"; input scale {p.Scale:G4}, zero point {p.ZeroPoint} (static, {Method(options)})")
                    : "; input per sample (dynamic)";
            }

            reports[i] = new Int8LayerReport(entry.Position, entry.Layer, entry.Precision, detail);
        }

        return reports;
    }

    private static string Method(QuantizationOptions options) => options.Method == CalibrationMethod.Percentile
        ? string.Create(CultureInfo.InvariantCulture, $"percentile {options.Percentile}")
        : "min/max";

    /// <summary>Plans the steps for <paramref name="model"/> described by <paramref name="layers"/>.</summary>
    public static Int8Plan Build(ITrainableModel model, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers) =>
        new Builder(new ModelSource(model), inputShape, layers).Build();

    /// <summary>Plans the steps for weights quantized ahead of time, described by <paramref name="layers"/>.</summary>
    public static Int8Plan Build(Int8ModelWeights weights, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers) =>
        new Builder(new QuantizedSource(weights), inputShape, layers).Build();

    /// <summary>One line of the report; <see cref="Step"/> for an int8 layer, whose input parameters come later.</summary>
    private sealed record Entry(int Position, string Layer, LayerPrecision Precision, string Detail, QuantizedStep? Step = null);

    /// <summary>A layer's output: the workspace value holding it, its shape, and whether an image lies channels-last.</summary>
    private readonly record struct Node(int Value, int[] Shape, bool ChannelsLast)
    {
        public int Size => Product(Shape);
    }

    private sealed class Builder
    {
        private readonly Int8Source _source;
        private readonly IReadOnlyList<OnnxLayer> _layers;
        private readonly List<Node> _nodes = [];
        private readonly List<Int8Step> _steps = [];
        private readonly List<Entry> _entries = [];

        // Workspace values: floats per sample, the step that writes each (−1: the model's input) and the last step
        // that reads it.
        private readonly List<int> _sizes = [];
        private readonly List<int> _writtenAt = [];
        private readonly List<int> _lastRead = [];

        /// <summary>How many layers read each position's output (the model's output counts once).</summary>
        private readonly int[] _readers;

        /// <summary>For each position, the int8 layer whose product it is with nothing applied after: folding may still change that layer.</summary>
        private readonly QuantizedStep?[] _open;

        public Builder(Int8Source source, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers)
        {
            _source = source;
            _layers = layers;
            CheckInputShape(inputShape);
            _sizes.Add(source.InputSize);
            _writtenAt.Add(-1);
            _lastRead.Add(-1);
            _nodes.Add(new Node(0, inputShape.ToArray(), ChannelsLast: false));
            _readers = new int[layers.Count + 1];
            _open = new QuantizedStep?[layers.Count + 1];
            for (var index = 0; index < layers.Count; index++)
            {
                foreach (var position in Inputs(index))
                {
                    _readers[position]++;
                }
            }

            _readers[layers.Count]++;
        }

        public Int8Plan Build()
        {
            for (var index = 0; index < _layers.Count; index++)
            {
                _nodes.Add(AddLayer(index));
            }

            foreach (var step in _steps)
            {
                if (step is QuantizedStep { UnmatchedFolds: { Count: > 0 } folded } quantized)
                {
                    throw new ArgumentException(
                        $"Layer {ProducerPosition(quantized) - 1} ({_layers[ProducerPosition(quantized) - 1].Kind}): its int8 weights fold the batch normalization '{string.Join("', '", folded)}', which does not directly follow it.",
                        "layers");
                }
            }

            var output = _nodes[^1];
            if (output.Size != _source.OutputSize)
            {
                throw new ArgumentException(
                    $"The layers end with {output.Size} values per sample but the model's OutputSize is {_source.OutputSize}.", "layers");
            }

            Read(output.Value, int.MaxValue);
            var function = _source.Loss switch
            {
                Loss.SoftmaxCrossEntropy => "Softmax",
                Loss.BinaryCrossEntropy => "Sigmoid",
                _ => null,
            };
            if (function is not null)
            {
                _entries.Add(new Entry(_layers.Count + 1, function, LayerPrecision.Float, "the loss's output function, as Predict applies it"));
            }

            return new Int8Plan([.. _steps], LayOut(), output.Value, _entries);
        }

        /// <summary>The positions layer <paramref name="index"/> reads (1-based; 0 is the model's input), checked.</summary>
        private int[] Inputs(int index)
        {
            var layer = _layers[index] ?? throw new ArgumentException($"Layer {index} is null.", "layers");
            var expected = layer.Kind == OnnxLayerKind.Add ? 2 : 1;
            if (layer.Inputs is not { } inputs)
            {
                return layer.Kind == OnnxLayerKind.Add
                    ? throw new ArgumentException($"Layer {index} (Add) does not say which two layers it adds (OnnxLayer.From).", "layers")
                    : [index];
            }

            if (inputs.Length != expected || Array.Exists(inputs, i => i > index))
            {
                throw new ArgumentException(
                    $"Layer {index} ({layer.Kind}) reads layers [{string.Join(", ", inputs)}]: it takes {(expected == 2 ? "two" : "one")} of the layers before it.", "layers");
            }

            return inputs;
        }

        private Node AddLayer(int index)
        {
            var layer = _layers[index];
            var position = index + 1;
            var inputs = Inputs(index);
            var from = inputs[0];
            var input = _nodes[from];
            var shape = input.Shape;
            switch (layer.Kind)
            {
                case OnnxLayerKind.Dense:
                    return AddDense(index, layer, input);
                case OnnxLayerKind.Conv2D:
                    return AddConv(index, layer, input);
                case OnnxLayerKind.MaxPool2D:
                case OnnxLayerKind.AvgPool2D:
                {
                    RequireImage(index, layer, shape);
                    var (channels, height, width) = (shape[0], shape[1], shape[2]);
                    if (height < layer.Kernel || width < layer.Kernel)
                    {
                        throw Error(index, layer, $"a {layer.Kernel}×{layer.Kernel} window does not fit the input {height}×{width}");
                    }

                    var window = new Window2D(
                        channels, height, width, layer.Kernel, layer.Stride, 0, 0,
                        ((height - layer.Kernel) / layer.Stride) + 1, ((width - layer.Kernel) / layer.Stride) + 1, input.ChannelsLast);
                    var output = NewValue([channels, window.OutputHeight, window.OutputWidth], channelsLast: true, index);
                    Read(input.Value, index);
                    _steps.Add(new PoolStep(input.Value, output.Value, window, layer.Kind == OnnxLayerKind.AvgPool2D));
                    _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Float, $"{layer.Kernel}×{layer.Kernel}, stride {layer.Stride}"));
                    return output;
                }

                case OnnxLayerKind.GlobalAvgPool2D:
                {
                    RequireImage(index, layer, shape);
                    var output = NewValue([shape[0]], channelsLast: false, index);
                    Read(input.Value, index);
                    _steps.Add(new GlobalPoolStep(input.Value, output.Value, shape[0], shape[1] * shape[2], input.ChannelsLast));
                    _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Float, "mean of each channel"));
                    return output;
                }

                case OnnxLayerKind.Flatten:
                    // The values stay where they are: a flattened channels-last image is (h, w, c), the order in which the
                    // model keeps the weights of the dense layer after it.
                    Read(input.Value, index);
                    _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Identity, "a view of the same values"));
                    return new Node(input.Value, [input.Size], ChannelsLast: false);
                case OnnxLayerKind.Dropout:
                    Read(input.Value, index);
                    _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Identity, "the identity at inference"));
                    _open[position] = _readers[from] == 1 ? _open[from] : null;
                    return input;
                case OnnxLayerKind.LayerNorm:
                {
                    var gamma = Values(index, layer, layer.Weight!, input.Size, "γ");
                    var beta = Values(index, layer, layer.Bias!, input.Size, "β");
                    var output = NewValue(shape, input.ChannelsLast, index);
                    Read(input.Value, index);
                    _steps.Add(new LayerNormStep(input.Value, output.Value, gamma, beta, layer.Epsilon));
                    _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Float, "over every value of a sample"));
                    return output;
                }

                case OnnxLayerKind.BatchNorm:
                    return AddBatchNorm(index, layer, from, input);
                case OnnxLayerKind.Activation:
                    if (_open[from] is { Activation: Activation.Linear } producer && _readers[from] == 1)
                    {
                        producer.Activation = layer.Activation;
                        producer.Alpha = layer.Alpha;
                        Read(input.Value, index);
                        _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Folded, $"{layer.Activation}, applied as layer {ProducerPosition(producer)} stores its outputs"));
                        return input;
                    }
                    else
                    {
                        var output = NewValue(shape, input.ChannelsLast, index);
                        Read(input.Value, index);
                        _steps.Add(new ActivationStep(input.Value, output.Value, layer.Activation, layer.Alpha));
                        _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Float, layer.Activation.ToString()));
                        return output;
                    }

                case OnnxLayerKind.Add:
                {
                    var other = _nodes[inputs[1]];
                    if (!other.Shape.AsSpan().SequenceEqual(shape) || (shape.Length == 3 && other.ChannelsLast != input.ChannelsLast))
                    {
                        throw Error(index, layer, $"it adds [{string.Join(", ", shape)}] to [{string.Join(", ", other.Shape)}]: the two must have one shape and layout");
                    }

                    var output = NewValue(shape, input.ChannelsLast, index);
                    Read(input.Value, index);
                    Read(other.Value, index);
                    _steps.Add(new AddStep(input.Value, other.Value, output.Value, layer.Activation, layer.Alpha));
                    _entries.Add(new Entry(position, layer.Kind.ToString(), LayerPrecision.Float, $"layers {inputs[0]} + {inputs[1]}, then {layer.Activation}"));
                    return output;
                }

                default:
                    throw new NotSupportedException($"Layer {index} ({layer.Kind}) has no int8 predictor form.");
            }
        }

        private Node AddDense(int index, OnnxLayer layer, Node input)
        {
            var depth = input.Size;
            var shape = Tensor(index, layer, layer.Weight!, "the weight");
            if (shape.Length != 2 || shape[1] != depth)
            {
                throw Error(index, layer, $"the weight '{layer.Weight}' has shape {ShapeText(shape)}; a dense layer on {depth} inputs needs [units, {depth}]");
            }

            var units = shape[0];
            CheckDepth(index, layer, depth);
            var (weights, bias) = WeightsAndBias(index, layer, depth, units);
            var output = NewValue([units], channelsLast: false, index);
            Read(input.Value, index);
            var step = new QuantizedDenseStep(input.Value, output.Value, weights, bias, depth, units, layer.Activation, layer.Alpha);
            _steps.Add(step);
            _open[index + 1] = step;
            _entries.Add(new Entry(index + 1, layer.Kind.ToString(), LayerPrecision.Int8, $"{depth} → {units}, {layer.Activation}; weights per unit", step));
            return output;
        }

        private Node AddConv(int index, OnnxLayer layer, Node input)
        {
            RequireImage(index, layer, input.Shape);
            var (channels, height, width) = (input.Shape[0], input.Shape[1], input.Shape[2]);
            var k = layer.Kernel;
            var shape = Tensor(index, layer, layer.Weight!, "the weight");
            if (shape.Length != 4 || shape[1] != channels || shape[2] != k || shape[3] != k)
            {
                throw Error(index, layer, $"the weight '{layer.Weight}' has shape {ShapeText(shape)}; a {k}×{k} convolution of {channels} channels needs [filters, {channels}, {k}, {k}]");
            }

            var filters = shape[0];
            var (paddedHeight, paddedWidth) = (height + layer.PadTop + layer.PadBottom, width + layer.PadLeft + layer.PadRight);
            if (paddedHeight < k || paddedWidth < k || layer.PadTop >= k || layer.PadLeft >= k)
            {
                throw Error(index, layer, $"a {k}×{k} kernel with padding ({layer.PadTop}, {layer.PadLeft}, {layer.PadBottom}, {layer.PadRight}) does not fit the input {height}×{width}");
            }

            var window = new Window2D(
                channels, height, width, k, layer.Stride, layer.PadTop, layer.PadLeft,
                ((paddedHeight - k) / layer.Stride) + 1, ((paddedWidth - k) / layer.Stride) + 1, input.ChannelsLast);
            window.Validate();
            CheckDepth(index, layer, window.PatchSize);
            var (weights, bias) = WeightsAndBias(index, layer, window.PatchSize, filters);
            var output = NewValue([filters, window.OutputHeight, window.OutputWidth], channelsLast: true, index);
            Read(input.Value, index);
            var step = new QuantizedConvStep(input.Value, output.Value, weights, bias, window, filters, layer.Activation, layer.Alpha);
            _steps.Add(step);
            _open[index + 1] = step;
            _entries.Add(new Entry(
                index + 1, layer.Kind.ToString(), LayerPrecision.Int8,
                $"{k}×{k}, {channels} → {filters} channels, {layer.Activation}; im2col, weights per filter", step));
            return output;
        }

        private Node AddBatchNorm(int index, OnnxLayer layer, int from, Node input)
        {
            var shape = input.Shape;
            var features = shape[0];
            if (shape.Length == 3 && features > 1 && !input.ChannelsLast)
            {
                throw Error(index, layer, "per-channel statistics need a channels-last image, and the model's input is channels-first");
            }

            Read(input.Value, index);
            if (_open[from] is { Activation: Activation.Linear } producer && _readers[from] == 1 && producer.Units == features)
            {
                if (producer.HasFloatWeights)
                {
                    producer.FoldBatchNorm(
                        Values(index, layer, layer.Weight!, features, "γ"), Values(index, layer, layer.Bias!, features, "β"),
                        Values(index, layer, layer.RunningMean!, features, "the running mean"), Values(index, layer, layer.RunningVariance!, features, "the running variance"),
                        layer.Epsilon);
                }
                else if (producer.UnmatchedFolds?.Remove(layer.Weight!) != true)
                {
                    // Weights quantized ahead of time must have had this batch normalization folded in before quantizing.
                    throw Error(index, layer, $"it follows layer {ProducerPosition(producer) - 1}, whose int8 weights were quantized without folding it in");
                }

                _open[index + 1] = producer;
                _entries.Add(new Entry(index + 1, layer.Kind.ToString(), LayerPrecision.Folded, $"into layer {ProducerPosition(producer)}'s weights and bias"));
                return input;
            }

            var gamma = Values(index, layer, layer.Weight!, features, "γ");
            var beta = Values(index, layer, layer.Bias!, features, "β");
            var mean = Values(index, layer, layer.RunningMean!, features, "the running mean");
            var variance = Values(index, layer, layer.RunningVariance!, features, "the running variance");
            var output = NewValue(shape, input.ChannelsLast, index);
            _steps.Add(new BatchNormStep(input.Value, output.Value, gamma, beta, mean, variance, layer.Epsilon));
            _entries.Add(new Entry(index + 1, layer.Kind.ToString(), LayerPrecision.Float, "running statistics (not after a dense or convolution layer without activation)"));
            return output;
        }

        /// <summary>The position of the layer that made <paramref name="step"/>.</summary>
        private int ProducerPosition(QuantizedStep step) => _entries.Find(e => ReferenceEquals(e.Step, step))!.Position;

        /// <summary>A new workspace value of <paramref name="shape"/>, written by layer <paramref name="index"/>.</summary>
        private Node NewValue(int[] shape, bool channelsLast, int index)
        {
            _sizes.Add(Product(shape));
            _writtenAt.Add(index);
            _lastRead.Add(index);
            return new Node(_sizes.Count - 1, shape, shape.Length == 3 && channelsLast);
        }

        /// <summary>Notes that layer <paramref name="index"/> reads <paramref name="value"/>.</summary>
        private void Read(int value, int index) => _lastRead[value] = Math.Max(_lastRead[value], index);

        /// <summary>
        /// Gives every value an offset (floats per sample) so that values alive at once never overlap: each goes into
        /// the first slot whose occupant was last read before the value is written, and a slot is as large as the
        /// largest value it holds, rounded up to 16 floats so that every region starts on 64 bytes.
        /// </summary>
        private Int8Workspace LayOut()
        {
            var slotSizes = new List<int>();
            var slotFreeAfter = new List<int>();
            var slotOf = new int[_sizes.Count];
            for (var value = 1; value < _sizes.Count; value++)
            {
                var slot = slotFreeAfter.FindIndex(last => last < _writtenAt[value]);
                if (slot < 0)
                {
                    slot = slotSizes.Count;
                    slotSizes.Add(0);
                    slotFreeAfter.Add(0);
                }

                slotSizes[slot] = Math.Max(slotSizes[slot], (_sizes[value] + 15) & ~15);
                slotFreeAfter[slot] = _lastRead[value];
                slotOf[value] = slot;
            }

            var slotOffsets = new int[slotSizes.Count];
            var total = 0;
            for (var slot = 0; slot < slotSizes.Count; slot++)
            {
                slotOffsets[slot] = total;
                total = checked(total + slotSizes[slot]);
            }

            var offsets = new int[_sizes.Count];
            for (var value = 1; value < _sizes.Count; value++)
            {
                offsets[value] = slotOffsets[slotOf[value]];
            }

            return new Int8Workspace(offsets, [.. _sizes], Math.Max(total, 1));
        }

        private void CheckInputShape(ReadOnlySpan<int> inputShape)
        {
            if (inputShape.Length is not (1 or 3))
            {
                throw new ArgumentException(
                    $"The input shape has {inputShape.Length} dimensions; ModelGen inputs are [n] or [channels, height, width].", nameof(inputShape));
            }

            var size = 1L;
            foreach (var dimension in inputShape)
            {
                if (dimension <= 0)
                {
                    throw new ArgumentException($"The input shape [{string.Join(", ", inputShape.ToArray())}] has a dimension that is not positive.", nameof(inputShape));
                }

                size *= dimension;
            }

            if (size != _source.InputSize)
            {
                throw new ArgumentException(
                    $"The input shape [{string.Join(", ", inputShape.ToArray())}] holds {size} values but the model's InputSize is {_source.InputSize}.", nameof(inputShape));
            }
        }

        /// <summary>The file shape of tensor <paramref name="name"/>, which the source must hold.</summary>
        private int[] Tensor(int index, OnnxLayer layer, string name, string role) =>
            _source.Shape(name) ?? throw Error(index, layer, $"{role} '{name}' is not one of {_source.Description}");

        private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";

        /// <summary>A copy of tensor <paramref name="name"/> as the model keeps it, which must hold <paramref name="length"/> values.</summary>
        private float[] Values(int index, OnnxLayer layer, string name, int length, string role)
        {
            var shape = Tensor(index, layer, name, role);
            if (Product(shape) != length)
            {
                throw Error(index, layer, $"{role} '{name}' has shape {ShapeText(shape)}; it needs {length} values");
            }

            return _source.Values(name);
        }

        /// <summary>
        /// A dense or convolution layer's weights [<paramref name="depth"/> × <paramref name="units"/>] and bias: a copy
        /// of the float weights as the model keeps them (one row per input, one column per unit: the file's first axis
        /// last) with the layer's bias, or the int8 weights quantized ahead of time with theirs.
        /// </summary>
        private (LayerSource Weights, float[] Bias) WeightsAndBias(int index, OnnxLayer layer, int depth, int units)
        {
            var weights = _source.Layer(layer.Weight!)
                ?? throw Error(index, layer, $"the weight '{layer.Weight}' is not kept with one column per unit ([inputs × units] or [kh, kw, c, filters])");
            if (weights.Quantized is not { } quantized)
            {
                return (weights, layer.Bias is null ? [] : Values(index, layer, layer.Bias, units, "the bias"));
            }

            if (quantized.Weights.Inputs != depth || quantized.Weights.Units != units)
            {
                throw Error(index, layer, $"the int8 weights of '{layer.Weight}' are [{quantized.Weights.Inputs} × {quantized.Weights.Units}]; the layer needs [{depth} × {units}]");
            }

            return (weights, quantized.Bias);
        }

        private static void CheckDepth(int index, OnnxLayer layer, int depth)
        {
            if (depth > Int8Gemm.MaxDepth)
            {
                throw new NotSupportedException(
                    $"Layer {index} ({layer.Kind}): {depth} inputs per output exceed the int8 product's limit of {Int8Gemm.MaxDepth}, within which its int32 sums cannot overflow.");
            }
        }

        private static void RequireImage(int index, OnnxLayer layer, int[] shape)
        {
            if (shape.Length != 3)
            {
                throw Error(index, layer, $"it needs an image [channels, height, width] but gets [{string.Join(", ", shape)}]");
            }
        }

        private static ArgumentException Error(int index, OnnxLayer layer, string message) => new($"Layer {index} ({layer.Kind}): {message}.", "layers");
    }

    private static int Product(int[] shape)
    {
        var product = 1;
        foreach (var dimension in shape)
        {
            product = checked(product * dimension);
        }

        return product;
    }
}
