using System;
using System.Numerics.Tensors;
using ModelGen.Kernels;

namespace ModelGen;

/// <summary>
/// Adam (Kingma &amp; Ba, 2015), as Keras computes it: m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²;
/// θ ← θ − α_t·m / (√v + ε) with α_t = η·√(1 − β₂ᵗ) / (1 − β₁ᵗ) at step t.
/// </summary>
public class Adam : Optimizer
{
    private float[]? _m;
    private float[]? _v;

    /// <summary>Creates the optimizer, with Keras' defaults.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="beta1">β₁ in [0, 1): the decay of the running mean of g.</param>
    /// <param name="beta2">β₂ in [0, 1): the decay of the running mean of g².</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    public Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
        : base(learningRate)
    {
        CheckFraction(beta1, nameof(beta1));
        CheckFraction(beta2, nameof(beta2));
        CheckPositive(epsilon, nameof(epsilon));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    /// <summary>β₁.</summary>
    public float Beta1 { get; }

    /// <summary>β₂.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>The fraction of each parameter removed per step before the Adam update: 0 for Adam.</summary>
    private protected virtual float DecayPerStep => 0f;

    /// <inheritdoc/>
    protected internal override System.Collections.Generic.IReadOnlyList<string> StateNames => ["m", "v"];

    /// <inheritdoc/>
    protected internal override Span<float> StateBuffer(string name, int length) => name switch
    {
        "m" => State(ref _m, length),
        "v" => State(ref _v, length),
        _ => base.StateBuffer(name, length),
    };

    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        var m = State(ref _m, parameters.Length);
        var v = State(ref _v, parameters.Length);
        var t = Iterations + 1;
        var stepSize = (float)(CurrentLearningRate * Math.Sqrt(1 - Math.Pow(Beta2, t)) / (1 - Math.Pow(Beta1, t)));
        var decay = DecayPerStep;
        if (decay != 0f && DecayedTensors is { } decayed)
        {
            // Weight decay on the chosen tensors only: each shrinks first, then every parameter takes the Adam step.
            foreach (var tensor in decayed)
            {
                var values = tensor.Slice(parameters);
                TensorPrimitives.Multiply(values, 1f - decay, values);
            }

            decay = 0f;
        }

        OptimizerKernels.Adam(parameters, gradients, m, v, Beta1, Beta2, stepSize, Epsilon, decay);
    }

    /// <summary>The tensors weight decay applies to, or null for every parameter.</summary>
    private protected virtual System.Collections.Generic.IReadOnlyList<ParameterTensor>? DecayedTensors => null;
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, 2019), as Keras computes it: Adam plus decoupled weight decay, each step first
/// θ ← θ − η·λ·θ, then the Adam update. It decays every parameter, biases included, unless <see cref="Decayed"/> names the tensors to decay.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer, with Keras' defaults.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="weightDecay">λ ≥ 0; Keras' default is 0.004.</param>
    /// <param name="beta1">β₁ in [0, 1).</param>
    /// <param name="beta2">β₂ in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    public AdamW(float learningRate = 0.001f, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
        : base(learningRate, beta1, beta2, epsilon)
    {
        CheckNonNegative(weightDecay, nameof(weightDecay));

        WeightDecay = weightDecay;
    }

    /// <summary>λ.</summary>
    public float WeightDecay { get; }

    /// <summary>
    /// The tensors to decay, e.g. only the weight matrices of a model's products, as GPT training decays neither
    /// biases, normalization parameters nor embeddings; null (the default) decays every parameter.
    /// </summary>
    public System.Collections.Generic.IReadOnlyList<ParameterTensor>? Decayed { get; init; }

    private protected override System.Collections.Generic.IReadOnlyList<ParameterTensor>? DecayedTensors => Decayed;

    /// <summary>
    /// The weight matrices of a model's products (dense layers, attention's projections, recurrent layers' weight_ih and
    /// weight_hh): its tensors of rank 2, leaving out the embedding tables (<c>tokens.weight</c>, <c>positions</c>) and
    /// every bias and normalization parameter, which GPT training does not decay.
    /// </summary>
    public static ParameterTensor[] ProductWeights(ITrainableModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. System.Linq.Enumerable.Where(model.ParameterTensors, t =>
            t.Shape.Length == 2 && !t.InState && !t.Name.EndsWith("tokens.weight", StringComparison.Ordinal) && !t.Name.EndsWith("positions", StringComparison.Ordinal))];
    }

    private protected override float DecayPerStep => CurrentLearningRate * WeightDecay;
}
