using System;

namespace ModelGen;

/// <summary>
/// A layer that applies an activation function to each value: for the places where no dense or convolution layer
/// applies it, such as after a <see cref="BatchNormAttribute"/> (convolution, batch normalization, ReLU) or before a
/// convolution in a pre-activation residual block. As PyTorch's <c>nn.ReLU</c> and Keras' <c>Activation</c> layer.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ActivationAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="function">The function applied to each value.</param>
    public ActivationAttribute(Activation function)
    {
        Function = function;
    }

    /// <summary>The function applied to each value.</summary>
    public Activation Function { get; }

    /// <summary>α of <see cref="Activation.LeakyRelu"/> (default 0.01) or <see cref="Activation.Elu"/> (default 1).</summary>
    public float Alpha { get; set; } = float.NaN;
}
