namespace ModelGen;

/// <summary>How a <c>[SequencePool]</c> combines the positions of a sequence.</summary>
public enum SequencePooling
{
    /// <summary>The mean over the positions.</summary>
    Mean = 0,

    /// <summary>The last position's values.</summary>
    Last = 1,
}
