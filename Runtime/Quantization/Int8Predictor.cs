using System;
using System.Collections.Generic;
using System.Text;
using ModelGen.Kernels;
using ModelGen.Onnx;

namespace ModelGen.Quantization;

/// <summary>
/// A trained model's int8 twin for inference (post-training quantization): dense and convolution layers multiply int8
/// weights by 7-bit activations on <see cref="Int8Gemm"/>; everything else runs in float as the model runs it. Made by
/// a model's generated <c>Quantize</c> method, or by <see cref="Create(ITrainableModel, ReadOnlySpan{int}, IReadOnlyList{OnnxLayer}, ReadOnlySpan{float}, QuantizationOptions?)"/> from any model and its layer list.
/// <see cref="Predict"/> and <see cref="PredictBatch"/> return what the model's own methods return (class
/// probabilities for softmax cross-entropy), approximately.
/// </summary>
/// <remarks>
/// <para>
/// <b>Weights</b> are quantized symmetrically per output channel (<see cref="QuantizedWeights"/>): each unit or filter
/// gets the scale that maps its largest weight to ±127. A batch normalization that directly follows a dense or
/// convolution layer without an activation, and is that layer's only reader, is folded into the layer's weights and
/// bias first (W·diag(s), s ⊙ b + β − μ ⊙ s, with s = γ / √(σ² + ε)), so it costs nothing and is quantized with them; an
/// <c>[Activation]</c> layer after such a layer is applied in the layer's output instead of as a pass of its own.
/// </para>
/// <para>
/// <b>Activations</b> are quantized as they enter a dense or convolution layer, to unsigned 7-bit levels with a zero
/// point (<see cref="QuantizationParameters"/>; the eighth bit is given up so that every kernel path computes the same
/// integers, as PyTorch's <c>reduce_range</c> does for FBGEMM). Without calibration samples the parameters are dynamic:
/// taken at run time from each sample's own range at that layer (a sample is predicted the same alone as in any
/// batch). With calibration samples they are static: fixed per layer from the range the samples reach there in float,
/// either the whole range (<see cref="CalibrationMethod.MinMax"/>) or clipped to a percentile of the magnitudes
/// (<see cref="CalibrationMethod.Percentile"/>); values outside saturate. Outputs are dequantized to float in the
/// product's epilogue, with the bias and ReLU.
/// </para>
/// <para>
/// <b>Float layers</b>: pooling, global pooling, layer normalization, a batch normalization that could not be folded,
/// activation layers, residual sums and the loss's softmax or sigmoid. <see cref="Layers"/> lists what happened to each
/// layer. The weights are copied when the predictor is made: training the model further does not change it.
/// </para>
/// <para>
/// An instance keeps one workspace, grown to the largest batch seen, so it allocates nothing once warm and must not run
/// on two threads at once (one predictor per thread). Large products still use the kernel threads
/// (<see cref="KernelSettings.MaxThreads"/>).
/// </para>
/// </remarks>
public sealed class Int8Predictor
{
    /// <summary>Samples a batch is cut into, as the generated models cut theirs.</summary>
    private const int PredictionChunk = 256;

    private readonly Int8Step[] _steps;
    private readonly Int8Workspace _workspace;
    private readonly int _output;
    private readonly Loss _loss;

    private Int8Predictor(Int8Plan plan, int inputSize, int outputSize, Loss loss, bool staticActivations, IReadOnlyList<Int8LayerReport> layers)
    {
        _steps = plan.Steps;
        _workspace = plan.Workspace;
        _output = plan.Output;
        _loss = loss;
        InputSize = inputSize;
        OutputSize = outputSize;
        StaticActivations = staticActivations;
        Layers = layers;
    }

    /// <summary>Floats in one input sample, as the model's.</summary>
    public int InputSize { get; }

    /// <summary>Floats in one output sample, as the model's.</summary>
    public int OutputSize { get; }

    /// <summary>True when the activations' parameters were calibrated (static); false when each sample's own range sets them (dynamic).</summary>
    public bool StaticActivations { get; }

    /// <summary>Every layer of the model, then the loss's output function, with how the predictor computes it.</summary>
    public IReadOnlyList<Int8LayerReport> Layers { get; }

