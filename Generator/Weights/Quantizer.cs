using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Weights;

/// <summary>One dense or convolution layer quantized at build time.</summary>
/// <param name="Layer">The layer's name in comments, e.g. <c>dense_1</c>.</param>
/// <param name="Identifier">Its C# identifier stem, e.g. <c>Dense1</c>.</param>
/// <param name="Weight">Its weight's tensor name, as the layer list names it: <c>layers.0.weight</c>.</param>
/// <param name="Shape">That tensor's shape in a weights file: [units, inputs] or [filters, channels, kh, kw].</param>
/// <param name="Depth">Rows of the int8 matrix: inputs, or a window's kh·kw·channels.</param>
/// <param name="Units">Columns: units or filters, one scale each.</param>
/// <param name="Values">The int8 weights [depth × units], row-major.</param>
/// <param name="Scales">Each unit's scale.</param>
/// <param name="Bias">The float bias per unit, with any folded batch normalization's shift; empty for none.</param>
/// <param name="Folded">The folded batch normalizations: their names in comments and their γ tensors' names.</param>
internal sealed record QuantizedLayer(
    string Layer, string Identifier, string Weight, EquatableArray<int> Shape, int Depth, int Units,
    EquatableArray<sbyte> Values, EquatableArray<float> Scales, EquatableArray<float> Bias, EquatableArray<FoldedNorm> Folded);

/// <summary>A batch normalization folded into the layer before it: its name (<c>batch_norm_1</c>) and its γ tensor's.</summary>
internal sealed record FoldedNorm(string Layer, string Gamma);

/// <summary>A float tensor of a layer that stays in float (γ, β, running statistics), as the model keeps it.</summary>
/// <param name="Name">Its tensor name, as the layer list names it: <c>layers.5.weight</c>.</param>
/// <param name="Description">What it is, for comments: <c>layer_norm_1's γ</c>.</param>
/// <param name="Member">The generated member that holds it, e.g. <c>LayerNorm1Gamma</c>.</param>
internal sealed record FloatTensor(string Name, string Description, string Member, EquatableArray<int> Shape, EquatableArray<float> Values);

/// <summary>A model's weights quantized at build time: the int8 layers and the float layers' tensors, in layer order.</summary>
/// <param name="File">The weights file's name, for the generated comments.</param>
internal sealed record QuantizedModel(string File, EquatableArray<QuantizedLayer> Layers, EquatableArray<FloatTensor> Tensors);

/// <summary>
/// Quantizes baked weights to int8 as the runtime's <c>Int8Predictor.Create</c> quantizes a model's: the same batch
/// normalizations folded into the same layers (<c>Int8Plan</c>'s rule), then each dense weight and kernel per output
/// channel with <c>QuantizedWeights.Quantize</c>'s arithmetic, in the same float operations in the same order, so that
/// the int8 values, the scales and the biases are bit for bit the runtime's.
/// </summary>
internal static class Quantizer
{
    /// <summary>The deepest product the int8 kernels take: the runtime's <c>Int8Gemm.MaxDepth</c>.</summary>
    public const int MaxDepth = 65536;

    /// <summary>Why <paramref name="plan"/> cannot be quantized at build time (MG0045's reason), or null when it can.</summary>
    public static string? Problem(ModelPlan plan)
    {
        if (plan.Quantize != QuantizationMode.Dynamic)
        {
            return $"Quantize = {(int)plan.Quantize} is not a QuantizationMode (use QuantizationMode.Dynamic)";
        }

        if (!plan.Layers.Any(l => l.QuantizedDepth > 0))
        {
            return "it has no [Dense] or [Conv2D] layer, so nothing would be computed in int8";
        }

        if (plan.Layers.FirstOrDefault(l => l.QuantizedDepth > MaxDepth) is { } deep)
        {
            return $"layer {deep.Position} ({deep.Name}) sums {deep.QuantizedDepth:N0} inputs per output, more than the {MaxDepth:N0} within which the int8 product's int32 sums cannot overflow";
        }

        return null;
    }

    /// <summary>Quantizes <paramref name="baked"/>, the weights of <paramref name="plan"/> (which <see cref="Problem"/> must accept): each layer tells the builder what it is.</summary>
    public static QuantizedModel Quantize(ModelPlan plan, BakedWeights baked)
    {
        var builder = new QuantizedModelBuilder(plan, baked);
        foreach (var layer in plan.Layers)
        {
            layer.Quantize(builder);
        }

        return builder.Build();
    }
}

