using System;
using System.Numerics.Tensors;
using ModelGen.Kernels;

namespace ModelGen;

/// <summary>
/// Stochastic gradient descent, as Keras defines it: θ ← θ − η·g; with momentum μ, v ← μ·v − η·g and θ ← θ + v;
/// with Nesterov momentum, θ ← θ + μ·v − η·g.
/// </summary>
public sealed class Sgd : Optimizer
{
    private float[]? _velocity;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">η; Keras' default is 0.01.</param>
    /// <param name="momentum">μ in [0, 1); 0 (the default) is plain SGD.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum.</param>
    public Sgd(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false)
        : base(learningRate)
    {
        CheckFraction(momentum, nameof(momentum));
        Momentum = momentum;
        Nesterov = nesterov;
    }

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>Whether the update looks ahead along the velocity (Nesterov).</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (Momentum == 0f)
        {
            TensorPrimitives.MultiplyAdd(gradients, -LearningRate, parameters, parameters);
            return;
        }

        OptimizerKernels.Momentum(parameters, gradients, State(ref _velocity, parameters.Length), LearningRate, Momentum, Nesterov);
    }
}
