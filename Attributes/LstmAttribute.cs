using System;

namespace ModelGen;

/// <summary>
/// A long short-term memory layer over a sequence [T × I], PyTorch's <c>nn.LSTM(I, hidden, batch_first=True)</c>: gates
/// i, f, g, o in that order, c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t), from a zero state for every sequence. It
/// gives every step's h [T × hidden], or with <see cref="ReturnSequences"/> = false the last one [hidden]. Trained by
/// backpropagation through time. Saved as <c>weight_ih_l0</c> [4·hidden, I], <c>weight_hh_l0</c>, <c>bias_ih_l0</c>,
/// <c>bias_hh_l0</c>, all drawn from U(±1/√hidden) as PyTorch does.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LstmAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="hidden">H, the size of the hidden state; must be positive.</param>
    public LstmAttribute(int hidden) => Hidden = hidden;

    /// <summary>H.</summary>
    public int Hidden { get; }

    /// <summary>Whether the layer gives every step's hidden state (the default) or only the last.</summary>
    public bool ReturnSequences { get; set; } = true;
}
