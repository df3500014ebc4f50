namespace ModelGen;

/// <summary>The element-wise function a layer applies to its output.</summary>
/// <remarks>
/// The numeric values are part of the contract between the attributes and the generator, which reads them from
/// attribute data: never renumber a member.
/// </remarks>
public enum Activation
{
    /// <summary>f(z) = z.</summary>
    Linear = 0,

    /// <summary>f(z) = max(0, z).</summary>
    Relu = 1,

    /// <summary>f(z) = 1 / (1 + e^(−z)).</summary>
    Sigmoid = 2,

    /// <summary>f(z) = tanh(z).</summary>
    Tanh = 3,
}
