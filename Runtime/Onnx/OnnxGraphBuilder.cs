using System;
using System.Collections.Generic;
using System.Globalization;

namespace ModelGen.Onnx;

/// <summary>
/// Turns a model's layers into an ONNX graph: walks the layers with one sample's shape (channels-first, as ONNX's
/// NCHW without the batch), checks every tensor against the shape it must have there, and collects the nodes and the
/// initializers; <see cref="Encode"/> then writes the GraphProto.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    // onnx.proto: TensorProto.DataType.FLOAT, AttributeProto.AttributeType FLOAT / INT / INTS.
    private const int FloatType = 1;
    private const int AttributeFloat = 1;
    private const int AttributeInt = 2;
    private const int AttributeInts = 7;

    private readonly ITrainableModel model;
    private readonly Dictionary<string, ParameterTensor> tensors = new(StringComparer.Ordinal);
    private readonly List<Node> nodes = [];
    private readonly List<ProtoWriter> initializers = [];
    private readonly Dictionary<string, int[]> initializerDims = new(StringComparer.Ordinal);
    private readonly HashSet<string> nodeNames = new(StringComparer.Ordinal);
    private readonly int[] inputShape;
    private int[] outputShape = [];
    private int initializerBytes;

    private OnnxGraphBuilder(ITrainableModel model, ReadOnlySpan<int> inputShape)
    {
        this.model = model;
        this.inputShape = inputShape.ToArray();
        foreach (var tensor in model.ParameterTensors)
        {
            tensors[tensor.Name] = tensor;
        }
    }

    /// <summary>Roughly the GraphProto's size in bytes, to size the file's buffer.</summary>
    public int Length => initializerBytes + (nodes.Count * 64) + 256;

    /// <summary>Builds and checks the graph of <paramref name="model"/> described by <paramref name="layers"/>.</summary>
    public static OnnxGraphBuilder Build(ITrainableModel model, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers)
    {
        CheckInputShape(model, inputShape);
        var builder = new OnnxGraphBuilder(model, inputShape);
        builder.AddLayers(layers);
        return builder;
    }

    private static void CheckInputShape(ITrainableModel model, ReadOnlySpan<int> inputShape)
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
                throw new ArgumentException($"The input shape {ShapeText(inputShape)} has a dimension that is not positive.", nameof(inputShape));
            }

            size *= dimension;
        }

        if (size != model.InputSize)
        {
            throw new ArgumentException(
                $"The input shape {ShapeText(inputShape)} holds {size} values but the model's InputSize is {model.InputSize}.", nameof(inputShape));
        }
    }

    private void AddLayers(IReadOnlyList<OnnxLayer> layers)
    {
        var current = OnnxExport.InputName;
        int[] shape = (int[])inputShape.Clone();
        // Every layer's output, by 1-based position (0: the model's input), for the layers that read an earlier one.
        var outputs = new List<(string Name, int[] Shape)> { (current, shape) };
        for (var index = 0; index < layers.Count; index++)
        {
            var layer = layers[index] ?? throw new ArgumentException($"Layer {index} is null.", nameof(layers));
            if (layer.Inputs is { } inputs)
            {
                if (inputs.Length != (layer.Kind == OnnxLayerKind.Add ? 2 : 1) || Array.Exists(inputs, i => i > index))
                {
                    throw new ArgumentException($"Layer {index} ({layer.Kind}) reads layers [{string.Join(", ", inputs)}]: it takes {(layer.Kind == OnnxLayerKind.Add ? "two" : "one")} of the layers before it.", nameof(layers));
                }

                (current, shape) = outputs[inputs[0]];
            }
            else if (layer.Kind == OnnxLayerKind.Add)
            {
                throw new ArgumentException($"Layer {index} (Add) does not say which two layers it adds (OnnxLayer.From).", nameof(layers));
            }

            // Nodes of a layer with tensors are named after the module that holds them (layers.7/Gemm reads
            // layers.7.weight); the others after the layer's position among the model's layer attributes.
            var prefix = layer.Weight is { } weight && weight.LastIndexOf('.') > 0
                ? weight.Substring(0, weight.LastIndexOf('.'))
                : "layer_" + index.ToString(CultureInfo.InvariantCulture);
            var context = new LayerContext(index, layer.Kind);
            switch (layer.Kind)
            {
                case OnnxLayerKind.Dense:
                    (current, shape) = AddDense(context, prefix, layer, current, shape);
                    break;
                case OnnxLayerKind.Conv2D:
                    (current, shape) = AddConv(context, prefix, layer, current, shape);
                    break;
                case OnnxLayerKind.MaxPool2D:
                case OnnxLayerKind.AvgPool2D:
                    (current, shape) = AddPool(context, prefix, layer, current, shape);
                    break;
                case OnnxLayerKind.GlobalAvgPool2D:
                    RequireImage(context, shape);
                    current = AddNode(prefix, "GlobalAveragePool", [current]);
                    shape = [shape[0], 1, 1];
                    break;
                case OnnxLayerKind.Flatten:
                    (current, shape) = Flatten(prefix, current, shape);
                    break;
                case OnnxLayerKind.Dropout:
                    break;
                case OnnxLayerKind.LayerNorm:
                    current = AddLayerNorm(context, prefix, layer, current, shape);
                    break;
                case OnnxLayerKind.BatchNorm:
                    current = AddBatchNorm(context, prefix, layer, current, shape);
                    break;
                case OnnxLayerKind.Activation:
                    current = AddActivation(prefix, layer, current);
                    break;
                case OnnxLayerKind.Add:
                    var other = outputs[layer.Inputs![1]];
                    if (!other.Shape.AsSpan().SequenceEqual(shape))
                    {
                        throw new ArgumentException(
                            $"Layer {index} (Add) adds [{string.Join(", ", shape)}] to [{string.Join(", ", other.Shape)}]: the two must have one shape.", nameof(layers));
                    }

                    current = AddActivation(prefix, layer, AddNode(prefix, "Add", [current, other.Name]));
                    break;
                default:
                    throw new ArgumentException($"Layer {index}: unknown kind {layer.Kind}.", nameof(layers));
            }

            outputs.Add((current, shape));
        }

        // What Predict returns: probabilities for the cross-entropy losses, the last layer's values for the others.
        switch (model.Loss)
        {
            case Loss.SoftmaxCrossEntropy:
                (current, shape) = Flatten("softmax", current, shape);
                current = AddNode("softmax", "Softmax", [current], Int("axis", 1));
                break;
            case Loss.BinaryCrossEntropy:
                current = AddNode("sigmoid", "Sigmoid", [current]);
                break;
        }

        (current, shape) = Flatten("output", current, shape);
        if (shape[0] != model.OutputSize)
        {
            throw new ArgumentException(
                $"The layers end with {shape[0]} values per sample but the model's OutputSize is {model.OutputSize}.", nameof(layers));
        }

        outputShape = shape;
        if (nodes.Count == 0 || nodes[^1].Output != current)
        {
            AddNode("output", "Identity", [current]);
        }

        nodes[^1].Output = OnnxExport.OutputName;
    }

    private (string Value, int[] Shape) AddDense(LayerContext context, string prefix, OnnxLayer layer, string current, int[] shape)
    {
        // A vector after global pooling is still [C, 1, 1] in ONNX; Gemm needs a matrix.
        (current, shape) = Flatten(prefix, current, shape);
        var inputs = shape[0];
        var weight = Tensor(context, layer.Weight!, "the weight");
        if (weight.Shape.Length != 2 || weight.Shape[1] != inputs)
        {
            throw context.Error($"the weight '{weight.Name}' has shape {weight.ShapeText}; a dense layer on {inputs} inputs needs [units, {inputs}]");
        }

        var units = weight.Shape[0];
        AddInitializer(weight, weight.Shape);
        string[] operands = [current, weight.Name];
        if (layer.Bias is not null)
        {
            var bias = Tensor(context, layer.Bias, "the bias");
            CheckVector(context, bias, units, "the bias");
            AddInitializer(bias, [units]);
            operands = [current, weight.Name, bias.Name];
        }

        var output = AddNode(prefix, "Gemm", operands, Int("transB", 1)); // without C, Gemm adds nothing
        return (AddActivation(prefix, layer, output), [units]);
    }

    private (string Value, int[] Shape) AddConv(LayerContext context, string prefix, OnnxLayer layer, string current, int[] shape)
    {
        RequireImage(context, shape);
        var (channels, height, width) = (shape[0], shape[1], shape[2]);
        var weight = Tensor(context, layer.Weight!, "the weight");
        var k = layer.Kernel;
        if (weight.Shape.Length != 4 || weight.Shape[1] != channels || weight.Shape[2] != k || weight.Shape[3] != k)
        {
            throw context.Error(
                $"the weight '{weight.Name}' has shape {weight.ShapeText}; a {k}×{k} convolution of {channels} channels needs PyTorch's layout [filters, {channels}, {k}, {k}]");
        }

        var filters = weight.Shape[0];
        var bias = layer.Bias is null ? null : Tensor(context, layer.Bias, "the bias");
        if (bias is not null)
        {
            CheckVector(context, bias, filters, "the bias");
        }

        var paddedHeight = height + layer.PadTop + layer.PadBottom;
        var paddedWidth = width + layer.PadLeft + layer.PadRight;
        if (paddedHeight < k || paddedWidth < k)
        {
            throw context.Error($"a {k}×{k} kernel does not fit the padded input {paddedHeight}×{paddedWidth}");
        }

        AddInitializer(weight, weight.Shape);
        if (bias is not null)
        {
            AddInitializer(bias, [filters]);
        }

        var output = AddNode(
            prefix,
            "Conv",
            bias is null ? [current, weight.Name] : [current, weight.Name, bias.Name],
            Ints("kernel_shape", k, k),
            Ints("strides", layer.Stride, layer.Stride),
            Ints("pads", layer.PadTop, layer.PadLeft, layer.PadBottom, layer.PadRight));
        int[] outputShape = [filters, ((paddedHeight - k) / layer.Stride) + 1, ((paddedWidth - k) / layer.Stride) + 1];
        return (AddActivation(prefix, layer, output), outputShape);
    }

    private (string Value, int[] Shape) AddPool(LayerContext context, string prefix, OnnxLayer layer, string current, int[] shape)
    {
        RequireImage(context, shape);
        var k = layer.Kernel;
        if (shape[1] < k || shape[2] < k)
        {
            throw context.Error($"a {k}×{k} window does not fit the input {shape[1]}×{shape[2]}");
        }

        var op = layer.Kind == OnnxLayerKind.MaxPool2D ? "MaxPool" : "AveragePool";
        var output = AddNode(prefix, op, [current], Ints("kernel_shape", k, k), Ints("strides", layer.Stride, layer.Stride));
        return (output, [shape[0], ((shape[1] - k) / layer.Stride) + 1, ((shape[2] - k) / layer.Stride) + 1]);
    }

    private string AddLayerNorm(LayerContext context, string prefix, OnnxLayer layer, string current, int[] shape)
    {
        // Every value of a sample is normalized: the last axis of a vector, axes (c, h, w) of an image, with γ and β
        // shaped as the values they scale.
        var values = Product(shape);
        var gamma = Tensor(context, layer.Weight!, "γ");
        var beta = Tensor(context, layer.Bias!, "β");
        CheckVector(context, gamma, values, "γ", anyShape: true);
        CheckVector(context, beta, values, "β", anyShape: true);
        AddInitializer(gamma, shape);
        AddInitializer(beta, shape);
        return AddNode(
            prefix,
            "LayerNormalization",
            [current, gamma.Name, beta.Name],
            Int("axis", shape.Length == 1 ? -1 : 1),
            Float("epsilon", layer.Epsilon));
    }

    private string AddBatchNorm(LayerContext context, string prefix, OnnxLayer layer, string current, int[] shape)
    {
        // A feature of a vector [N, C] or a channel of an image [N, C, H, W]: both are ONNX's axis 1.
        var channels = shape[0];
        string[] names = [layer.Weight!, layer.Bias!, layer.RunningMean!, layer.RunningVariance!];
        string[] roles = ["γ", "β", "the running mean", "the running variance"];
        for (var i = 0; i < names.Length; i++)
        {
            var tensor = Tensor(context, names[i], roles[i]);
            CheckVector(context, tensor, channels, roles[i]);
            AddInitializer(tensor, [channels]);
        }

        return AddNode(prefix, "BatchNormalization", [current, .. names], Float("epsilon", layer.Epsilon));
    }

    /// <summary>Appends the nodes of <paramref name="layer"/>'s activation to <paramref name="value"/>; returns the result.</summary>
    private string AddActivation(string prefix, OnnxLayer layer, string value)
    {
        switch (layer.Activation)
        {
            case Activation.Linear:
                return value;
            case Activation.Relu:
                return AddNode(prefix, "Relu", [value]);
            case Activation.Sigmoid:
                return AddNode(prefix, "Sigmoid", [value]);
            case Activation.Tanh:
                return AddNode(prefix, "Tanh", [value]);
            case Activation.LeakyRelu:
                return AddNode(prefix, "LeakyRelu", [value], Float("alpha", layer.Alpha));
            case Activation.Elu:
                return AddNode(prefix, "Elu", [value], Float("alpha", layer.Alpha));
            case Activation.Silu:
                return AddNode(prefix, "Mul", [value, AddNode(prefix, "Sigmoid", [value])]);
            case Activation.Gelu:
            {
                // ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))): opset 17 has no Gelu operator.
                var cube = AddNode(prefix, "Mul", [AddNode(prefix, "Mul", [value, value]), value]);
                var inner = AddNode(prefix, "Add", [value, AddNode(prefix, "Mul", [cube, Constant("gelu.cubic", 0.044715f)])]);
                var tanh = AddNode(prefix, "Tanh", [AddNode(prefix, "Mul", [inner, Constant("gelu.scale", 0.7978845608f)])]);
                var half = AddNode(prefix, "Mul", [value, Constant("gelu.half", 0.5f)]);
                return AddNode(prefix, "Mul", [half, AddNode(prefix, "Add", [tanh, Constant("gelu.one", 1f)])]);
            }

            default:
                throw new ArgumentException($"Unknown activation {layer.Activation}.");
        }
    }

    /// <summary>An image becomes [N, C·H·W] (Flatten, axis 1); a vector stays as it is.</summary>
    private (string Value, int[] Shape) Flatten(string prefix, string current, int[] shape) =>
        shape.Length == 1 ? (current, shape) : (AddNode(prefix, "Flatten", [current], Int("axis", 1)), [Product(shape)]);

    private static void RequireImage(LayerContext context, int[] shape)
    {
        if (shape.Length != 3)
        {
            throw context.Error($"it needs an image [channels, height, width] but gets {ShapeText(shape)}");
        }
    }

    private ParameterTensor Tensor(LayerContext context, string name, string role)
    {
        if (!tensors.TryGetValue(name, out var tensor))
        {
            throw context.Error($"{role} '{name}' is not one of the model's ParameterTensors");
        }

        return tensor;
    }

    private static void CheckVector(LayerContext context, ParameterTensor tensor, int length, string role, bool anyShape = false)
    {
        if (tensor.Length != length || (!anyShape && tensor.Shape.Length != 1))
        {
            throw context.Error($"{role} '{tensor.Name}' has shape {tensor.ShapeText}; it needs {length} values" + (anyShape ? string.Empty : $", [{length}]"));
        }
    }

    /// <summary>Adds <paramref name="tensor"/>'s values, in file order, as an initializer of <paramref name="dims"/> (once).</summary>
    private void AddInitializer(ParameterTensor tensor, int[] dims)
    {
        if (initializerDims.TryGetValue(tensor.Name, out var existing))
        {
            if (!existing.AsSpan().SequenceEqual(dims))
            {
                throw new ArgumentException($"Tensor '{tensor.Name}' is used with shapes {ShapeText(existing)} and {ShapeText(dims)}.");
            }

            return;
        }

        var values = new float[tensor.Length];
        tensor.CopyToFileOrder(tensor.Buffer(model), values);
        AddInitializer(tensor.Name, dims, values);
    }

    private void AddInitializer(string name, int[] dims, ReadOnlySpan<float> values)
    {
        var proto = new ProtoWriter((values.Length * sizeof(float)) + name.Length + 32);
        foreach (var dimension in dims)
        {
            proto.Int64(1, dimension);                  // TensorProto.dims
        }

        proto.Int64(2, FloatType);                      // TensorProto.data_type
        proto.String(8, name);                          // TensorProto.name
        proto.RawSingles(9, values);                    // TensorProto.raw_data, little-endian
        initializers.Add(proto);
        initializerDims[name] = dims;
        initializerBytes = checked(initializerBytes + proto.Length + 8);
    }

    /// <summary>A scalar float initializer, added the first time it is used.</summary>
    private string Constant(string name, float value)
    {
        if (!initializerDims.ContainsKey(name))
        {
            if (tensors.ContainsKey(name))
            {
                throw new ArgumentException($"The model has a tensor named '{name}', which the ONNX export uses for a constant.");
            }

            AddInitializer(name, [], [value]);
        }

        return name;
    }

    /// <summary>Adds a node with one output, named as the node (<c>layers.3/Gemm</c>, <c>layers.3/Mul_2</c>); returns the output.</summary>
    private string AddNode(string prefix, string op, string[] inputs, params Attribute[] attributes)
    {
        var name = prefix + "/" + op;
        for (var k = 1; !nodeNames.Add(name); k++)
        {
            name = prefix + "/" + op + "_" + k.ToString(CultureInfo.InvariantCulture);
        }

        nodes.Add(new Node(op, name, inputs, attributes) { Output = name });
        return name;
    }

    private static Attribute Int(string name, long value) => new(name, AttributeInt, 0f, value, null);

    private static Attribute Float(string name, float value) => new(name, AttributeFloat, value, 0, null);

    private static Attribute Ints(string name, params long[] values) => new(name, AttributeInts, 0f, 0, values);

    /// <summary>Writes the GraphProto.</summary>
    public ProtoWriter Encode(string graphName)
    {
        var graph = new ProtoWriter(Length);
        foreach (var node in nodes)
        {
            graph.Message(1, EncodeNode(node));         // GraphProto.node
        }

        graph.String(2, graphName);                     // GraphProto.name
        foreach (var initializer in initializers)
        {
            graph.Message(5, initializer);              // GraphProto.initializer
        }

        graph.Message(11, ValueInfo(OnnxExport.InputName, inputShape));     // GraphProto.input
        graph.Message(12, ValueInfo(OnnxExport.OutputName, outputShape));   // GraphProto.output
        return graph;
    }

    private static ProtoWriter EncodeNode(Node node)
    {
        var proto = new ProtoWriter();
        foreach (var input in node.Inputs)
        {
            proto.String(1, input);                     // NodeProto.input
        }

        proto.String(2, node.Output);                   // NodeProto.output
        proto.String(3, node.Name);                     // NodeProto.name
        proto.String(4, node.Op);                       // NodeProto.op_type
        foreach (var attribute in node.Attributes)
        {
            var encoded = new ProtoWriter(32);
            encoded.String(1, attribute.Name);          // AttributeProto.name
            switch (attribute.Type)
            {
                case AttributeFloat:
                    encoded.Float(2, attribute.F);      // AttributeProto.f
                    break;
                case AttributeInt:
                    encoded.Int64(3, attribute.I);      // AttributeProto.i
                    break;
                default:
                    foreach (var value in attribute.Ints!)
                    {
                        encoded.Int64(8, value);        // AttributeProto.ints
                    }

                    break;
            }

            encoded.Int64(20, attribute.Type);          // AttributeProto.type
            proto.Message(5, encoded);                  // NodeProto.attribute
        }

        return proto;
    }

    /// <summary>A float tensor's ValueInfoProto of shape [batch, …<paramref name="sampleShape"/>].</summary>
    private static ProtoWriter ValueInfo(string name, int[] sampleShape)
    {
        var shape = new ProtoWriter();
        var batch = new ProtoWriter();
        batch.String(2, OnnxExport.BatchDimension);     // TensorShapeProto.Dimension.dim_param
        shape.Message(1, batch);                        // TensorShapeProto.dim
        foreach (var size in sampleShape)
        {
            var dimension = new ProtoWriter(16);
            dimension.Int64(1, size);                   // TensorShapeProto.Dimension.dim_value
            shape.Message(1, dimension);
        }

        var tensor = new ProtoWriter();
        tensor.Int64(1, FloatType);                     // TypeProto.Tensor.elem_type
        tensor.Message(2, shape);                       // TypeProto.Tensor.shape
        var type = new ProtoWriter();
        type.Message(1, tensor);                        // TypeProto.tensor_type
        var info = new ProtoWriter();
        info.String(1, name);                           // ValueInfoProto.name
        info.Message(2, type);                          // ValueInfoProto.type
        return info;
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

    private static string ShapeText(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }

        return "[" + string.Join(", ", parts) + "]";
    }

    private readonly record struct LayerContext(int Index, OnnxLayerKind Kind)
    {
        public ArgumentException Error(string message) => new($"Layer {Index} ({Kind}): {message}.", "layers");
    }

    private sealed record Attribute(string Name, int Type, float F, long I, long[]? Ints);

    private sealed class Node(string op, string name, string[] inputs, Attribute[] attributes)
    {
        public string Op { get; } = op;

        public string Name { get; } = name;

        public string[] Inputs { get; } = inputs;

        public Attribute[] Attributes { get; } = attributes;

        public required string Output { get; set; }
    }
}
