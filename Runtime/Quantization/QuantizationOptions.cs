using System;

namespace ModelGen.Quantization;

/// <summary>How calibration samples fix a quantized layer's input range (static quantization).</summary>
public enum CalibrationMethod
{
    /// <summary>The whole range the samples reach, from their smallest to their largest value (<see cref="ActivationCalibrator.MinMax"/>).</summary>
    MinMax,

    /// <summary>
    /// The range clipped to a percentile of the magnitudes (<see cref="ActivationCalibrator.Percentile"/>): rare outliers
    /// saturate so that the common values get finer levels.
    /// </summary>
    Percentile,
}

/// <summary>Settings of <see cref="Int8Predictor.Create(ITrainableModel, ReadOnlySpan{int}, System.Collections.Generic.IReadOnlyList{Onnx.OnnxLayer}, ReadOnlySpan{float}, QuantizationOptions?)"/> beyond the calibration samples themselves.</summary>
public sealed record QuantizationOptions
{
    /// <summary>How the calibration samples become each quantized layer's input range; unused without samples (dynamic quantization).</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>The percentage of magnitudes <see cref="CalibrationMethod.Percentile"/> keeps inside the range: (0, 100], default 99.99.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>Throws unless the settings can be used.</summary>
    internal void Validate()
    {
        if (!Enum.IsDefined(Method))
        {
            throw new ArgumentOutOfRangeException(nameof(Method), Method, "Unknown calibration method.");
        }

        if (!(Percentile > 0 && Percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(Percentile), Percentile, "A percentage in (0, 100] is needed.");
        }
    }
}

/// <summary>What an <see cref="Int8Predictor"/> does with one of the model's layers.</summary>
public enum LayerPrecision
{
    /// <summary>Computed in int8: weights per output channel, activations quantized on the way in, float outputs.</summary>
    Int8,

    /// <summary>Computed in float, as the model computes it.</summary>
    Float,

    /// <summary>Merged into the int8 layer before it (a batch normalization folded into its weights, an activation into its output).</summary>
    Folded,

    /// <summary>Nothing to compute at inference (flatten, dropout).</summary>
    Identity,
}

/// <summary>One line of <see cref="Int8Predictor.Layers"/>: a layer of the model and how the predictor computes it.</summary>
/// <param name="Position">The layer's 1-based position among the model's layers; the loss's softmax or sigmoid comes last, one past the final layer.</param>
/// <param name="Layer">The layer's kind (<see cref="Onnx.OnnxLayerKind"/>'s name), or <c>Softmax</c> / <c>Sigmoid</c> for the output.</param>
/// <param name="Precision">How it is computed.</param>
/// <param name="Detail">What was done, e.g. the input's fixed quantization range, or which layer a folded one went into.</param>
public sealed record Int8LayerReport(int Position, string Layer, LayerPrecision Precision, string Detail)
{
    /// <summary>The report as one line: position, kind, precision and detail.</summary>
    public override string ToString() => $"{Position,3} {Layer,-16} {Precision,-8} {Detail}".TrimEnd();
}
