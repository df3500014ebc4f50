using System;

namespace ModelGen;

/// <summary>
/// Views a sample of several dimensions as one vector, so that a dense layer can follow a convolution or pooling layer.
/// Nothing is computed or copied. After a convolution or pooling layer the values come channels-last (height, width,
/// channel), as Keras flattens; straight after <c>[Input]</c> they come in the input's own order.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class FlattenAttribute : Attribute
{
}
