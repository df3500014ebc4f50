using System;

namespace ModelGen;

/// <summary>
/// A language model's output head that shares the <see cref="EmbeddingAttribute"/>'s table E [V × D] (weight tying):
/// logits = x·Eᵀ at every position, [T × D] → [T × V], with no parameters of its own and no bias; its gradient adds
/// to the embedding's. The sequence must have the embedding's width D there.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class TiedHeadAttribute : Attribute;