    /// <summary>The int8 kernel this processor runs: <c>AVX-VNNI</c>, <c>AVX-512BW</c>, <c>AVX2</c>, <c>SSSE3</c> or <c>scalar</c>.</summary>
    public static string Kernel => Int8Gemm.BestPath switch
    {
        Int8Path.Vnni => "AVX-VNNI",
        Int8Path.Avx512 => "AVX-512BW",
        Int8Path.Avx2 => "AVX2",
        Int8Path.Ssse3 => "SSSE3",
        _ => "scalar",
    };

    /// <summary>
    /// Quantizes <paramref name="model"/>, whose layers <paramref name="layers"/> describes as its generated
    /// <c>OnnxLayers</c> does (a model's generated <c>Quantize</c> method passes them).
    /// </summary>
    /// <param name="model">The trained model: its current weights and running statistics are copied.</param>
    /// <param name="inputShape">One sample as the model declares it: [n] or [channels, height, width].</param>
    /// <param name="layers">The model's layers in order, one per layer attribute after <c>[Input]</c>.</param>
    /// <param name="calibration">
    /// Samples one after another (<see cref="ITrainableModel.InputSize"/> floats each) whose activations fix each
    /// quantized layer's input range (static quantization); empty for dynamic quantization. A few hundred representative
    /// samples are usually enough.
    /// </param>
    /// <param name="options">How the calibration samples become ranges; null for min/max.</param>
    /// <exception cref="ArgumentException">The shape or the layers do not fit the model's sizes and tensors, the calibration samples are not whole samples, or a value is NaN or infinite.</exception>
    /// <exception cref="NotSupportedException">A layer has no int8 form here (a kind this predictor does not know, or a product deeper than <see cref="Int8Gemm.MaxDepth"/>).</exception>
    public static Int8Predictor Create(
        ITrainableModel model, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers, ReadOnlySpan<float> calibration = default, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        options ??= new QuantizationOptions();
        options.Validate();
        var calibrating = !calibration.IsEmpty;
        if (calibrating)
        {
            Guard.SampleCount(calibration, model.InputSize, nameof(calibration));
        }

        var plan = Int8Plan.Build(model, inputShape, layers);
        var quantized = new List<QuantizedStep>();
        foreach (var step in plan.Steps)
        {
            if (step is QuantizedStep layer)
            {
                quantized.Add(layer);
                layer.Calibrator = calibrating ? new ActivationCalibrator() : null;
            }
        }

        if (calibrating)
        {
            // The float network (the folded weights, not yet quantized) runs over the samples; each quantized layer
            // observes its inputs.
            var count = calibration.Length / model.InputSize;
            for (var start = 0; start < count; start += PredictionChunk)
            {
                var batch = Math.Min(PredictionChunk, count - start);
                Forward(plan.Steps, plan.Workspace, calibration.Slice(start * model.InputSize, batch * model.InputSize), batch);
            }
        }

        foreach (var layer in quantized)
        {
            QuantizationParameters? parameters = layer.Calibrator is not { } calibrator ? null
                : options.Method == CalibrationMethod.Percentile ? calibrator.Percentile(options.Percentile) : calibrator.MinMax();
            layer.Finish(parameters);
        }

        return new Int8Predictor(plan, model.InputSize, model.OutputSize, model.Loss, calibrating, plan.Report(options));
    }

