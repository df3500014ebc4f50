using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
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

        if (!plan.Layers.Any(l => l is IWeightedPlan))
        {
            return "it has no [Dense] or [Conv2D] layer, so nothing would be computed in int8";
        }

        if (plan.Layers.FirstOrDefault(l => l is IWeightedPlan { WeightRows: > MaxDepth }) is { } deep)
        {
            return $"layer {deep.Position} ({deep.Name}) sums {((IWeightedPlan)deep).WeightRows:N0} inputs per output, more than the {MaxDepth:N0} within which the int8 product's int32 sums cannot overflow";
        }

        return null;
    }

    /// <summary>Quantizes <paramref name="baked"/>, the weights of <paramref name="plan"/> (which <see cref="Problem"/> must accept).</summary>
    public static QuantizedModel Quantize(ModelPlan plan, BakedWeights baked)
    {
        var parameters = baked.Parameters;
        var state = baked.State;
        var prefixes = plan.Torch.LayerPrefixes;

        // How many layers read each position's output (the model's output counts once), as Int8Plan counts them: a
        // layer read twice (by a residual sum) cannot have anything folded into it.
        var readers = new int[plan.Layers.Count + 1];
        foreach (var layer in plan.Layers)
        {
            foreach (var input in Inputs(layer))
            {
                readers[input]++;
            }
        }

        readers[plan.Layers.Count]++;

        // For each position, the layer whose product it still is with nothing applied after it (Int8Plan's _open).
        var open = new PendingLayer?[plan.Layers.Count + 1];
        var pending = new List<PendingLayer>();
        var tensors = new List<FloatTensor>();
        foreach (var layer in plan.Layers)
        {
            var from = Inputs(layer)[0];
            var prefix = prefixes[layer.Position - 1];
            switch (layer)
            {
                case IWeightedPlan weighted:
                {
                    var (depth, units) = (weighted.WeightRows, weighted.WeightColumns);
                    var weights = Slice(parameters, weighted.WeightsOffset, depth * units);
                    var bias = weighted.HasBias ? Slice(parameters, weighted.BiasOffset, units) : null;
                    var unit = new PendingLayer(layer, prefix + "weight", weights, bias, depth, units, weighted.Activation);
                    pending.Add(unit);
                    open[layer.Position] = unit;
                    break;
                }

                case DropoutPlan:
                    open[layer.Position] = readers[from] == 1 ? open[from] : null;
                    break;
                case BatchNormPlan norm:
                    if (open[from] is { Activation: Activation.Linear } producer && readers[from] == 1 && producer.Units == norm.Features)
                    {
                        producer.Fold(
                            norm.Name, prefix + "weight", Slice(parameters, norm.GammaOffset, norm.Features), Slice(parameters, norm.BetaOffset, norm.Features),
                            Slice(state, norm.MeanOffset, norm.Features), Slice(state, norm.VarianceOffset, norm.Features), norm.Epsilon);
                        open[layer.Position] = producer;
                    }
                    else
                    {
                        tensors.Add(Tensor(norm, prefix + "weight", "γ", "Gamma", parameters, norm.GammaOffset));
                        tensors.Add(Tensor(norm, prefix + "bias", "β", "Beta", parameters, norm.BetaOffset));
                        tensors.Add(Tensor(norm, prefix + "running_mean", "running mean", "RunningMean", state, norm.MeanOffset));
                        tensors.Add(Tensor(norm, prefix + "running_var", "running variance", "RunningVariance", state, norm.VarianceOffset));
                    }

                    break;
                case LayerNormPlan norm:
                    tensors.Add(Tensor(norm, prefix + "weight", "γ", "Gamma", parameters, norm.GammaOffset));
                    tensors.Add(Tensor(norm, prefix + "bias", "β", "Beta", parameters, norm.BetaOffset));
                    break;
            }
        }

        return new QuantizedModel(baked.File, pending.Select(p => p.Quantize()).ToEquatableArray(), tensors.ToEquatableArray());
    }

    private static EquatableArray<int> Inputs(LayerPlan layer) => layer.Inputs.Count > 0 ? layer.Inputs : new[] { layer.Position - 1 }.ToEquatableArray();

    private static float[] Slice(EquatableArray<float> values, int offset, int length)
    {
        var slice = new float[length];
        for (var i = 0; i < length; i++)
        {
            slice[i] = values[offset + i];
        }

        return slice;
    }

    /// <summary>One of a normalization layer's tensors, one value per feature.</summary>
    private static FloatTensor Tensor(IScaleShiftPlan norm, string name, string role, string member, EquatableArray<float> values, int offset) =>
        new(name, $"{norm.Name}'s {role}", norm.Identifier + member, new[] { norm.Features }.ToEquatableArray(), Slice(values, offset, norm.Features).ToEquatableArray());

    /// <summary>A dense or convolution layer's float weights [depth × units] and bias, while batch normalizations may still fold into them.</summary>
    private sealed class PendingLayer(LayerPlan layer, string weight, float[] weights, float[]? bias, int depth, int units, Activation activation)
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

            var tensor = layer switch
            {
                ConvPlan conv => new[] { units, conv.Window.Channels, conv.Window.Kernel, conv.Window.Kernel },
                _ => new[] { units, depth },
            };
            return new QuantizedLayer(
                layer.Name, layer.Identifier, weight, tensor.ToEquatableArray(), depth, units, values.ToEquatableArray(), scales.ToEquatableArray(),
                (_bias ?? Array.Empty<float>()).ToEquatableArray(), _folded.ToEquatableArray());
        }
    }
}
