using System;

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

    /// <summary>The step size.</summary>
    public float LearningRate { get; }

    /// <summary>Applies one update. Both spans have the same length; allocates nothing after the first call.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        Guard.Length(gradients, parameters.Length, nameof(gradients));
        Update(parameters, gradients);
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

    /// <summary>Throws unless <paramref name="value"/> is positive and finite.</summary>
    protected static void CheckPositive(float value, string name)
    {
        if (!(value > 0f) || float.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive, finite number.");
        }
    }
}
