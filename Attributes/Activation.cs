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

    /// <summary>f(z) = z for z &gt; 0, else α·z; α is the layer's <c>Alpha</c>, 0.01 unless set (PyTorch's default).</summary>
    LeakyRelu = 4,

    /// <summary>f(z) = z for z &gt; 0, else α·(e^z − 1); α is the layer's <c>Alpha</c>, 1 unless set.</summary>
    Elu = 5,

    /// <summary>f(z) = ½·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))), GELU in its tanh form.</summary>
    Gelu = 6,

    /// <summary>f(z) = z·σ(z) (SiLU, also called swish).</summary>
    Silu = 7,
}
