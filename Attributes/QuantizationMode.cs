namespace ModelGen;

/// <summary>
/// Whether, and how, the generator quantizes a model's baked weights to int8 at build time
/// (<see cref="ModelAttribute.Quantize"/>). The numeric values are read by the generator: never renumber a member.
/// </summary>
public enum QuantizationMode
{
    /// <summary>No build-time quantization: the model is float only (it can still be quantized at run time with its <c>Quantize()</c> method).</summary>
    None = 0,

    /// <summary>
    /// Dense and convolution weights quantized at build time to symmetric int8, one scale per output channel; the
    /// activations quantized at run time from each sample's own range, so no calibration data is needed. The model gets a
    /// static <c>CreateInt8Predictor()</c>.
    /// </summary>
    Dynamic = 1,
}
