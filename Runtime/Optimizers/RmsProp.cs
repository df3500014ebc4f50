using System;
using ModelGen.Kernels;

namespace ModelGen;

/// <summary>RMSprop, as Keras defines it: s ← ρ·s + (1 − ρ)·g²; θ ← θ − η·g / √(s + ε).</summary>
public sealed class RmsProp : Optimizer
{
    private float[]? _meanSquare;

    /// <summary>Creates the optimizer, with Keras' defaults.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="rho">ρ in [0, 1): the decay of the running mean of g².</param>
    /// <param name="epsilon">ε &gt; 0, added under the root.</param>
    public RmsProp(float learningRate = 0.001f, float rho = 0.9f, float epsilon = 1e-7f)
        : base(learningRate)
    {
        CheckFraction(rho, nameof(rho));
        CheckPositive(epsilon, nameof(epsilon));
        Rho = rho;
        Epsilon = epsilon;
    }

    /// <summary>ρ.</summary>
    public float Rho { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    protected internal override System.Collections.Generic.IReadOnlyList<string> StateNames => ["mean_square"];

    /// <inheritdoc/>
    protected internal override Span<float> StateBuffer(string name, int length) =>
        name == "mean_square" ? State(ref _meanSquare, length) : base.StateBuffer(name, length);

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients) =>
        OptimizerKernels.RmsProp(parameters, gradients, State(ref _meanSquare, parameters.Length), CurrentLearningRate, Rho, Epsilon);
}
