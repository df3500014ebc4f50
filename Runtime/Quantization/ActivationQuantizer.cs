using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
        var parameters = values.IsEmpty ? new QuantizationParameters(1f, 0) : FromOwnRange(values);
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

        // Every row's parameters first, then the levels: a row's levels wait for its range to be reduced to two numbers
        // and turned into a scale, and rows taken one after the other spend that wait idle (a third of the time, for a
        // batch of the Fashion MLP's rows); the rows' ranges alone run without a dependence between them.
        for (var i = 0; i < rows; i++)
        {
            var parameters = FromOwnRange(values.Slice(i * columns, columns));
            scales[i] = parameters.Scale;
            zeroPoints[i] = parameters.ZeroPoint;
        }

        for (var i = 0; i < rows; i++)
        {
            QuantizeCore(values.Slice(i * columns, columns), 1f / scales[i], zeroPoints[i], levels.Slice(i * columns, columns));
        }
    }

    /// <summary>
    /// The parameters of the range of <paramref name="values"/> (not empty), dynamic quantization's: as
    /// <see cref="QuantizationParameters.FromRange"/> of their minimum and maximum.
    /// </summary>
    /// <exception cref="ArgumentException">A value is NaN or infinite.</exception>
    internal static QuantizationParameters FromOwnRange(ReadOnlySpan<float> values)
    {
        var (min, max) = Range(values);
        return QuantizationParameters.FromRange(min, max);
    }

    /// <summary>
    /// The smallest and the largest of <paramref name="values"/> (not empty) in one pass, or NaN for both when one of
    /// them is NaN. Each is one of the values, so the result is the same whatever the vector width (only the sign of a
    /// zero may differ, which <see cref="QuantizationParameters.FromRange"/> does not see: both zeros widen the range to
    /// the same bounds).
    /// </summary>
    /// <remarks>
    /// The platform's own minimum and maximum (<c>vminps</c>, <c>vmaxps</c>) on <see cref="Vector{T}"/>, with NaN
    /// checked beside them, in one pass, instead of <c>TensorPrimitives.Min</c> and <c>Max</c>, whose IEEE 754 semantics
    /// cost several instructions per vector each: at every dense layer of a dynamic predictor this runs over every input
    /// of every sample. Four independent pairs of accumulators hide the instructions' latency; the last vector overlaps
    /// the one before it (taking a value twice changes neither bound).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (float Min, float Max) Range(ReadOnlySpan<float> values)
    {
        ref var start = ref MemoryMarshal.GetReference(values);
        var length = (nuint)values.Length;
        var step = (nuint)Vector<float>.Count;
        if (!Vector.IsHardwareAccelerated || length < step)
        {
            var (min, max, nan) = (values[0], values[0], false);
            foreach (var value in values)
            {
                (min, max, nan) = (Math.Min(min, value), Math.Max(max, value), nan || float.IsNaN(value));
            }

            return nan ? (float.NaN, float.NaN) : (min, max);
        }

        var first = Vector.LoadUnsafe(ref start);
        var (low0, low1, low2, low3) = (first, first, first, first);
        var (high0, high1, high2, high3) = (first, first, first, first);
        var nans = Vector<float>.Zero;
        nuint i = 0;
        for (; i + (4 * step) <= length; i += 4 * step)
        {
            var (v0, v1) = (Vector.LoadUnsafe(ref start, i), Vector.LoadUnsafe(ref start, i + step));
            var (v2, v3) = (Vector.LoadUnsafe(ref start, i + (2 * step)), Vector.LoadUnsafe(ref start, i + (3 * step)));
            (low0, high0) = (Vector.MinNative(low0, v0), Vector.MaxNative(high0, v0));
            (low1, high1) = (Vector.MinNative(low1, v1), Vector.MaxNative(high1, v1));
            (low2, high2) = (Vector.MinNative(low2, v2), Vector.MaxNative(high2, v2));
            (low3, high3) = (Vector.MinNative(low3, v3), Vector.MaxNative(high3, v3));
            nans |= Vector.IsNaN(v0) | Vector.IsNaN(v1) | Vector.IsNaN(v2) | Vector.IsNaN(v3);
        }

        for (; i < length; i += step)
        {
            var v = Vector.LoadUnsafe(ref start, Math.Min(i, length - step));
            (low0, high0) = (Vector.MinNative(low0, v), Vector.MaxNative(high0, v));
            nans |= Vector.IsNaN(v);
        }

        if (nans != Vector<float>.Zero)
        {
            return (float.NaN, float.NaN);
        }

        var low = Vector.MinNative(Vector.MinNative(low0, low1), Vector.MinNative(low2, low3));
        var high = Vector.MaxNative(Vector.MaxNative(high0, high1), Vector.MaxNative(high2, high3));
        var (smallest, largest) = (low[0], high[0]);
        for (var lane = 1; lane < Vector<float>.Count; lane++)
        {
            (smallest, largest) = (Math.Min(smallest, low[lane]), Math.Max(largest, high[lane]));
        }

        return (smallest, largest);
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

    /// <summary>
    /// The levels of <paramref name="values"/>: 64 at a time with 512-bit vectors, 32 with 256-bit ones, 16 with 128-bit
    /// ones, then one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void QuantizeCore(ReadOnlySpan<float> values, float inverseScale, int zeroPoint, Span<byte> levels)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (inverse, zero, top) = (Vector512.Create(inverseScale), Vector512.Create((float)zeroPoint), Vector512.Create((float)QuantizationParameters.MaxLevel));
            for (; i + (4 * Vector512<float>.Count) <= values.Length; i += 4 * Vector512<float>.Count)
            {
                var v0 = Levels(Vector512.LoadUnsafe(ref Unsafe.AsRef(in values[i])), inverse, zero, top);
                var v1 = Levels(Vector512.LoadUnsafe(ref Unsafe.AsRef(in values[i + 16])), inverse, zero, top);
                var v2 = Levels(Vector512.LoadUnsafe(ref Unsafe.AsRef(in values[i + 32])), inverse, zero, top);
                var v3 = Levels(Vector512.LoadUnsafe(ref Unsafe.AsRef(in values[i + 48])), inverse, zero, top);
                var bytes = Vector512.Narrow(Vector512.Narrow(v0, v1).AsUInt16(), Vector512.Narrow(v2, v3).AsUInt16());
                bytes.StoreUnsafe(ref levels[i]);
            }
        }

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

    /// <summary>
    /// <see cref="Level"/> lane by lane, with the platform's own minimum, maximum and conversion (one instruction each)
    /// instead of IEEE 754 ones (several each): NaN lanes are set to zero first, so that the clamp never sees NaN, and
    /// the clamped values are whole numbers in 0 … 127, which every conversion takes exactly; a NaN thus gives level 0,
    /// as <see cref="Level"/>'s saturating conversion gives it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Levels(Vector256<float> values, Vector256<float> inverseScale, Vector256<float> zeroPoint, Vector256<float> top)
    {
        var level = Vector256.Round(values * inverseScale) + zeroPoint;
        level &= Vector256.Equals(level, level);
        return Vector256.ConvertToInt32Native(Vector256.MinNative(Vector256.MaxNative(level, Vector256<float>.Zero), top));
    }

    /// <summary><see cref="Levels(Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float})"/> on 512 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Levels(Vector512<float> values, Vector512<float> inverseScale, Vector512<float> zeroPoint, Vector512<float> top)
    {
        var level = Vector512.Round(values * inverseScale) + zeroPoint;
        level &= Vector512.Equals(level, level);
        return Vector512.ConvertToInt32Native(Vector512.MinNative(Vector512.MaxNative(level, Vector512<float>.Zero), top));
    }

    /// <summary><see cref="Levels(Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float})"/> on 128 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Levels(Vector128<float> values, Vector128<float> inverseScale, Vector128<float> zeroPoint, Vector128<float> top)
    {
        var level = Vector128.Round(values * inverseScale) + zeroPoint;
        level &= Vector128.Equals(level, level);
        return Vector128.ConvertToInt32Native(Vector128.MinNative(Vector128.MaxNative(level, Vector128<float>.Zero), top));
    }

    private static void CheckLengths(int values, int levels)
    {
        if (values != levels)
        {
            throw new ArgumentException($"{values} values need as many levels; the levels span holds {levels}.", nameof(levels));
        }
    }
}
