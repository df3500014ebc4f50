namespace ModelGen;

/// <summary>The loss a model is trained to minimize; fixed at compile time so that its derivative is fused into the last layer.</summary>
/// <remarks>The numeric values are read by the generator: never renumber a member.</remarks>
public enum Loss
{
    /// <summary>Mean over the batch and the outputs of (prediction − target)².</summary>
    MeanSquaredError = 0,

    /// <summary>
    /// Softmax of the last layer's outputs (the logits) followed by cross-entropy with the targets, fused: the
    /// gradient is p − y. Targets are one class index per sample, or one probability per class and sample.
    /// <c>Predict</c> returns the softmax probabilities.
    /// </summary>
    SoftmaxCrossEntropy = 1,

    /// <summary>
    /// Sigmoid of each output followed by binary cross-entropy with targets in [0, 1], fused and computed from the
    /// logits without overflow: the gradient is σ(z) − t. <c>Predict</c> returns the probabilities σ(z).
    /// </summary>
    BinaryCrossEntropy = 2,

    /// <summary>Mean over the batch and the outputs of |prediction − target|.</summary>
    MeanAbsoluteError = 3,

    /// <summary>
    /// Mean of ½e² where |e| ≤ δ and δ(|e| − ½δ) beyond, e = prediction − target; δ is
    /// <see cref="ModelAttribute.HuberDelta"/> (1 unless set).
    /// </summary>
    Huber = 4,
}
