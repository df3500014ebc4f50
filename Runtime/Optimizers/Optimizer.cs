using System;
using System.Numerics.Tensors;

namespace ModelGen;

/// <summary>
/// Updates a model's flat parameter buffer from its flat gradient buffer. An optimizer instance keeps its state
/// (momentum and the like) for one model: do not share one between models.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    protected Optimizer(float learningRate)
    {
        if (!(learningRate > 0f) || float.IsInfinity(learningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive, finite number.");
        }

        LearningRate = learningRate;
    }

    private float[]? _clipped;

    /// <summary>The base step size; a <see cref="Schedule"/> varies it from step to step.</summary>
    public float LearningRate { get; }

    /// <summary>How the step size changes over training (Keras' <c>LearningRateSchedule</c>); none keeps it constant.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>
    /// When set, gradients whose global L2 norm (over every parameter) exceeds it are scaled down to it before the
    /// update (Keras' <c>global_clipnorm</c>); their direction is kept.
    /// </summary>
    public float? GlobalClipNorm
    {
        get;
        init
        {
            if (value is { } norm)
            {
                CheckPositive(norm, nameof(GlobalClipNorm));
            }

            field = value;
        }
    }

    /// <summary>Updates applied so far.</summary>
    public long Iterations { get; internal set; }

    /// <summary>
    /// The names of the per-parameter buffers this optimizer carries from step to step (momentum, moment estimates…),
    /// which a checkpoint saves and restores through <see cref="StateBuffer"/>. None by default: override both in an
    /// optimizer that keeps state.
    /// </summary>
    protected internal virtual System.Collections.Generic.IReadOnlyList<string> StateNames => [];

    /// <summary>The state buffer called <paramref name="name"/> (one of <see cref="StateNames"/>), created zeroed with <paramref name="length"/> values if no step has made it yet.</summary>
    protected internal virtual Span<float> StateBuffer(string name, int length) =>
        throw new ArgumentException($"{GetType().Name} keeps no state called '{name}'.", nameof(name));

    /// <summary>The step size of the update being applied: the schedule's value at <see cref="Iterations"/>, else <see cref="LearningRate"/>.</summary>
    protected float CurrentLearningRate { get; private set; }

    /// <summary>Applies one update. Both spans have the same length; allocates nothing after the first call.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        Guard.Length(gradients, parameters.Length, nameof(gradients));
        CurrentLearningRate = Schedule?.Rate(Iterations, LearningRate) ?? LearningRate;
        if (!(CurrentLearningRate >= 0f) || float.IsInfinity(CurrentLearningRate))
        {
            throw new InvalidOperationException($"The schedule gave a learning rate of {CurrentLearningRate} at step {Iterations}.");
        }

        if (GlobalClipNorm is { } limit)
        {
            var norm = TensorPrimitives.Norm(gradients);
            if (norm > limit)
            {
                var clipped = State(ref _clipped, gradients.Length);
                TensorPrimitives.Multiply(gradients, limit / norm, clipped);
                gradients = clipped;
            }
        }

        Update(parameters, gradients);
        Iterations++;
    }

    /// <summary>The update itself, over spans of equal length.</summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradients);

    /// <summary>
    /// A per-parameter state buffer (momentum, squared-gradient averages…), allocated zeroed on the first step and
    /// reused after; a later step over a buffer of another length means the optimizer is shared between models.
    /// </summary>
    protected static Span<float> State(ref float[]? buffer, int length)
    {
        buffer ??= new float[length];
        if (buffer.Length != length)
        {
            throw new InvalidOperationException(
                $"This optimizer keeps state for {buffer.Length} parameters but was given {length}: use one optimizer per model.");
        }

        return buffer;
    }

    /// <summary>Throws unless <paramref name="value"/> lies in [0, 1).</summary>
    protected static void CheckFraction(float value, string name)
    {
        if (!(value >= 0f && value < 1f))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [0, 1).");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is zero or positive, and finite.</summary>
    protected static void CheckNonNegative(float value, string name)
    {
        if (!(value >= 0f) || float.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a non-negative, finite number.");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is positive and finite.</summary>
    protected static void CheckPositive(float value, string name)
    {
        if (!(value > 0f) || float.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive, finite number.");
        }
    }
}
