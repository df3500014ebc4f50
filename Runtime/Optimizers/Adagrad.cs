using System;
using System.Numerics.Tensors;

namespace ModelGen;

/// <summary>
/// Adagrad (Duchi et al., 2011), as Keras computes it: a ← a + g²; θ ← θ − η·g / (√a + ε), with every accumulator
/// starting at 0.1 by default, so parameters with large past gradients take smaller steps.
/// </summary>
public sealed class Adagrad : Optimizer
{
    private float[]? _accumulator;
    private float[]? _scratch;

    /// <summary>Creates the optimizer, with Keras' defaults.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="initialAccumulator">The accumulators' starting value, ≥ 0.</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    public Adagrad(float learningRate = 0.001f, float initialAccumulator = 0.1f, float epsilon = 1e-7f)
        : base(learningRate)
    {
        CheckNonNegative(initialAccumulator, nameof(initialAccumulator));

        CheckPositive(epsilon, nameof(epsilon));
        InitialAccumulator = initialAccumulator;
        Epsilon = epsilon;
    }

    /// <summary>The accumulators' starting value.</summary>
    public float InitialAccumulator { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    protected internal override System.Collections.Generic.IReadOnlyList<string> StateNames => ["accumulator"];

    /// <inheritdoc/>
    protected internal override Span<float> StateBuffer(string name, int length) =>
        name == "accumulator" ? State(ref _accumulator, length) : base.StateBuffer(name, length);

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        var first = _accumulator is null;
        var accumulator = State(ref _accumulator, parameters.Length);
        if (first)
        {
            accumulator.Fill(InitialAccumulator);
        }

        var step = State(ref _scratch, parameters.Length);
        TensorPrimitives.MultiplyAdd(gradients, gradients, accumulator, accumulator);   // a += g²
        TensorPrimitives.Sqrt(accumulator, step);                                        // √a
        TensorPrimitives.Add(step, Epsilon, step);                                       // √a + ε
        TensorPrimitives.Divide(gradients, step, step);                                  // g / (√a + ε)
        TensorPrimitives.MultiplyAdd(step, -CurrentLearningRate, parameters, parameters); // θ −= η·…
    }
}
