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

    /// <summary>
    /// For a sequence of token ids, the number of distinct tokens V (0, the default, for an input of values): the
    /// input <c>[Input(64, Vocabulary = 96)]</c> is then 64 positions, each an id in [0, V) held as an exact float, and an
    /// <see cref="EmbeddingAttribute"/> must read it.
    /// </summary>
    public int Vocabulary { get; set; }
}
