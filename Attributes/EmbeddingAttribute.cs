using System;

namespace ModelGen;

/// <summary>
/// A token embedding: each position's id t selects row t of a learned table E [vocabulary × dim], so a sequence of
/// T ids becomes T × dim values; with <see cref="Positions"/> = <see cref="PositionEncoding.Learned"/> (the default)
/// a second learned table P [T × dim] is added, row t to position t. It must read the model's token input
/// (<c>[Input(T, Vocabulary = V)]</c>). Saved as PyTorch's <c>nn.Embedding</c>: <c>weight</c> [V, dim], and
/// <c>positions</c> [T, dim]. A <see cref="TiedHeadAttribute"/> at the end of the model reuses E as its weights.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class EmbeddingAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="dim">Values per position; must be positive.</param>
    public EmbeddingAttribute(int dim) => Dim = dim;

    /// <summary>Values per position.</summary>
    public int Dim { get; }

    /// <summary>How a position's place in the sequence is told to the layers after: a learned table by default.</summary>
    public PositionEncoding Positions { get; set; } = PositionEncoding.Learned;

    /// <summary>How both tables are drawn; <see cref="Initializer.Auto"/> is N(0, 0.02²), as GPT-2's.</summary>
    public Initializer Initializer { get; set; } = Initializer.Auto;
}