/// <summary>
/// The int8 model as <see cref="Quantizer"/> builds it, one layer at a time in order, from what each layer's plan tells
/// it (<see cref="ILayerWriter.Quantize"/>): products to quantize, batch normalizations to fold into them, tensors that
/// stay in float. It follows which product each position's output still is, as the runtime's <c>Int8Plan</c> does.
/// </summary>
internal sealed class QuantizedModelBuilder
{
    private readonly ModelPlan _plan;
    private readonly BakedWeights _baked;

    /// <summary>How many layers read each position's output (the model's output counts once): a product read twice (by a residual sum) cannot have anything folded into it.</summary>
    private readonly int[] _readers;

    /// <summary>For each position, the product its output still is with nothing applied after it (Int8Plan's _open), or null.</summary>
    private readonly PendingLayer?[] _open;

    private readonly List<PendingLayer> _pending = [];
    private readonly List<FloatTensor> _tensors = [];

    public QuantizedModelBuilder(ModelPlan plan, BakedWeights baked)
    {
        _plan = plan;
        _baked = baked;
        _readers = new int[plan.Layers.Count + 1];
        foreach (var layer in plan.Layers)
        {
            foreach (var input in Inputs(layer))
            {
                _readers[input]++;
            }
        }

        _readers[plan.Layers.Count]++;
        _open = new PendingLayer?[plan.Layers.Count + 1];
    }

    /// <summary>A dense or convolution layer's product: its weights, quantized per unit once the batch normalizations after it have folded in.</summary>
    public void AddProduct(IWeightedPlan layer)
    {
        var (depth, units) = (layer.WeightRows, layer.WeightColumns);
        var weights = Slice(_baked.Parameters, layer.WeightsOffset, depth * units);
        var bias = layer.HasBias ? Slice(_baked.Parameters, layer.BiasOffset, units) : null;
        var weight = Prefix(layer.Position) + "weight";
        var shape = _plan.Tensors.First(t => t.Name == weight).Shape;
        var product = new PendingLayer(layer.Name, layer.Identifier, weight, shape, weights, bias, depth, units, layer.Activation);
        _pending.Add(product);
        _open[layer.Position] = product;
    }

    /// <summary>A layer that hands its input on unchanged in inference (dropout): the product it reads stays open after it, if it alone reads it.</summary>
    public void PassOn(LayerPlan layer)
    {
        var from = Inputs(layer)[0];
        _open[layer.Position] = _readers[from] == 1 ? _open[from] : null;
    }

    /// <summary>
    /// Folds a batch normalization (γ and β in the parameters, running mean and variance in the state, one per feature)
    /// into the product it reads, where that product has no activation, as many units as features, and no other reader;
    /// false, with nothing done, where it cannot.
    /// </summary>
    public bool TryFold(LayerPlan layer, int features, float epsilon, int gammaOffset, int betaOffset, int meanOffset, int varianceOffset)
    {
        var from = Inputs(layer)[0];
        if (_open[from] is not { Activation: Activation.Linear } producer || _readers[from] != 1 || producer.Units != features)
        {
            return false;
        }

        var (parameters, state) = (_baked.Parameters, _baked.State);
        producer.Fold(
            layer.Name, Prefix(layer.Position) + "weight", Slice(parameters, gammaOffset, features), Slice(parameters, betaOffset, features),
            Slice(state, meanOffset, features), Slice(state, varianceOffset, features), epsilon);
        _open[layer.Position] = producer;
        return true;
    }

    /// <summary>
    /// One of the layer's vectors that the quantized model keeps in float: its <paramref name="tensor"/> (<c>weight</c>)
    /// of <paramref name="length"/> values at <paramref name="offset"/> in the parameters, or <paramref name="inState"/> in
    /// the state, held by the member the layer's identifier plus <paramref name="member"/> names; <paramref name="role"/> for comments.
    /// </summary>
    public void KeepFloat(LayerPlan layer, string tensor, string role, string member, int offset, int length, bool inState = false) =>
        _tensors.Add(new FloatTensor(
            Prefix(layer.Position) + tensor, $"{layer.Name}'s {role}", layer.Identifier + member, new[] { length }.ToEquatableArray(),
            Slice(inState ? _baked.State : _baked.Parameters, offset, length).ToEquatableArray()));

