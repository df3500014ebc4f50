using System;

namespace ModelGen;

/// <summary>
/// Layer normalization (Ba, Kiros &amp; Hinton, 2016): each sample's values are shifted and scaled to mean 0 and
/// variance 1, y = γ ⊙ (x − μ) / √(σ² + ε) + β, with learned γ (starting at 1) and β (starting at 0), one of each per
/// value. The same in training and in inference. Saved as PyTorch's <c>nn.LayerNorm</c>: <c>weight</c> (γ) and
/// <c>bias</c> (β).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LayerNormAttribute : Attribute
{
    /// <summary>ε, added to the variance so that a constant sample does not divide by zero; PyTorch's default 1e-5.</summary>
    public float Epsilon { get; set; } = 1e-5f;
}
