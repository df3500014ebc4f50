using System;

namespace ModelGen;

/// <summary>
/// Marks a class as a block: a sequence of layers, declared with the same layer attributes as a model (without
/// <c>[Input]</c>), that a model uses through <see cref="ResidualAttribute"/>. Its input shape is whatever reaches it
/// where it is used, so one block can serve several models, or several places of one. Nothing is generated for the
/// block class itself.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class BlockAttribute : Attribute
{
}
