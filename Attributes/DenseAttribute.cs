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

    /// <summary>How the weights are drawn; <see cref="Initializer.Auto"/> picks He for ReLU layers and Glorot otherwise.</summary>
    public Initializer Initializer { get; set; } = Initializer.Auto;
}
