using System;
using System.Numerics.Tensors;
using ModelGen.Kernels;

namespace ModelGen;

/// <summary>
/// Stochastic gradient descent, as Keras defines it: θ ← θ − η·g; with momentum μ, v ← μ·v − η·g and θ ← θ + v;
/// with Nesterov momentum, θ ← θ + μ·v − η·g; with weight decay λ, θ ← θ − η·λ·θ first.
/// </summary>
public sealed class Sgd : Optimizer
{
    private float[]? _velocity;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">η; Keras' default is 0.01.</param>
    /// <param name="momentum">μ in [0, 1); 0 (the default) is plain SGD.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum.</param>
    /// <param name="weightDecay">λ ≥ 0: each step first shrinks every parameter by η·λ·θ (decoupled, as Keras' <c>weight_decay</c>).</param>
    public Sgd(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(learningRate)
    {
        CheckFraction(momentum, nameof(momentum));
        CheckNonNegative(weightDecay, nameof(weightDecay));

        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    /// <summary>λ.</summary>
    public float WeightDecay { get; }

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>Whether the update looks ahead along the velocity (Nesterov).</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected internal override System.Collections.Generic.IReadOnlyList<string> StateNames => Momentum == 0f ? [] : ["velocity"];

    /// <inheritdoc/>
    protected internal override Span<float> StateBuffer(string name, int length) =>
        name == "velocity" && Momentum != 0f ? State(ref _velocity, length) : base.StateBuffer(name, length);

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        var rate = CurrentLearningRate;
        if (WeightDecay > 0f)
        {
            TensorPrimitives.Multiply(parameters, 1f - (rate * WeightDecay), parameters);
        }

        if (Momentum == 0f)
        {
            TensorPrimitives.MultiplyAdd(gradients, -rate, parameters, parameters);
            return;
        }

        OptimizerKernels.Momentum(parameters, gradients, State(ref _velocity, parameters.Length), rate, Momentum, Nesterov);
    }
}
