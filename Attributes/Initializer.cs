namespace ModelGen;

/// <summary>How a layer's weights are drawn when the model is constructed (biases start at zero).</summary>
/// <remarks>
/// fanIn is the layer's inputs, fanOut its units. The normal variants draw from a normal distribution truncated at two
/// standard deviations, rescaled to keep the named variance (as Keras does). The numeric values are read by the
/// generator: never renumber a member.
/// </remarks>
public enum Initializer
{
    /// <summary><see cref="HeUniform"/> for ReLU layers, <see cref="GlorotUniform"/> for all others.</summary>
    Auto = 0,

    /// <summary>U(−l, l) with l = √(6 / (fanIn + fanOut)): Keras' default, for tanh, sigmoid and linear layers.</summary>
    GlorotUniform = 1,

    /// <summary>Variance 2 / (fanIn + fanOut).</summary>
    GlorotNormal = 2,

    /// <summary>U(−l, l) with l = √(6 / fanIn): keeps the variance of ReLU layers' outputs (He et al., 2015).</summary>
    HeUniform = 3,

    /// <summary>Variance 2 / fanIn.</summary>
    HeNormal = 4,

    /// <summary>U(−l, l) with l = √(3 / fanIn).</summary>
    LecunUniform = 5,

    /// <summary>Variance 1 / fanIn.</summary>
    LecunNormal = 6,

    /// <summary>N(0, 0.02²), whatever the layer's size: GPT-2's initialization of its matrices and embeddings.</summary>
    SmallNormal = 7,

    /// <summary>N(0, 1), whatever the layer's size: PyTorch's default for <c>nn.Embedding</c>.</summary>
    StandardNormal = 8,
}
