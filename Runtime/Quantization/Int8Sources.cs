using System;
using System.Collections.Generic;

namespace ModelGen.Quantization;

/// <summary>
/// Where an <see cref="Int8Plan"/> takes the model's sizes and tensors from: a trained float model, whose dense and
/// convolution weights are quantized after any folding (<see cref="ModelSource"/>), or weights quantized ahead of time
/// (<see cref="QuantizedSource"/>).
/// </summary>
internal abstract class Int8Source
{
    /// <summary>Floats in one input sample.</summary>
    public abstract int InputSize { get; }

    /// <summary>Floats in one output sample.</summary>
    public abstract int OutputSize { get; }

    /// <summary>The model's loss.</summary>
    public abstract Loss Loss { get; }

    /// <summary>Where a tensor is looked for, for messages: "the model's ParameterTensors" or "the quantized weights' tensors".</summary>
    public abstract string Description { get; }

    /// <summary>The file shape of tensor <paramref name="name"/>, or null when the source has no such tensor.</summary>
    public abstract int[]? Shape(string name);

    /// <summary>A copy of float tensor <paramref name="name"/> as the model keeps it (the name must exist).</summary>
    public abstract float[] Values(string name);

    /// <summary>
    /// A dense or convolution layer's weights: float, kept by unit, for the plan to fold and quantize; or already in
    /// int8 with their bias. Null when the weight is not kept with one column per unit.
    /// </summary>
    public abstract LayerSource? Layer(string weight);
}

/// <summary>A layer's weights from an <see cref="Int8Source"/>: <see cref="Floats"/> to quantize, or <see cref="Quantized"/>.</summary>
internal sealed record LayerSource(float[]? Floats, Int8LayerWeights? Quantized);

/// <summary>A trained model's parameters and running statistics, copied when the plan reads them.</summary>
internal sealed class ModelSource : Int8Source
{
    private readonly ITrainableModel _model;
    private readonly Dictionary<string, ParameterTensor> _tensors = new(StringComparer.Ordinal);

    public ModelSource(ITrainableModel model)
    {
        _model = model;
        foreach (var tensor in model.ParameterTensors)
        {
            _tensors[tensor.Name] = tensor;
        }
    }

    public override int InputSize => _model.InputSize;

    public override int OutputSize => _model.OutputSize;

    public override Loss Loss => _model.Loss;

    public override string Description => "the model's ParameterTensors";

    public override int[]? Shape(string name) => _tensors.TryGetValue(name, out var tensor) ? tensor.Shape : null;

    public override float[] Values(string name)
    {
        var tensor = _tensors[name];
        return tensor.Slice(tensor.Buffer(_model)).ToArray();
    }

    public override LayerSource? Layer(string weight)
    {
        // Dense weights are kept [inputs × units] and kernels [kh, kw, c, filters]: the file's first axis last.
        var tensor = _tensors[weight];
        return tensor.StoredAxes is { Length: > 0 } axes && axes[^1] == 0 ? new LayerSource(tensor.Slice(tensor.Buffer(_model)).ToArray(), null) : null;
    }
}

/// <summary>Weights quantized ahead of time (<see cref="Int8ModelWeights"/>): the layers' int8 weights, the float layers' tensors.</summary>
internal sealed class QuantizedSource(Int8ModelWeights weights) : Int8Source
{
    public override int InputSize => weights.InputSize;

    public override int OutputSize => weights.OutputSize;

    public override Loss Loss => weights.Loss;

    public override string Description => "the quantized weights' tensors";

    public override int[]? Shape(string name) =>
        weights.TryGetLayer(name, out var layer) ? layer.Shape
        : weights.TryGetTensor(name, out var shape, out _) ? shape
        : null;

    public override float[] Values(string name)
    {
        if (!weights.TryGetTensor(name, out _, out var values))
        {
            throw new ArgumentException($"The tensor '{name}' is an int8 layer's weight among the quantized weights; a float tensor is needed.", "layers");
        }

        return values.AsSpan().ToArray();
    }

    public override LayerSource? Layer(string weight) =>
        weights.TryGetLayer(weight, out var layer) ? new LayerSource(null, layer) : null;
}
