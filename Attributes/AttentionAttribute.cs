using System;

namespace ModelGen;

/// <summary>
/// Multi-head scaled dot-product self-attention over a sequence [T × D], with its projections: q | k | v = x·W_qkv +
/// b_qkv (D → 3·D), each head h of the D / heads columns computes softmax(q·kᵀ / √(D/heads) + M)·v, with M = −∞ above
/// the diagonal when <see cref="Causal"/>, the heads are concatenated, and y = o·W_o + b_o (D → D). The T × T scores are
/// never stored. Saved as the PyTorch module the remarks show: <c>qkv</c> and <c>proj</c>, two <c>nn.Linear</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AttentionAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="heads">The number of heads; must divide the width D.</param>
    public AttentionAttribute(int heads) => Heads = heads;

    /// <summary>The number of heads.</summary>
    public int Heads { get; }

    /// <summary>Whether a position sees only itself and the positions before it (a language model's mask); true by default.</summary>
    public bool Causal { get; set; } = true;

    /// <summary>How W_qkv and W_o are drawn; <see cref="Initializer.Auto"/> is N(0, 0.02²), as GPT-2's.</summary>
    public Initializer Initializer { get; set; } = Initializer.Auto;
}
