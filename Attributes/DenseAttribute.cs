using System;

namespace ModelGen;

/// <summary>A fully connected layer: <c>y = f(x·W + b)</c> with <c>W</c> of shape [inputs × units] (saved as PyTorch's [units, inputs]).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DenseAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="units">The number of outputs; must be positive.</param>
    /// <param name="activation">The function applied to each output.</param>
    public DenseAttribute(int units, Activation activation = Activation.Linear)
    {
        Units = units;
        Activation = activation;
    }

    /// <summary>The number of outputs.</summary>
    public int Units { get; }

    /// <summary>The function applied to each output.</summary>
    public Activation Activation { get; set; }

    /// <summary>
    /// α of <see cref="Activation.LeakyRelu"/> (the slope below zero, default 0.01) or <see cref="Activation.Elu"/>
    /// (the negative saturation, default 1); must be positive, and set only with one of those two.
    /// </summary>
    public float Alpha { get; set; } = float.NaN;

    /// <summary>How the weights are drawn; <see cref="Initializer.Auto"/> picks He for ReLU layers and Glorot otherwise.</summary>
    public Initializer Initializer { get; set; } = Initializer.Auto;

    /// <summary>
    /// Whether the layer adds a bias b (default true). Without it the layer has no bias parameters, as PyTorch's
    /// <c>bias=False</c>: the usual choice right before a batch normalization, whose β plays the same part.
    /// </summary>
    public bool UseBias { get; set; } = true;
}
