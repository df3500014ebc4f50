using System;

namespace ModelGen;

/// <summary>
/// A residual connection: y = f(x) + s(x), where f is the <see cref="BlockAttribute"/> class <see cref="Block"/> and s
/// is the identity, or the block <see cref="Shortcut"/> (a projection, such as a 1×1 convolution with a stride, for
/// when f changes the shape). With <see cref="Activation"/>, y = act(f(x) + s(x)), as in the original ResNet's
/// post-activation blocks; pre-activation and pre-norm blocks (x + f(LayerNorm(x))) put their normalization inside f.
/// f(x) and s(x) must have the same shape; the generator checks it at compile time.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ResidualAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="block">The class marked <c>[Block]</c> whose layers compute f.</param>
    public ResidualAttribute(Type block)
    {
        Block = block;
    }

    /// <summary>The block that computes f(x).</summary>
    public Type Block { get; }

    /// <summary>The block that computes the shortcut s(x); null (the default) for the identity.</summary>
    public Type? Shortcut { get; set; }

    /// <summary>The function applied to the sum (default <see cref="Activation.Linear"/>: none).</summary>
    public Activation Activation { get; set; } = Activation.Linear;

    /// <summary>
    /// How many times the connection is applied in a row (default 1), each time with parameters of its own:
    /// <c>Repeat = 3</c> is three residual layers, the second and third taking the previous one's output.
    /// </summary>
    public int Repeat { get; set; } = 1;
}
