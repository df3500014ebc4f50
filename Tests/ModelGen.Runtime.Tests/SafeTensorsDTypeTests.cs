using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using ModelGen.Serialization;
using ModelGen.Tests;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Loading weights stored as F16, BF16 or F64, as many published checkpoints are: each file is written by hand here
/// (header JSON and bytes), and its tensors must load as exactly the F32 values they equal (F16, BF16) or round to
/// (F64, to nearest, ties to even). NaN and infinities are refused whatever the dtype, as they are in F32 files, and
/// so is a finite F64 too large for F32; other dtypes are still refused, naming the dtype. Saving stays F32.
/// </summary>
public sealed class SafeTensorsDTypeTests
{
    private static readonly float TwoToMinus24 = MathF.ScaleB(1f, -24);

    [Fact]
    public void F16_tensors_load_as_the_F32_values_they_equal()
    {
        // Zeros of both signs, subnormals (the smallest, 2⁻²⁴, and the largest, 1023 · 2⁻²⁴), the smallest normal,
        // values with mantissa bits set, and the largest finite values, ±65504.
        (ushort Bits, float Value)[] special =
        [
            (0x0000, 0f), (0x8000, -0f), (0x0001, TwoToMinus24), (0x8001, -TwoToMinus24), (0x0002, 2 * TwoToMinus24),
            (0x0155, 341 * TwoToMinus24), (0x03FF, 1023 * TwoToMinus24), (0x0200, MathF.ScaleB(1f, -15)), (0x0400, MathF.ScaleB(1f, -14)),
            (0x3C00, 1f), (0x3C01, 1f + MathF.ScaleB(1f, -10)), (0xC000, -2f), (0x3555, 0.333251953125f), (0x7BFF, 65504f), (0xFBFF, -65504f),
        ];
        var file = SmallMlpFile("F16", 2, (t, i, bytes) => BinaryPrimitives.WriteUInt16LittleEndian(bytes, t == 0 && i < special.Length ? special[i].Bits : OrdinaryHalf(t, i)));

        // Every value the file holds, then, is System.Half's own conversion of its bits; the special ones are also spelled out.
        AssertLoads(file, (t, i) => t == 0 && i < special.Length ? special[i].Value : (float)BitConverter.UInt16BitsToHalf(OrdinaryHalf(t, i)));
        Assert.Equal(special.Select(s => (float)BitConverter.UInt16BitsToHalf(s.Bits)), special.Select(s => s.Value));
    }

