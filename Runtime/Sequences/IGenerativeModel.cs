using System;

namespace ModelGen;

/// <summary>
/// A generated language model: token ids in, a distribution over the next token at every position out, and every
/// layer able to run one position at a time, so that it can continue a prompt token by token with a key/value cache.
/// </summary>
public interface IGenerativeModel : ITrainableModel
{
    /// <summary>Continues <paramref name="prompt"/> with <paramref name="maxTokens"/> tokens; see <see cref="Generate(ReadOnlySpan{int}, Span{int}, float, int, int)"/>.</summary>
    int[] Generate(ReadOnlySpan<int> prompt, int maxTokens, float temperature = 1f, int topK = 0, int seed = 0);

    /// <summary>
    /// Continues <paramref name="prompt"/> with tokens.Length tokens, each drawn by <see cref="TokenSampler"/> from the
    /// logits at the last position, one position's work per token. Allocates nothing after the first call.
    /// </summary>
    void Generate(ReadOnlySpan<int> prompt, Span<int> tokens, float temperature = 1f, int topK = 0, int seed = 0);
}
