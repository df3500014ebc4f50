namespace ModelGen;

/// <summary>How an <c>[Embedding]</c> marks each position.</summary>
public enum PositionEncoding
{
    /// <summary>Not at all: the layers after see the tokens as a set unless they are recurrent or causal.</summary>
    None = 0,

    /// <summary>A learned table with one row per position, added to the tokens' rows.</summary>
    Learned = 1,
}
