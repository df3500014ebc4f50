using System;

namespace ModelGen;

/// <summary>
/// 2-D average pooling (Keras' <c>AveragePooling2D</c>, PyTorch's <c>AvgPool2d</c>): each output is the mean of a
/// <c>poolSize × poolSize</c> window of one channel; windows start every <see cref="Stride"/> values (by default
/// <c>poolSize</c>, so they do not overlap) and stay inside the input, so a remainder row or column is dropped. It needs
/// an input of three dimensions, like <see cref="Conv2DAttribute"/>. In the backward pass each output's gradient is
/// shared equally by the values of its window.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class AvgPool2DAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="poolSize">The side of each square window; must be positive and at most the input's height and width.</param>
    public AvgPool2DAttribute(int poolSize)
    {
        PoolSize = poolSize;
        Stride = poolSize;
    }

    /// <summary>The side of each square window.</summary>
    public int PoolSize { get; }

    /// <summary>The step between two windows (default: the pool size).</summary>
    public int Stride { get; set; }
}
