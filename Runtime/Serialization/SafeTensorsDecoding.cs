using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace ModelGen.Serialization;

/// <summary>
/// The element types both safetensors readers (the runtime's loader and the generator's baker, which links this file)
/// know, and the decoding of floating-point tensors into F32: F32 as stored, F16 and BF16 exactly (every value of
/// either is an F32 value), F64 rounded to the nearest F32 (ties to even). The rule for values is the same whatever
/// the dtype: NaN and infinities are refused unless the caller allows them, and a finite F64 beyond F32's range is
/// always refused rather than becoming an infinity.
/// </summary>
/// <remarks>
/// The generator targets netstandard2.0, which has neither <c>System.Half</c> nor the bit conversions of
/// <c>BitConverter</c> for <see cref="float"/>, so the conversions are written out on the bits here.
/// </remarks>
internal static class SafeTensorsDecoding
{
    /// <summary>The floating-point dtypes ModelGen reads, for messages.</summary>
    public const string FloatDTypes = "F32, F16, BF16 and F64";

    /// <summary>Whether tensors of <paramref name="dtype"/> can be read as F32 values (<see cref="FloatDTypes"/>).</summary>
    public static bool IsFloat(string dtype) => dtype is "F32" or "F16" or "BF16" or "F64";

    /// <summary>The bytes per element of the dtypes the format defines, for checking that a byte range fits its shape; null for any other.</summary>
    public static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => null,
    };

    /// <summary>
    /// The little-endian elements of <paramref name="dtype"/> in <paramref name="bytes"/> as F32 values, in file
    /// order; null when a value is refused or the dtype is not one of <see cref="FloatDTypes"/>, with
    /// <paramref name="problem"/> saying why (naming tensor <paramref name="name"/> and the element).
    /// </summary>
    /// <param name="bytes">The tensor's bytes, a whole number of elements.</param>
    /// <param name="dtype">The tensor's dtype as the header names it.</param>
    /// <param name="name">The tensor's name, for <paramref name="problem"/>.</param>
    /// <param name="allowNonFinite">Lets NaN and infinities through (a finite F64 too large for F32 is refused all the same).</param>
    /// <param name="problem">Why the tensor was refused, when it was.</param>
    public static float[]? Decode(ReadOnlySpan<byte> bytes, string dtype, string name, bool allowNonFinite, out string? problem)
    {
        problem = null;
        if (!IsFloat(dtype))
        {
            problem = $"tensor '{name}' is {dtype}; ModelGen reads {FloatDTypes}";
            return null;
        }

        var size = ElementSize(dtype)!.Value;
        if (bytes.Length % size != 0)
        {
            problem = $"tensor '{name}' holds {bytes.Length} bytes, not a whole number of {dtype} elements";
            return null;
        }

        // The dtype as a number, so the loop does not compare strings per element.
        var kind = dtype switch { "F32" => 0, "F16" => 1, "BF16" => 2, _ => 3 };
        var values = new float[bytes.Length / size];
        for (var i = 0; i < values.Length; i++)
        {
            var element = bytes.Slice(i * size, size);
            float value;
            switch (kind)
            {
                case 0:
                    value = SingleFromBits(BinaryPrimitives.ReadUInt32LittleEndian(element));
                    break;
                case 1:
                    value = HalfToSingle(BinaryPrimitives.ReadUInt16LittleEndian(element));
                    break;
                case 2:
                    value = BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(element));
                    break;
                default:
                    var wide = BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(element));
                    value = (float)wide;
                    if (float.IsInfinity(value) && !double.IsInfinity(wide))
                    {
                        problem = $"tensor '{name}' holds the F64 value {wide.ToString("R", CultureInfo.InvariantCulture)} at element {i}, which is finite but beyond the F32 range (±{float.MaxValue.ToString("R", CultureInfo.InvariantCulture)})";
                        return null;
                    }

                    break;
            }

            if (!allowNonFinite && (float.IsNaN(value) || float.IsInfinity(value)))
            {
                problem = $"tensor '{name}' holds {value.ToString(CultureInfo.InvariantCulture)} at element {i}";
                return null;
            }

            values[i] = value;
        }

        return values;
    }

    /// <summary>
    /// An IEEE 754 half-precision value (1 sign bit, 5 exponent bits biased by 15, 10 mantissa bits) as the F32 value
    /// it equals: normal values rebias their exponent, subnormals are normalized (F32 has room for them: the smallest,
    /// 2⁻²⁴, is a normal F32), zeros keep their sign, infinities stay infinities and NaNs stay NaNs with their payload.
    /// </summary>
    public static float HalfToSingle(ushort half)
    {
        var sign = (uint)(half & 0x8000) << 16;
        var exponent = (half >> 10) & 0x1F;
        var mantissa = (uint)(half & 0x3FF);
        if (exponent == 0x1F)
        {
            // Infinity (mantissa 0) or NaN: all exponent bits set, the mantissa moved to F32's top mantissa bits.
            return SingleFromBits(sign | 0x7F80_0000u | (mantissa << 13));
        }

        if (exponent != 0)
        {
            // Normal: (1 + m/2¹⁰) · 2^(e − 15) = (1 + m·2¹³/2²³) · 2^((e − 15 + 127) − 127).
            return SingleFromBits(sign | ((uint)(exponent + 127 - 15) << 23) | (mantissa << 13));
        }

        if (mantissa == 0)
        {
            return SingleFromBits(sign);
        }

        // Subnormal: m/2¹⁰ · 2⁻¹⁴. Shift the mantissa up until its leading 1 is the implicit bit, lowering the
        // exponent once per shift: the smallest, m = 1, ends as 2⁻²⁴.
        var biased = 127 - 15 + 1;
        while ((mantissa & 0x400) == 0)
        {
            mantissa <<= 1;
            biased--;
        }

        return SingleFromBits(sign | ((uint)biased << 23) | ((mantissa & 0x3FF) << 13));
    }

    /// <summary>A bfloat16 value as the F32 value it equals: bfloat16 is the high 16 bits of an F32.</summary>
    public static float BFloat16ToSingle(ushort bfloat16) => SingleFromBits((uint)bfloat16 << 16);

    /// <summary>The F32 value whose IEEE 754 bits are <paramref name="bits"/> (netstandard2.0 lacks <c>BitConverter.UInt32BitsToSingle</c>).</summary>
    private static float SingleFromBits(uint bits) => new SingleBits { Bits = bits }.Value;

    [StructLayout(LayoutKind.Explicit)]
    private struct SingleBits
    {
        [FieldOffset(0)]
        public uint Bits;

        [FieldOffset(0)]
        public float Value;
    }
}
