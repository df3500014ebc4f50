using System;
using ModelGen.Kernels;

namespace ModelGen.Quantization;

/// <summary>
/// How real activations map to the unsigned 7-bit levels the int8 kernels take (asymmetric, with a zero point):
/// level = clamp(round(x / <see cref="Scale"/>) + <see cref="ZeroPoint"/>, 0, <see cref="MaxLevel"/>), and back
/// x ≈ (level − <see cref="ZeroPoint"/>) · <see cref="Scale"/>. Zero is always a level of its own (the zero point), so a
/// ReLU's zeros and zero padding come back exactly zero.
/// </summary>
/// <remarks>
/// Asymmetric rather than symmetric: <c>vpdpbusd</c> and <c>vpmaddubsw</c> multiply unsigned activations by signed
/// weights, so the activations are unsigned anyway, and a zero point lets the levels cover exactly the range seen,
/// [min(lo, 0), max(hi, 0)], rather than [−max|x|, max|x|]: a ReLU layer's outputs (never negative) use all 128 levels.
/// The zero point's share of a product, z·Σₚ w[p,j], is removed after the integer product with the weights' column
/// sums (<see cref="Int8Dequantization.ColumnSums"/>), so it costs one multiply-add per output. Levels stop at 127
/// (<see cref="Int8Gemm.MaxActivation"/>) so that every kernel path computes the same integers.
/// </remarks>
/// <param name="Scale">The real value of one level: positive.</param>
/// <param name="ZeroPoint">The level that stands for zero: 0 … <see cref="MaxLevel"/>.</param>
public readonly record struct QuantizationParameters(float Scale, int ZeroPoint)
{
    /// <summary>The highest level: 127.</summary>
    public const int MaxLevel = Int8Gemm.MaxActivation;

    /// <summary>
    /// The parameters that spread the levels over [<paramref name="min"/>, <paramref name="max"/>], widened to include
    /// zero: scale = (hi − lo) / 127 and zero point = round(−lo / scale). A range of zero width (or too narrow for a normal
    /// float scale) gets scale 1 and zero point 0, which maps its values to zero.
    /// </summary>
    /// <exception cref="ArgumentException">A bound is NaN or infinite, or <paramref name="min"/> exceeds <paramref name="max"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is wider than a float holds.</exception>
    public static QuantizationParameters FromRange(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
        {
            throw new ArgumentException($"Cannot quantize the range [{min}, {max}]: its bounds must be finite and in order.");
        }

        var low = Math.Min(min, 0f);
        var high = Math.Max(max, 0f);
        var width = high - low;
        if (float.IsInfinity(width))
        {
            throw new ArgumentOutOfRangeException(nameof(max), $"The range [{min}, {max}] is wider than a float holds.");
        }

        var scale = width / MaxLevel;
        if (!float.IsNormal(scale))
        {
            return new QuantizationParameters(1f, 0);
        }

        var zeroPoint = (int)MathF.Round(-low / scale);
        return new QuantizationParameters(scale, Math.Clamp(zeroPoint, 0, MaxLevel));
    }

    /// <summary>The level of <paramref name="value"/>: clamp(round(value · (1 / scale)) + zero point, 0, 127), rounding half to even.</summary>
    public byte Quantize(float value) => ActivationQuantizer.Level(value, 1f / Scale, ZeroPoint);

    /// <summary>The real value of <paramref name="level"/>: (level − zero point) · scale.</summary>
    public float Dequantize(byte level) => (level - ZeroPoint) * Scale;
}
