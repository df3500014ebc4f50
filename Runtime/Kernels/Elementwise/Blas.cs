using System;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>
/// The level-1 operations dense layers are written in. They delegate to <see cref="TensorPrimitives"/>, which
/// vectorizes at 512, 256 and 128 bits with overlapping tails; a runtime GEMM for large layers comes later.
/// </summary>
public static class Blas
{
    /// <summary>Σᵢ x[i]·y[i].</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => TensorPrimitives.Dot(x, y);

    /// <summary>y ← a·x + y.</summary>
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.MultiplyAdd(x, a, y, y);

    /// <summary>y ← x + y.</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Add(x, y, y);

    /// <summary>z = x + y, element by element: a residual connection's sum.</summary>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) => TensorPrimitives.Add(x, y, z);
}
