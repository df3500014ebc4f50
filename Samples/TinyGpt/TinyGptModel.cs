namespace ModelGen.Samples.TinyGpt;

/// <summary>
/// A character-level GPT: 113 symbols, 64 positions, width 128, four pre-norm blocks of 4-head causal attention and a
/// 512-wide GELU feed-forward layer, a last layer normalization and an output head tied to the token table. 816,000
/// parameters, every matrix and embedding drawn from N(0, 0.02²) as GPT-2's.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(64, Vocabulary = 113)]
[Embedding(128)]
[Residual(typeof(Attend))]
[Residual(typeof(FeedForward))]
[Residual(typeof(Attend))]
[Residual(typeof(FeedForward))]
[Residual(typeof(Attend))]
[Residual(typeof(FeedForward))]
[Residual(typeof(Attend))]
[Residual(typeof(FeedForward))]
[LayerNorm]
[TiedHead]
public partial class TinyGptModel;

/// <summary>x + attention(LayerNorm(x)), causal, 4 heads of 32.</summary>
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

/// <summary>
/// The character LSTM that <c>--model lstm</c> trains on the same text: a 128-wide embedding drawn from N(0, 1) (PyTorch's
/// default), two LSTM layers of 256, and a dense head over the 113 symbols. 965,105 parameters.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(64, Vocabulary = 113)]
[Embedding(128, Positions = PositionEncoding.None, Initializer = Initializer.StandardNormal)]
[Lstm(256)]
[Lstm(256)]
[Dense(113, Initializer = Initializer.SmallNormal)]
public partial class CharLstmModel;
