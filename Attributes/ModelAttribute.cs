using System;

namespace ModelGen;

/// <summary>
/// Marks a <c>partial class</c> as a neural network compiled by ModelGen. The layers are the <see cref="InputAttribute"/>
/// and the layer attributes that follow it on the same declaration, in source order.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class ModelAttribute : Attribute
{
    /// <summary>The loss the model is trained with. Defaults to <see cref="Loss.MeanSquaredError"/>.</summary>
    public Loss Loss { get; set; } = Loss.MeanSquaredError;

    /// <summary>δ of <see cref="Loss.Huber"/>: errors up to δ are squared, larger ones count linearly. Must be positive.</summary>
    public float HuberDelta { get; set; } = 1f;

    /// <summary>
    /// A safetensors file of trained weights to bake into the model: given to the compiler as an <c>AdditionalFiles</c>
    /// item, it is read at build time and embedded as static data, so that <c>new Model()</c> is the trained model with
    /// no file I/O. Its tensors must match the declared layers by name and shape (build errors MG0022–MG0025 say what
    /// does not). The path is matched against the end of each <c>AdditionalFiles</c> path, e.g. <c>"fashion.safetensors"</c>.
    /// </summary>
    public string? Weights { get; set; }

    /// <summary>
    /// Quantizes the <see cref="Weights"/> to int8 when the model is compiled (<see cref="QuantizationMode.Dynamic"/>):
    /// dense and convolution weights become symmetric int8 with one scale per output channel, exactly as the model's
    /// run-time <c>Quantize()</c> makes them, and are baked into the assembly beside the float ones. The model then has
    /// a static <c>CreateInt8Predictor()</c> that reads only the int8 data, so a trimmed or NativeAOT program that never
    /// constructs the float model leaves the float weights out of its binary. Needs <see cref="Weights"/> (MG0044); a
    /// model that cannot be quantized at build time is MG0045. Default <see cref="QuantizationMode.None"/>.
    /// </summary>
    public QuantizationMode Quantize { get; set; } = QuantizationMode.None;
}