    /// <summary>
    /// Makes a predictor of weights quantized ahead of time, with no float model: what a model declared with
    /// <c>[Model(Weights = "…", Quantize = QuantizationMode.Dynamic)]</c> calls in its generated <c>CreateInt8Predictor()</c>.
    /// The activations are quantized dynamically. With the weights <see cref="QuantizedWeights.Quantize"/> makes from the
    /// model's (after the same folding), it predicts exactly what <see cref="Create(ITrainableModel, ReadOnlySpan{int}, IReadOnlyList{OnnxLayer}, ReadOnlySpan{float}, QuantizationOptions?)"/>
    /// without calibration samples predicts, bit for bit.
    /// </summary>
    /// <param name="weights">The int8 layers and the float layers' tensors, by the names <paramref name="layers"/> use.</param>
    /// <param name="inputShape">One sample as the model declares it: [n] or [channels, height, width].</param>
    /// <param name="layers">The model's layers in order, as its generated <c>OnnxLayers</c> lists them.</param>
    /// <exception cref="ArgumentException">The shape or the layers do not fit the weights, or the folded batch normalizations are not those the predictor folds.</exception>
    /// <exception cref="NotSupportedException">A layer has no int8 form here.</exception>
    public static Int8Predictor Create(Int8ModelWeights weights, ReadOnlySpan<int> inputShape, IReadOnlyList<OnnxLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(layers);
        var plan = Int8Plan.Build(weights, inputShape, layers);
        foreach (var step in plan.Steps)
        {
            (step as QuantizedStep)?.Finish(null);
        }

        return new Int8Predictor(plan, weights.InputSize, weights.OutputSize, weights.Loss, staticActivations: false, plan.Report(new QuantizationOptions()));
    }

    /// <summary>Predicts one sample, as the model's <c>Predict</c> does. Allocates nothing once warm.</summary>
    /// <param name="input">One sample: <see cref="InputSize"/> floats.</param>
    /// <param name="output">Receives <see cref="OutputSize"/> floats.</param>
    /// <exception cref="ArgumentException">A span's length is wrong, or (dynamic quantization) an input reaching an int8 layer is NaN or infinite.</exception>
    public void Predict(ReadOnlySpan<float> input, Span<float> output)
    {
        Guard.Length(input, InputSize, nameof(input));
        Guard.Length(output, OutputSize, nameof(output));
        Forward(_steps, _workspace, input, batch: 1);
        _workspace.Read(_output, input, batch: 1).CopyTo(output);
        ApplyOutputFunction(output);
    }

    /// <summary>Predicts a batch of samples stored one after another, as the model's <c>PredictBatch</c> does. Allocates nothing once warm.</summary>
    /// <param name="inputs">n samples of <see cref="InputSize"/> floats each.</param>
    /// <param name="outputs">Receives n × <see cref="OutputSize"/> floats.</param>
    /// <exception cref="ArgumentException">A span's length is wrong, or (dynamic quantization) an input reaching an int8 layer is NaN or infinite.</exception>
    public void PredictBatch(ReadOnlySpan<float> inputs, Span<float> outputs)
    {
        var count = Guard.SampleCount(inputs, InputSize, nameof(inputs));
        Guard.Length(outputs, count * OutputSize, nameof(outputs));
        for (var start = 0; start < count; start += PredictionChunk)
        {
            var batch = Math.Min(PredictionChunk, count - start);
            var chunk = inputs.Slice(start * InputSize, batch * InputSize);
            Forward(_steps, _workspace, chunk, batch);
            var results = outputs.Slice(start * OutputSize, batch * OutputSize);
            _workspace.Read(_output, chunk, batch).CopyTo(results);
            ApplyOutputFunction(results);
        }
    }

    /// <summary>The layers and how each is computed, one per line.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("Int8Predictor, ").Append(StaticActivations ? "static" : "dynamic").Append(" activations, ").Append(Kernel).Append(" kernel:");
        foreach (var layer in Layers)
        {
            text.Append('\n').Append(layer);
        }

        return text.ToString();
    }

    /// <summary>Runs every step on a batch of at most <see cref="PredictionChunk"/> samples.</summary>
    private static void Forward(Int8Step[] steps, Int8Workspace workspace, ReadOnlySpan<float> inputs, int batch)
    {
        workspace.EnsureCapacity(batch);
        foreach (var step in steps)
        {
            step.Run(inputs, workspace, batch);
        }
    }

    /// <summary>What the model's prediction adds after its last layer: the softmax or sigmoid of the cross-entropy losses.</summary>
    private void ApplyOutputFunction(Span<float> outputs)
    {
        switch (_loss)
        {
            case Loss.SoftmaxCrossEntropy:
                Reductions.Softmax(outputs, outputs, OutputSize);
                break;
            case Loss.BinaryCrossEntropy:
                Activations.Sigmoid(outputs);
                break;
        }
    }
}
