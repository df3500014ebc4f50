using System;

namespace ModelGen;

/// <summary>
/// Turns a sequence [T × F] into one vector [F] for sequence classification: the mean over the positions, or the last
/// position's values (with causal attention or a recurrent layer, the one that has seen the whole sequence).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class SequencePoolAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="pooling">How the positions are combined.</param>
    public SequencePoolAttribute(SequencePooling pooling = SequencePooling.Mean) => Pooling = pooling;

    /// <summary>How the positions are combined.</summary>
    public SequencePooling Pooling { get; }
}
