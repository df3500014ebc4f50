using System;

namespace ModelGen;

/// <summary>
/// Inverted dropout: while training, each value of the previous layer's output is zeroed with probability
/// <see cref="Rate"/> and the others are scaled by 1 / (1 − rate), so that the expected value is unchanged; in
/// <c>Predict</c> and <c>Evaluate</c> the layer passes its input through. The mask is drawn from the model's seeded
/// training random stream, so a run is repeatable.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class DropoutAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="rate">The probability of zeroing each value, in [0, 1).</param>
    public DropoutAttribute(float rate) => Rate = rate;

    /// <summary>The probability of zeroing each value while training.</summary>
    public float Rate { get; }
}
