using System;

namespace ModelGen;

/// <summary>Declares the shape of one input sample, e.g. <c>[Input(784)]</c> or <c>[Input(1, 28, 28)]</c> (channels, height, width).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class InputAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="shape">The size of each dimension of one sample; every size must be positive.</param>
    public InputAttribute(params int[] shape) => Shape = shape;

    /// <summary>The size of each dimension of one sample.</summary>
    public int[] Shape { get; }
}
