namespace ModelGen;

/// <summary>The loss a model is trained to minimize; fixed at compile time so that its derivative is fused into the last layer.</summary>
/// <remarks>The numeric values are read by the generator: never renumber a member.</remarks>
public enum Loss
{
    /// <summary>Mean over the batch and the outputs of (prediction − target)².</summary>
    MeanSquaredError = 0,
}
