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
}
