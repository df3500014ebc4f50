using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ModelGen.Serialization;
using ModelGen.Tests;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Baking files of F16, BF16 and F64 tensors, written by hand here: they bake into exactly the F32 values the runtime's
/// loader gives (F16 and BF16 exactly, F64 rounded to nearest, ties to even); NaN, infinities and finite F64 values
/// beyond F32's range are MG0023, other dtypes still MG0024 naming the dtype.
/// </summary>
public sealed partial class BakedWeightsTests
{
    [Fact]
    public void A_BF16_file_bakes_into_the_same_parameters_as_the_equivalent_F32_file()
    {
        // Every saved value cut to bfloat16 (its low 16 bits cleared), so that an F32 file and a BF16 file can hold the
        // same numbers; most keep mantissa bits set in the half that remains.
        var source = TrainedLookingModel(out var f32Path);
        foreach (var tensor in source.ParameterTensors)
        {
            var values = tensor.Slice(tensor.Buffer(source));
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(values[i]) & unchecked((int)0xFFFF_0000));
            }
        }

        SafeTensors.Save(source, f32Path);
        var bf16Path = Path.Combine(_directory, "bf16.safetensors");
        File.WriteAllBytes(bf16Path, SafeTensorsBytes.HandWritten(source.ParameterTensors.Select(tensor =>
        {
            if (tensor.IsBatchCounter)
            {
                return BatchCounter(tensor);
            }

            var ordered = new float[tensor.Length];
            tensor.CopyToFileOrder(tensor.Buffer(source), ordered);
            var data = new byte[2 * ordered.Length];
            for (var i = 0; i < ordered.Length; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), (ushort)(BitConverter.SingleToUInt32Bits(ordered[i]) >> 16));
            }

            return (tensor.Name, "BF16", tensor.Shape, data);
        })));

        var assembly = GeneratorHarness.BuildAndLoad(Models(("FromF32", "net.safetensors"), ("FromBf16", "bf16.safetensors")), f32Path, bf16Path);
        var fromF32 = (ITrainableModel)Activator.CreateInstance(assembly.GetType("FromF32")!)!;
        var fromBf16 = (ITrainableModel)Activator.CreateInstance(assembly.GetType("FromBf16")!)!;

        Assert.Equal(Bits(fromF32.Parameters), Bits(fromBf16.Parameters));
        Assert.Equal(Bits(fromF32.State), Bits(fromBf16.State));
        Assert.Equal(Bits(source.Parameters), Bits(fromBf16.Parameters));
        Assert.Equal(Bits(source.State), Bits(fromBf16.State));
        Assert.Contains(source.Parameters.ToArray(), value => (BitConverter.SingleToInt32Bits(value) & 0x007F_0000) != 0);
    }

    [Fact]
    public void F16_and_F64_files_bake_to_exactly_the_values_the_runtime_loads()
    {
        var source = TrainedLookingModel(out _);
        var tensors = source.ParameterTensors;
        var special = tensors.ToList().FindIndex(t => t.Name == "layers.3.weight");

        // F16: zeros of both signs, the smallest and largest subnormals, ±65504, a value with mantissa bits set.
        var tiny = MathF.ScaleB(1f, -24);
        (ushort Bits, float Value)[] halves = [(0x0000, 0f), (0x8000, -0f), (0x0001, tiny), (0x8001, -tiny), (0x03FF, 1023 * tiny), (0x7BFF, 65504f), (0xFBFF, -65504f), (0x3555, 0.333251953125f)];
        var f16Path = Path.Combine(_directory, "f16.safetensors");
        File.WriteAllBytes(f16Path, SafeTensorsBytes.HandWritten(tensors.Select((tensor, t) =>
        {
            if (tensor.IsBatchCounter)
            {
                return BatchCounter(tensor);
            }

            var data = new byte[2 * tensor.Length];
            for (var i = 0; i < tensor.Length; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 * i), t == special && i < halves.Length ? halves[i].Bits : OrdinaryHalf(t, i));
            }

            return (tensor.Name, "F16", tensor.Shape, data);
        })));

        // F64: rounding to nearest, ties to even (1 + 2⁻²⁴ to 1, 1 + 3 · 2⁻²⁴ up to 1 + 2⁻²²), underflow to signed zero,
        // a value above the largest F32 but nearer to it than to 2¹²⁸.
        (double Value, float Expected)[] doubles =
        [
            (0.1, BitConverter.Int32BitsToSingle(0x3DCCCCCD)), (1 + Math.ScaleB(1, -24), 1f), (1 + (3 * Math.ScaleB(1, -24)), BitConverter.Int32BitsToSingle(0x3F800002)),
            (1e-50, 0f), (-1e-50, -0f), (float.MaxValue + Math.ScaleB(1, 102), float.MaxValue),
        ];
        var f64Path = Path.Combine(_directory, "f64.safetensors");
        File.WriteAllBytes(f64Path, SafeTensorsBytes.HandWritten(tensors.Select((tensor, t) =>
        {
            if (tensor.IsBatchCounter)
            {
                return BatchCounter(tensor);
            }

            var data = new byte[8 * tensor.Length];
            for (var i = 0; i < tensor.Length; i++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8 * i), t == special && i < doubles.Length ? doubles[i].Value : ((t + 1) * 0.001 * (i - 50)) + (1e-9 * i));
            }

            return (tensor.Name, "F64", tensor.Shape, data);
        })));

        var assembly = GeneratorHarness.BuildAndLoad(Models(("FromF16", "f16.safetensors"), ("FromF64", "f64.safetensors")), f16Path, f64Path);
        foreach (var (name, path, expected) in new[] { ("FromF16", f16Path, halves.Select(h => h.Value).ToArray()), ("FromF64", f64Path, doubles.Select(d => d.Expected).ToArray()) })
        {
            var baked = (ITrainableModel)Activator.CreateInstance(assembly.GetType(name)!)!;
            var loaded = (ITrainableModel)Activator.CreateInstance(source.GetType(), 1)!;
            loaded.Parameters.Clear();
            loaded.State.Clear();
            SafeTensors.Load(loaded, path);

            Assert.Equal(Bits(loaded.Parameters), Bits(baked.Parameters));
            Assert.Equal(Bits(loaded.State), Bits(baked.State));
            var ordered = new float[tensors[special].Length];
            tensors[special].CopyToFileOrder(baked.Parameters, ordered);
            Assert.Equal(Bits(expected), Bits(ordered.AsSpan(0, expected.Length)));
        }
    }

    [Theory]
    [InlineData("F16", 0x7C00L, "holds Infinity at element 9")]
    [InlineData("F16", 0xFE00L, "holds NaN at element 9")]
    [InlineData("BF16", 0xFF80L, "holds -Infinity at element 9")]
    [InlineData("BF16", 0x7FC0L, "holds NaN at element 9")]
    [InlineData("F64", 0x7FF0_0000_0000_0000L, "holds Infinity at element 9")]
    // 2¹²⁸ − 2¹⁰³: halfway between the largest F32 (odd mantissa) and 2¹²⁸, so nearest-even rounding would make it infinite.
    [InlineData("F64", 0x47EF_FFFF_F000_0000L, "holds the F64 value 3.4028235677973366E+38 at element 9, which is finite but beyond the F32 range (±3.4028235E+38)")]
    [InlineData("F64", 0x7FEF_FFFF_FFFF_FFFFL, "holds the F64 value 1.7976931348623157E+308 at element 9, which is finite but beyond the F32 range (±3.4028235E+38)")]
    public void MG0023_a_value_that_is_not_finite_or_beyond_F32_in_any_dtype(string dtype, long bad, string message)
    {
        var source = TrainedLookingModel(out var path);
        var size = dtype == "F64" ? 8 : 2;
        File.WriteAllBytes(path, SafeTensorsBytes.HandWritten(source.ParameterTensors.Select(tensor =>
        {
            if (tensor.IsBatchCounter)
            {
                return BatchCounter(tensor);
            }

            var data = new byte[size * tensor.Length];
            for (var i = 0; i < tensor.Length; i++)
            {
                var element = data.AsSpan(size * i);
                if (tensor.Name == "layers.3.weight" && i == 9)
                {
                    if (size == 8)
                    {
                        BinaryPrimitives.WriteInt64LittleEndian(element, bad);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(element, (ushort)bad);
                    }
                }
                else if (size == 8)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(element, 0.25 * (i % 5));
                }
                else
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(element, dtype == "F16" ? (ushort)0x3C00 : (ushort)0x3F80);
                }
            }

            return (tensor.Name, dtype, tensor.Shape, data);
        })));

        AssertBakeError([path], "net.safetensors", "MG0023", $"cannot be baked: tensor 'layers.3.weight' {message}");
    }

    [Theory]
    [InlineData("I32")]
    [InlineData("U32")]
    public void MG0024_a_tensor_of_another_dtype_names_it(string dtype)
    {
        // Four bytes an element, as F32: the container is sound, the dtype is not one ModelGen bakes.
        var source = TrainedLookingModel(out var path);
        File.WriteAllBytes(path, SafeTensorsBytes.HandWritten(FileOrder(source, tensor => tensor.Name == "layers.3.weight" ? dtype : "F32")));

        AssertBakeError([path], "net.safetensors", "MG0024", $"tensor 'layers.3.weight' is {dtype}; ModelGen bakes F32, F16, BF16 and F64");
    }

    [Fact]
    public void MG0023_a_byte_range_that_does_not_fit_the_dtype_of_the_file()
    {
        // layers.0.bias claims F16 but holds four bytes an element, as an F32 tensor would; another dtype's bytes are
        // counted as the runtime's loader counts them too.
        var source = TrainedLookingModel(out var path);
        File.WriteAllBytes(path, SafeTensorsBytes.HandWritten(FileOrder(source, tensor => tensor.Name == "layers.0.bias" ? "F16" : "F32")));
        AssertBakeError([path], "net.safetensors", "MG0023", "tensor 'layers.0.bias' of shape [7] and dtype F16 needs 14 bytes but claims 28");

        File.WriteAllBytes(path, SafeTensorsBytes.HandWritten(FileOrder(source, tensor => tensor.Name == "layers.0.bias" ? "I64" : "F32")));
        AssertBakeError([path], "net.safetensors", "MG0023", "tensor 'layers.0.bias' of shape [7] and dtype I64 needs 56 bytes but claims 28");
    }

    /// <summary>The source of several models of <see cref="Layers"/>, each baking its file.</summary>
    private static string Models(params (string Name, string Weights)[] models) =>
        "using ModelGen;\n" + string.Concat(models.Select(m => Model(m.Name, m.Weights)["using ModelGen;\n".Length..]));

    /// <summary>Ordinary F16 bits for element <paramref name="i"/> of tensor <paramref name="t"/>: normal and subnormal values of both signs, never infinite or NaN.</summary>
    private static ushort OrdinaryHalf(int t, int i) => (ushort)((((t * 7919) + (i * 131)) % 0x7800) | ((i & 1) << 15));

    /// <summary>Batch norm's num_batches_tracked as PyTorch writes it: an I64 scalar, here 0.</summary>
    private static (string Name, string DType, int[] Shape, byte[] Data) BatchCounter(ParameterTensor tensor) => (tensor.Name, "I64", [], new byte[8]);

    /// <summary><paramref name="model"/>'s tensors as F32 bytes in file order, each declared with the dtype <paramref name="dtype"/> gives it.</summary>
    private static IEnumerable<(string Name, string DType, int[] Shape, byte[] Data)> FileOrder(ITrainableModel model, Func<ParameterTensor, string> dtype) =>
        model.ParameterTensors.Select(tensor =>
        {
            if (tensor.IsBatchCounter)
            {
                return BatchCounter(tensor);
            }

            var ordered = new float[tensor.Length];
            tensor.CopyToFileOrder(tensor.Buffer(model), ordered);
            var data = new byte[4 * ordered.Length];
            for (var i = 0; i < ordered.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), ordered[i]);
            }

            return (tensor.Name, dtype(tensor), tensor.Shape, data);
        });

    private static int[] Bits(ReadOnlySpan<float> values)
    {
        var bits = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            bits[i] = BitConverter.SingleToInt32Bits(values[i]);
        }

        return bits;
    }
}
