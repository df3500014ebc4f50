using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;

namespace ModelGen.Quantization;

/// <summary>
/// Turns float activations into the 7-bit levels of <see cref="Int8Gemm"/>: with given parameters (static
/// quantization, from an <see cref="ActivationCalibrator"/>), or with parameters taken from the values themselves at
/// run time (dynamic quantization), per tensor or per row.
/// </summary>
/// <remarks>
/// A dense layer quantizes its input per row (<see cref="QuantizeRows"/>): one scale and zero point per sample. A
/// sample's levels then depend on that sample alone, so it gets the same outputs predicted alone as inside any batch
/// (the float kernels promise the same), and one sample with large values does not coarsen the levels of the others.
/// Per-row parameters cost nothing in the product: the epilogue reads a row's scale and zero point once per row.
/// Every path computes level = clamp(round(x · (1 / scale)) + zero point, 0, 127) with the same float operations, so
/// vectors and the scalar loop give the same bytes.
/// </remarks>
public static class ActivationQuantizer
{
    /// <summary>Quantizes <paramref name="values"/> with fixed <paramref name="parameters"/> (static quantization) into <paramref name="levels"/>.</summary>
    /// <exception cref="ArgumentException">The spans' lengths differ.</exception>
    public static void Quantize(ReadOnlySpan<float> values, QuantizationParameters parameters, Span<byte> levels)
    {
        CheckLengths(values.Length, levels.Length);
        QuantizeCore(values, 1f / parameters.Scale, parameters.ZeroPoint, levels);
    }

    /// <summary>
    /// Quantizes <paramref name="values"/> with the parameters of their own range (dynamic quantization, one tensor)
    /// and returns those parameters.
    /// </summary>
    /// <exception cref="ArgumentException">The spans' lengths differ, or a value is NaN or infinite.</exception>
    public static QuantizationParameters QuantizeDynamic(ReadOnlySpan<float> values, Span<byte> levels)
    {
        CheckLengths(values.Length, levels.Length);
        var parameters = values.IsEmpty ? new QuantizationParameters(1f, 0) : QuantizationParameters.FromRange(TensorPrimitives.Min(values), TensorPrimitives.Max(values));
        QuantizeCore(values, 1f / parameters.Scale, parameters.ZeroPoint, levels);
        return parameters;
    }

    /// <summary>
    /// Quantizes each row of <paramref name="values"/> (rows of <paramref name="columns"/> values) with the parameters of
    /// its own range (dynamic quantization per sample; see remarks), writing each row's scale and zero point.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not describe whole rows, or a value is NaN or infinite.</exception>
    public static void QuantizeRows(ReadOnlySpan<float> values, int columns, Span<byte> levels, Span<float> scales, Span<int> zeroPoints)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        CheckLengths(values.Length, levels.Length);
        var rows = values.Length / columns;
        if (values.Length % columns != 0 || scales.Length != rows || zeroPoints.Length != rows)
        {
            throw new ArgumentException(
                $"{values.Length} values in rows of {columns} need one scale and zero point per row; got {scales.Length} scales and {zeroPoints.Length} zero points.");
        }

        for (var i = 0; i < rows; i++)
        {
            var row = values.Slice(i * columns, columns);
            var parameters = QuantizationParameters.FromRange(TensorPrimitives.Min(row), TensorPrimitives.Max(row));
            scales[i] = parameters.Scale;
            zeroPoints[i] = parameters.ZeroPoint;
            QuantizeCore(row, 1f / parameters.Scale, parameters.ZeroPoint, levels.Slice(i * columns, columns));
        }
    }

    /// <summary>The real values of <paramref name="levels"/>: (level − zero point) · scale.</summary>
    /// <exception cref="ArgumentException">The spans' lengths differ.</exception>
    public static void Dequantize(ReadOnlySpan<byte> levels, QuantizationParameters parameters, Span<float> values)
    {
        CheckLengths(values.Length, levels.Length);
        for (var i = 0; i < levels.Length; i++)
        {
            values[i] = parameters.Dequantize(levels[i]);
        }
    }

    /// <summary>One value's level, as every vector path computes it lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte Level(float value, float inverseScale, int zeroPoint)
    {
        var level = MathF.Round(value * inverseScale) + zeroPoint;
        return (byte)(int)Math.Clamp(level, 0f, QuantizationParameters.MaxLevel);
    }

    /// <summary>The levels of <paramref name="values"/>: 32 at a time with 256-bit vectors, 16 with 128-bit ones, then one by one.</summary>
    private static void QuantizeCore(ReadOnlySpan<float> values, float inverseScale, int zeroPoint, Span<byte> levels)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var (inverse, zero, top) = (Vector256.Create(inverseScale), Vector256.Create((float)zeroPoint), Vector256.Create((float)QuantizationParameters.MaxLevel));
            for (; i + (4 * Vector256<float>.Count) <= values.Length; i += 4 * Vector256<float>.Count)
            {
                var v0 = Levels(Vector256.LoadUnsafe(ref Unsafe.AsRef(in values[i])), inverse, zero, top);
                var v1 = Levels(Vector256.LoadUnsafe(ref Unsafe.AsRef(in values[i + 8])), inverse, zero, top);
                var v2 = Levels(Vector256.LoadUnsafe(ref Unsafe.AsRef(in values[i + 16])), inverse, zero, top);
                var v3 = Levels(Vector256.LoadUnsafe(ref Unsafe.AsRef(in values[i + 24])), inverse, zero, top);
                var bytes = Vector256.Narrow(Vector256.Narrow(v0, v1).AsUInt16(), Vector256.Narrow(v2, v3).AsUInt16());
                bytes.StoreUnsafe(ref levels[i]);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var (inverse, zero, top) = (Vector128.Create(inverseScale), Vector128.Create((float)zeroPoint), Vector128.Create((float)QuantizationParameters.MaxLevel));
            for (; i + (4 * Vector128<float>.Count) <= values.Length; i += 4 * Vector128<float>.Count)
            {
                var v0 = Levels(Vector128.LoadUnsafe(ref Unsafe.AsRef(in values[i])), inverse, zero, top);
                var v1 = Levels(Vector128.LoadUnsafe(ref Unsafe.AsRef(in values[i + 4])), inverse, zero, top);
                var v2 = Levels(Vector128.LoadUnsafe(ref Unsafe.AsRef(in values[i + 8])), inverse, zero, top);
                var v3 = Levels(Vector128.LoadUnsafe(ref Unsafe.AsRef(in values[i + 12])), inverse, zero, top);
                var bytes = Vector128.Narrow(Vector128.Narrow(v0, v1).AsUInt16(), Vector128.Narrow(v2, v3).AsUInt16());
                bytes.StoreUnsafe(ref levels[i]);
            }
        }

        for (; i < values.Length; i++)
        {
            levels[i] = Level(values[i], inverseScale, zeroPoint);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Levels(Vector256<float> values, Vector256<float> inverseScale, Vector256<float> zeroPoint, Vector256<float> top) =>
        Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Round(values * inverseScale) + zeroPoint, Vector256<float>.Zero), top));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Levels(Vector128<float> values, Vector128<float> inverseScale, Vector128<float> zeroPoint, Vector128<float> top) =>
        Vector128.ConvertToInt32(Vector128.Min(Vector128.Max(Vector128.Round(values * inverseScale) + zeroPoint, Vector128<float>.Zero), top));

    private static void CheckLengths(int values, int levels)
    {
        if (values != levels)
        {
            throw new ArgumentException($"{values} values need as many levels; the levels span holds {levels}.", nameof(levels));
        }
    }
}
