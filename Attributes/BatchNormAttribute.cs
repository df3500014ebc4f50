using System;

namespace ModelGen;

/// <summary>
/// Batch normalization (Ioffe &amp; Szegedy, 2015), as Keras defines it: while training, each value is normalized with
/// its batch's mean and variance, y = γ ⊙ (x − μ_B) / √(σ²_B + ε) + β, and running averages of μ and σ² are kept,
/// μ ← m·μ + (1 − m)·μ_B; in <c>Predict</c> and <c>Evaluate</c> the running averages stand in for the batch's. γ starts
/// at 1 and β at 0 (learned); the running mean at 0 and variance at 1 (not learned: kept apart from the parameters, in
/// the model's <c>State</c>, and saved with them as <c>running_mean</c> and <c>running_var</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class BatchNormAttribute : Attribute
{
    /// <summary>m, how much of the running averages each training step keeps; Keras' default 0.99.</summary>
    public float Momentum { get; set; } = 0.99f;

    /// <summary>ε, added to the variance; Keras' default 1e-3.</summary>
    public float Epsilon { get; set; } = 1e-3f;
}
