using System;

namespace ModelGen;

/// <summary>
/// Global average pooling (Keras' <c>GlobalAveragePooling2D</c>, PyTorch's <c>AdaptiveAvgPool2d(1)</c> and a flatten):
/// each channel's mean over every position of the image, so that an image of channels × height × width becomes a
/// vector of its channels, which a <see cref="DenseAttribute"/> can follow without <see cref="FlattenAttribute"/>. It
/// needs an input of three dimensions. In the backward pass each channel's gradient is shared equally by its positions.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GlobalAvgPool2DAttribute : Attribute
{
}
