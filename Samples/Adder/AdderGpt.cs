namespace ModelGen.Samples.Adder;

/// <summary>
/// A two-block GPT over the 12 symbols <c>0123456789+=</c>, 8 positions (a sum "AB+CD=EFG" without its last character):
/// width 128, 4 heads, pre-norm residual blocks, the output head tied to the token table. 399,360 parameters.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(8, Vocabulary = 12)]
[Embedding(128)]
[Residual(typeof(Attend))]
[Residual(typeof(FeedForward))]
[Residual(typeof(Attend))]
[Residual(typeof(FeedForward))]
[LayerNorm]
[TiedHead]
public partial class AdderGpt;

/// <summary>x + attention(LayerNorm(x)), causal, 4 heads.</summary>
[Block]
[LayerNorm]
[Attention(4)]
public sealed class Attend;

/// <summary>x + W₂·GELU(W₁·LayerNorm(x)), 128 → 512 → 128 at each position.</summary>
[Block]
[LayerNorm]
[Dense(512, Activation.Gelu, Initializer = Initializer.SmallNormal)]
[Dense(128, Initializer = Initializer.SmallNormal)]
public sealed class FeedForward;
