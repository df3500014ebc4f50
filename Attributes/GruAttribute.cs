using System;

namespace ModelGen;

/// <summary>
/// A gated recurrent unit layer over a sequence [T × I], PyTorch's <c>nn.GRU(I, hidden, batch_first=True)</c>: gates r, z,
/// n in that order, n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, from a zero state
/// for every sequence. It gives every step's h [T × hidden], or with <see cref="ReturnSequences"/> = false the last one.
/// Saved as PyTorch's <c>weight_ih_l0</c> [3·hidden, I], <c>weight_hh_l0</c>, <c>bias_ih_l0</c>, <c>bias_hh_l0</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GruAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="hidden">H, the size of the hidden state; must be positive.</param>
    public GruAttribute(int hidden) => Hidden = hidden;

    /// <summary>H.</summary>
    public int Hidden { get; }

    /// <summary>Whether the layer gives every step's hidden state (the default) or only the last.</summary>
    public bool ReturnSequences { get; set; } = true;
}