    [Fact]
    public void Every_F16_bit_pattern_converts_as_System_Half_does()
    {
        for (var bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var expected = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            var actual = SafeTensorsDecoding.HalfToSingle((ushort)bits);
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(actual), $"0x{bits:X4}");
                Assert.Equal(float.IsNegative(expected), float.IsNegative(actual));
            }
            else
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"0x{bits:X4}: {expected} expected, {actual} given");
            }
        }
    }

    [Theory]
    [InlineData((ushort)0x7C00, "Infinity")]
    [InlineData((ushort)0xFC00, "-Infinity")]
    [InlineData((ushort)0x7E00, "NaN")]
    [InlineData((ushort)0xFC01, "NaN")]
    public void F16_infinities_and_NaNs_are_refused_as_in_F32_files(ushort bad, string shown)
    {
        var file = SmallMlpFile("F16", 2, (t, i, bytes) => BinaryPrimitives.WriteUInt16LittleEndian(bytes, t == 3 && i == 5 ? bad : OrdinaryHalf(t, i)));

        AssertRefused(file, $"tensor 'layers.2.bias' holds {shown} at element 5");
    }

    [Fact]
    public void BF16_tensors_load_as_the_F32_values_they_equal()
    {
        // bfloat16 is the high half of an F32: mantissa bits set (π to 8 bits, 3.140625), zeros of both signs, an F32
        // subnormal, the largest finite value.
        (ushort Bits, float Value)[] special =
        [
            (0x3F80, 1f), (0x4049, 3.140625f), (0xBF81, -1.0078125f), (0x3FC0, 1.5f), (0x0000, 0f), (0x8000, -0f),
            (0x0001, MathF.ScaleB(1f, -133)), (0x7F7F, 3.3895314E+38f), (0xC2F7, -123.5f),
        ];
        var file = SmallMlpFile("BF16", 2, (t, i, bytes) => BinaryPrimitives.WriteUInt16LittleEndian(bytes, t == 2 && i < special.Length ? special[i].Bits : OrdinaryBFloat16(t, i)));

        AssertLoads(file, (t, i) => t == 2 && i < special.Length ? special[i].Value : BitConverter.Int32BitsToSingle(OrdinaryBFloat16(t, i) << 16));
    }

    [Theory]
    [InlineData((ushort)0x7F80, "Infinity")]
    [InlineData((ushort)0xFF80, "-Infinity")]
    [InlineData((ushort)0x7FC0, "NaN")]
    public void BF16_infinities_and_NaNs_are_refused_as_in_F32_files(ushort bad, string shown)
    {
        var file = SmallMlpFile("BF16", 2, (t, i, bytes) => BinaryPrimitives.WriteUInt16LittleEndian(bytes, t == 0 && i == 600 ? bad : OrdinaryBFloat16(t, i)));

        AssertRefused(file, $"tensor 'layers.0.weight' holds {shown} at element 600");
    }

    [Fact]
    public void F64_tensors_round_to_the_nearest_F32_ties_to_even()
    {
        (double Value, float Expected)[] special =
        [
            // 0.1 lies between two F32 values; the nearer is 0x3DCCCCCD.
            (0.1, BitConverter.Int32BitsToSingle(0x3DCCCCCD)),
            // Halfway between 1 and the next F32, 1 + 2⁻²³: the tie goes to 1, whose mantissa is even …
            (1 + Math.ScaleB(1, -24), 1f),
            // … and halfway between 1 + 2⁻²³ (odd) and 1 + 2⁻²² (even) it goes up to the even one.
            (1 + (3 * Math.ScaleB(1, -24)), BitConverter.Int32BitsToSingle(0x3F800002)),
            // Just above a tie rounds up.
            (1 + Math.ScaleB(1, -24) + Math.ScaleB(1, -50), BitConverter.Int32BitsToSingle(0x3F800001)),
            (-(1 + (3 * Math.ScaleB(1, -24))), BitConverter.Int32BitsToSingle(unchecked((int)0xBF800002))),
            // Exactly representable values stay as they are.
            (-2.5, -2.5f), (0.0, 0f), (-0.0, -0f),
            // Below F32's smallest subnormal, 2⁻¹⁴⁹: to the nearer of 2⁻¹⁴⁹ and zero, the sign kept.
            (1e-45, float.Epsilon), (1e-50, 0f), (-1e-50, -0f),
            // The largest F32, and a value above it but nearer to it than to 2¹²⁸, both give the largest F32.
            (float.MaxValue, float.MaxValue), (float.MaxValue + Math.ScaleB(1, 102), float.MaxValue), (-(float.MaxValue + Math.ScaleB(1, 102)), float.MinValue),
        ];
        var file = SmallMlpFile("F64", 8, (t, i, bytes) => BinaryPrimitives.WriteDoubleLittleEndian(bytes, t == 1 && i < special.Length ? special[i].Value : OrdinaryDouble(t, i)));

        AssertLoads(file, (t, i) => t == 1 && i < special.Length ? special[i].Expected : (float)OrdinaryDouble(t, i));
    }

    [Theory]
    [InlineData(1e39, "1E+39")]
    [InlineData(-1e300, "-1E+300")]
    [InlineData(double.MaxValue, "1.7976931348623157E+308")]
    // 2¹²⁸ − 2¹⁰³, halfway between the largest F32 (odd mantissa) and 2¹²⁸: to nearest-even it would become infinity.
    [InlineData(340282356779733661637539395458142568448d, "3.4028235677973366E+38")]
    public void A_finite_F64_beyond_the_F32_range_is_refused_rather_than_made_infinite(double huge, string shown)
    {
        Assert.True(float.IsInfinity((float)huge));
        var file = SmallMlpFile("F64", 8, (t, i, bytes) => BinaryPrimitives.WriteDoubleLittleEndian(bytes, t == 5 && i == 2 ? huge : OrdinaryDouble(t, i)));

        AssertRefused(file, $"tensor 'layers.4.bias' holds the F64 value {shown} at element 2, which is finite but beyond the F32 range (±3.4028235E+38)");
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void F64_infinities_and_NaNs_are_refused_as_in_F32_files(double bad, string shown)
    {
        var file = SmallMlpFile("F64", 8, (t, i, bytes) => BinaryPrimitives.WriteDoubleLittleEndian(bytes, t == 4 && i == 50 ? bad : OrdinaryDouble(t, i)));

        AssertRefused(file, $"tensor 'layers.4.weight' holds {shown} at element 50");
    }

    [Fact]
    public void A_file_may_mix_dtypes()
    {
        // A checkpoint with half-precision weights and full-precision biases, say.
        string[] dtypes = ["BF16", "F32", "F16", "F64", "BF16", "F32"];
        var file = SafeTensorsBytes.HandWritten(Tensors.Select((tensor, t) => (tensor.Name, dtypes[t], tensor.Shape, Encode(dtypes[t], t, tensor.Length))));

        AssertLoads(file, (t, i) => dtypes[t] switch
        {
            "BF16" => BitConverter.Int32BitsToSingle(OrdinaryBFloat16(t, i) << 16),
            "F16" => (float)BitConverter.UInt16BitsToHalf(OrdinaryHalf(t, i)),
            "F64" => (float)OrdinaryDouble(t, i),
            _ => OrdinarySingle(t, i),
        });
    }

    [Theory]
    [InlineData("I32")]
    [InlineData("U32")]
    public void Other_dtypes_are_still_refused_naming_the_dtype(string dtype)
    {
        // Four bytes an element, as F32: the container is sound, the dtype is not one ModelGen reads.
        var file = SafeTensorsBytes.HandWritten(Tensors.Select((tensor, t) => (tensor.Name, t == 2 ? dtype : "F32", tensor.Shape, Encode("F32", t, tensor.Length))));

        AssertRefused(file, $"does not hold the parameters of SmallMlp: tensor 'layers.2.weight' is {dtype}; ModelGen reads F32, F16, BF16 and F64.");
    }

    [Fact]
    public void The_byte_length_check_uses_the_dtype_of_the_file()
    {
        // layers.0.bias claims F16 but holds four bytes an element, as if it were F32.
        var file = SafeTensorsBytes.HandWritten(Tensors.Select((tensor, t) => (tensor.Name, t == 1 ? "F16" : "F32", tensor.Shape, Encode("F32", t, tensor.Length))));

        AssertRefused(file, "tensor 'layers.0.bias' of shape [33] and dtype F16 needs 66 bytes but claims 132");

        // And an F64 tensor of F32's length is as wrong.
        file = SafeTensorsBytes.HandWritten(Tensors.Select((tensor, t) => (tensor.Name, t == 5 ? "F64" : "F32", tensor.Shape, Encode("F32", t, tensor.Length))));
        AssertRefused(file, "tensor 'layers.4.bias' of shape [3] and dtype F64 needs 24 bytes but claims 12");
    }

    [Fact]
    public void A_model_loaded_from_F16_saves_as_F32_and_loads_back_bit_for_bit()
    {
        var model = new SmallMlp(seed: 9);
        SafeTensors.Read(model, SmallMlpFile("F16", 2, (t, i, bytes) => BinaryPrimitives.WriteUInt16LittleEndian(bytes, OrdinaryHalf(t, i))), "f16.safetensors");

        using var stream = new MemoryStream();
        SafeTensors.Write(model, stream);
        var saved = stream.ToArray();

        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(saved, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(saved)));
        foreach (var tensor in Tensors)
        {
            Assert.Equal("F32", header.RootElement.GetProperty(tensor.Name).GetProperty("dtype").GetString());
        }

        var again = new SmallMlp(seed: 10);
        SafeTensors.Read(again, saved, "f32.safetensors");
        Assert.Equal(Bits(model.Parameters.ToArray()), Bits(again.Parameters.ToArray()));
    }

    /// <summary>SmallMlp's tensors, in file order: layers.0.weight [33, 20], layers.0.bias, layers.2.weight [17, 33], layers.2.bias, layers.4.weight [3, 17], layers.4.bias (every module counts, activations too).</summary>
    private static IReadOnlyList<ParameterTensor> Tensors => ((ITrainableModel)new SmallMlp()).ParameterTensors;

    /// <summary>Ordinary F16 bits for element <paramref name="i"/> of tensor <paramref name="t"/>: normal and subnormal values of both signs, never infinite or NaN (exponent below 31).</summary>
    private static ushort OrdinaryHalf(int t, int i) => (ushort)((((t * 7919) + (i * 131)) % 0x7800) | ((i & 1) << 15));

    /// <summary>Ordinary bfloat16 bits: values of both signs between about 2⁻⁸ and 2, most with mantissa bits set.</summary>
    private static ushort OrdinaryBFloat16(int t, int i) => (ushort)((0x3B80 + (((t * 7919) + (i * 131)) % 0x0500)) | ((i & 1) << 15));

    /// <summary>Ordinary F64 values, almost none of them an F32 value.</summary>
    private static double OrdinaryDouble(int t, int i) => ((t + 1) * 0.001 * (i - 50)) + (1e-9 * i);

    private static float OrdinarySingle(int t, int i) => (float)OrdinaryDouble(t, i) * 3;

    /// <summary>Element <c>i</c> of tensor <paramref name="t"/> of <paramref name="length"/> elements, as the ordinary values of <paramref name="dtype"/>.</summary>
    private static byte[] Encode(string dtype, int t, int length)
    {
        var size = dtype switch { "F64" => 8, "F32" => 4, _ => 2 };
        var bytes = new byte[length * size];
        for (var i = 0; i < length; i++)
        {
            var element = bytes.AsSpan(i * size, size);
            switch (dtype)
            {
                case "F16":
                    BinaryPrimitives.WriteUInt16LittleEndian(element, OrdinaryHalf(t, i));
                    break;
                case "BF16":
                    BinaryPrimitives.WriteUInt16LittleEndian(element, OrdinaryBFloat16(t, i));
                    break;
                case "F64":
                    BinaryPrimitives.WriteDoubleLittleEndian(element, OrdinaryDouble(t, i));
                    break;
                default:
                    BinaryPrimitives.WriteSingleLittleEndian(element, OrdinarySingle(t, i));
                    break;
            }
        }

        return bytes;
    }

    /// <summary>A file of SmallMlp's tensors, all of <paramref name="dtype"/>, element i of tensor t written by <paramref name="write"/>(t, i, its bytes).</summary>
    private static byte[] SmallMlpFile(string dtype, int size, Action<int, int, Span<byte>> write) =>
        SafeTensorsBytes.HandWritten(Tensors.Select((tensor, t) =>
        {
            var data = new byte[tensor.Length * size];
            for (var i = 0; i < tensor.Length; i++)
            {
                write(t, i, data.AsSpan(i * size, size));
            }

            return (tensor.Name, dtype, tensor.Shape, data);
        }));

    /// <summary>Asserts that <paramref name="file"/> loads into a SmallMlp whose tensors, in file order, hold exactly the bits of <paramref name="expected"/>(t, i).</summary>
    private static void AssertLoads(byte[] file, Func<int, int, float> expected)
    {
        var model = new SmallMlp(seed: 3);
        SafeTensors.Read(model, file, "hand-written.safetensors");

        var tensors = Tensors;
        for (var t = 0; t < tensors.Count; t++)
        {
            var loaded = new float[tensors[t].Length];
            tensors[t].CopyToFileOrder(model.Parameters, loaded);
            var wanted = Enumerable.Range(0, loaded.Length).Select(i => expected(t, i)).ToArray();
            if (!Bits(wanted).SequenceEqual(Bits(loaded)))
            {
                Assert.Fail($"{tensors[t].Name}: {FirstDifference(wanted, loaded)}");
            }
        }
    }

    private static string FirstDifference(float[] wanted, float[] loaded)
    {
        var i = Enumerable.Range(0, wanted.Length).First(i => BitConverter.SingleToInt32Bits(wanted[i]) != BitConverter.SingleToInt32Bits(loaded[i]));
        return $"element {i} is {loaded[i]:R} (0x{BitConverter.SingleToInt32Bits(loaded[i]):X8}), not {wanted[i]:R} (0x{BitConverter.SingleToInt32Bits(wanted[i]):X8})";
    }

    /// <summary>Asserts that loading <paramref name="file"/> fails with a message holding <paramref name="message"/>, leaving the model unchanged.</summary>
    private static void AssertRefused(byte[] file, string message)
    {
        var model = new SmallMlp(seed: 4);
        var before = model.Parameters.ToArray();

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(model, file, "bad.safetensors"));

        Assert.StartsWith("'bad.safetensors' ", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    private static int[] Bits(float[] values) => Array.ConvertAll(values, BitConverter.SingleToInt32Bits);
}
