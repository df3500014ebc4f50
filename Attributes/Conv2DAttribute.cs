using System;

namespace ModelGen;

/// <summary>
/// A 2-D convolution: <c>filters</c> kernels of <c>kernelSize × kernelSize × channels</c> slide over a channels ×
/// height × width input, each output value <c>f(Σ window·kernel + b)</c>. It needs an input of three dimensions (an
/// <c>[Input(channels, height, width)]</c>, or a convolution or pooling layer before it); its output is filters ×
/// output height × output width, kept channels-last in memory. A dense layer after it needs <c>[Flatten]</c> first.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class Conv2DAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="filters">The number of kernels, which is the number of output channels; must be positive.</param>
    /// <param name="kernelSize">The side of each square kernel; must be positive and fit the (padded) input.</param>
    public Conv2DAttribute(int filters, int kernelSize)
    {
        Filters = filters;
        KernelSize = kernelSize;
    }

    /// <summary>The number of kernels (output channels).</summary>
    public int Filters { get; }

    /// <summary>The side of each square kernel.</summary>
    public int KernelSize { get; }

    /// <summary>The step between two windows, in both directions (default 1).</summary>
    public int Stride { get; set; } = 1;

    /// <summary>How the border is treated (default <see cref="Padding.Valid"/>: no padding).</summary>
    public Padding Padding { get; set; } = Padding.Valid;

    /// <summary>The function applied to each output (default linear).</summary>
    public Activation Activation { get; set; }

    /// <summary>α of <see cref="Activation.LeakyRelu"/> or <see cref="Activation.Elu"/>, as on <see cref="DenseAttribute.Alpha"/>.</summary>
    public float Alpha { get; set; } = float.NaN;

    /// <summary>
    /// How the kernels are drawn; <see cref="Initializer.Auto"/> picks He for ReLU layers and Glorot otherwise, with fanIn =
    /// kernelSize² × input channels and fanOut = kernelSize² × filters, as Keras counts them.
    /// </summary>
    public Initializer Initializer { get; set; } = Initializer.Auto;

    /// <summary>
    /// Whether the layer adds a bias b (default true). Without it the layer has no bias parameters, as PyTorch's
    /// <c>bias=False</c>: the usual choice right before a batch normalization, whose β plays the same part.
    /// </summary>
    public bool UseBias { get; set; } = true;
}