    /// <summary>The int8 layers, quantized now that every fold is known, and the float tensors, in layer order.</summary>
    public QuantizedModel Build() =>
        new(_baked.File, _pending.Select(p => p.Quantize()).ToEquatableArray(), _tensors.ToEquatableArray());

    private static EquatableArray<int> Inputs(LayerPlan layer) => layer.Inputs.Count > 0 ? layer.Inputs : new[] { layer.Position - 1 }.ToEquatableArray();

    /// <summary>The name prefix of the layer's tensors: <c>layers.3.</c>.</summary>
    private string Prefix(int position) => _plan.Torch.LayerPrefixes[position - 1];

    private static float[] Slice(EquatableArray<float> values, int offset, int length)
    {
        var slice = new float[length];
        for (var i = 0; i < length; i++)
        {
            slice[i] = values[offset + i];
        }

        return slice;
    }

    /// <summary>A dense or convolution layer's float weights [depth × units] and bias, while batch normalizations may still fold into them.</summary>
    private sealed class PendingLayer(
        string layer, string identifier, string weight, EquatableArray<int> shape, float[] weights, float[]? bias, int depth, int units, Activation activation)
    {
        private readonly List<FoldedNorm> _folded = [];
        private float[]? _bias = bias;

        public int Units => units;

        public Activation Activation => activation;

        /// <summary>
        /// Folds a batch normalization into the weights and bias: s = γ / √(σ² + ε), b ← b·s + (β − μ·s), W ← W·diag(s),
        /// in the float operations of the runtime's <c>QuantizedStep.FoldBatchNorm</c>. The square root of a float
        /// computed in double and rounded to float is the correctly rounded float square root, as <c>MathF.Sqrt</c>.
        /// </summary>
        public void Fold(string name, string gammaName, float[] gamma, float[] beta, float[] mean, float[] variance, float epsilon)
        {
            var folded = _bias ?? new float[units];
            for (var j = 0; j < units; j++)
            {
                var deviation = (float)Math.Sqrt((float)(variance[j] + epsilon));
                var scale = (float)(gamma[j] / deviation);
                folded[j] = (float)((float)(folded[j] * scale) + (float)(beta[j] - (float)(mean[j] * scale)));
                for (var p = 0; p < depth; p++)
                {
                    weights[(p * units) + j] = (float)(weights[(p * units) + j] * scale);
                }
            }

            _bias = folded;
            _folded.Add(new FoldedNorm(name, gammaName));
        }

        /// <summary>
        /// Symmetric int8 per unit, as <c>QuantizedWeights.Quantize</c>: s = max |w| / 127 over the unit's weights,
        /// q = round(w / s) to the nearest even on ties, within ±127; a unit of zeros gets s = 0 and zero levels.
        /// </summary>
        public QuantizedLayer Quantize()
        {
            var maxima = new float[units];
            for (var p = 0; p < depth; p++)
            {
                for (var j = 0; j < units; j++)
                {
                    maxima[j] = Math.Max(maxima[j], Math.Abs(weights[(p * units) + j]));
                }
            }

            var scales = new float[units];
            var divisors = new float[units];
            for (var j = 0; j < units; j++)
            {
                scales[j] = (float)(maxima[j] / sbyte.MaxValue);
                divisors[j] = scales[j] == 0f ? 1f : scales[j];
            }

            var values = new sbyte[weights.Length];
            for (var p = 0; p < depth; p++)
            {
                for (var j = 0; j < units; j++)
                {
                    var quotient = (float)(weights[(p * units) + j] / divisors[j]);
                    var level = Math.Round((double)quotient, MidpointRounding.ToEven);
                    values[(p * units) + j] = (sbyte)Math.Max(-sbyte.MaxValue, Math.Min(sbyte.MaxValue, level));
                }
            }

            return new QuantizedLayer(
                layer, identifier, weight, shape, depth, units, values.ToEquatableArray(), scales.ToEquatableArray(),
                (_bias ?? Array.Empty<float>()).ToEquatableArray(), _folded.ToEquatableArray());
        }
    }
}
