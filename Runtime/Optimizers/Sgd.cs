using System;
using System.Numerics.Tensors;

namespace ModelGen;

/// <summary>Plain stochastic gradient descent: θ ← θ − η·g.</summary>
/// <param name="learningRate">η; Keras' default is 0.01.</param>
public sealed class Sgd(float learningRate = 0.01f) : Optimizer(learningRate)
{
    /// <inheritdoc/>
    protected override void Update(Span<float> parameters, ReadOnlySpan<float> gradients) =>
        TensorPrimitives.MultiplyAdd(gradients, -LearningRate, parameters, parameters);
}
