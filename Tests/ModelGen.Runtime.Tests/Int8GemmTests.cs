using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The int8 product against a plain integer reference, on every path the processor has (VNNI, AVX-512BW, AVX2,
/// SSSE3, scalar): the int32 sums must be equal, and the dequantized floats equal bit for bit, on sizes from 1 to 70
/// around the tiles (4, 6 and 8 rows; 4, 8 and 16 lanes; depths not a multiple of 4) and at the extremes of the value
/// ranges. CI re-runs this class with AVX-512, AVX2 and all intrinsics switched off.
/// </summary>
[Trait("Category", "Kernels")]
public class Int8GemmTests
{
    public static IEnumerable<object[]> Shapes()
    {
        // The Fashion MLP's layers for one sample and a batch; tile and vector edges; then random sizes up to 70.
        var shapes = new List<(int M, int N, int K)>
        {
            (1, 256, 784), (1, 128, 256), (1, 10, 128), (64, 10, 128), (1, 1, 1), (2, 3, 5), (4, 8, 4), (6, 16, 4), (7, 17, 6),
            (8, 32, 8), (9, 33, 7), (13, 16, 3), (5, 1, 69), (12, 64, 2), (17, 48, 65), (24, 31, 1), (70, 70, 70), (3, 5, 0),
        };
        var random = new Random(8);
        while (shapes.Count < 50)
        {
            var shape = (random.Next(1, 71), random.Next(1, 71), random.Next(1, 71));
            if (!shapes.Contains(shape))
            {
                shapes.Add(shape);
            }
        }

        return shapes.Select(s => new object[] { s.M, s.N, s.K });
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_path_gives_the_exact_integer_sums(int m, int n, int k)
    {
        var a = Activations(m * k, seed: m + (100 * n) + (10_000 * k));
        var b = Weights(k * n, seed: (7 * m) + k);
        var (packed, _) = Pack(b, k, n);
        var expected = Reference(a, b, m, n, k);

        foreach (var path in Paths())
        {
            var c = Enumerable.Repeat(int.MinValue, m * n).ToArray();
            Int8Gemm.MultiplyWith(path, a, packed, c, m, n, k);
            AssertEqual(expected, c, path);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_path_dequantizes_to_the_same_bits(int m, int n, int k)
    {
        var a = Activations(m * k, seed: 3 + m + n + k);
        var b = Weights(k * n, seed: 5 + m + n + k);
        var (packed, columnSums) = Pack(b, k, n);
        var sums = Reference(a, b, m, n, k);
        var random = new Random(m * n * (k + 1));
        var rowScales = Enumerable.Range(0, m).Select(_ => 0.001f + (0.1f * random.NextSingle())).ToArray();
        var rowZeroPoints = Enumerable.Range(0, m).Select(_ => random.Next(0, 128)).ToArray();
        var columnScales = Enumerable.Range(0, n).Select(_ => 0.0001f + (0.01f * random.NextSingle())).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => random.NextSingle() - 0.5f).ToArray();

        // Per-row parameters (dynamic) and one pair for every row (static); with and without bias and ReLU.
        foreach (var perRow in new[] { true, false })
        {
            var scales = perRow ? rowScales : rowScales[..1];
            var zeroPoints = perRow ? rowZeroPoints : rowZeroPoints[..1];
            foreach (var (withBias, activation) in new[] { (false, GemmActivation.None), (true, GemmActivation.Relu), (true, GemmActivation.None) })
            {
                var columnBias = withBias ? bias : [];
                var expected = new float[m * n];
                for (var i = 0; i < m; i++)
                {
                    var (scale, zeroPoint) = perRow ? (scales[i], zeroPoints[i]) : (scales[0], zeroPoints[0]);
                    for (var j = 0; j < n; j++)
                    {
                        var value = (float)(sums[(i * n) + j] - (zeroPoint * columnSums[j])) * (scale * columnScales[j]);
                        value = withBias ? value + bias[j] : value;
                        expected[(i * n) + j] = activation == GemmActivation.Relu ? Math.Max(value, 0f) : value;
                    }
                }

                foreach (var path in Paths())
                {
                    var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
                    Int8Gemm.MultiplyDequantizeWith(path, a, packed, c, m, n, k, new Int8Dequantization
                    {
                        RowScales = scales,
                        RowZeroPoints = zeroPoints,
                        ColumnScales = columnScales,
                        ColumnSums = columnSums,
                        Bias = columnBias,
                        Activation = activation,
                    });
                    for (var e = 0; e < expected.Length; e++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expected[e]) == BitConverter.SingleToInt32Bits(c[e]),
                            $"{path}, per row {perRow}, bias {withBias}, {activation}: element {e} of {m}×{n} is {c[e]}, expected {expected[e]}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// All activations 127 against weights 127, −127 or −128 (pairs of products at ±32,258 or −32,512, next to int16's
    /// limits: AVX2's vpmaddubsw would saturate on 8-bit activations), over depths with and without a partial group.
    /// </summary>
    [Theory]
    [InlineData(127, 127)]
    [InlineData(127, -127)]
    [InlineData(127, -128)]
    [InlineData(0, -128)]
    [InlineData(1, 1)]
    public void Extreme_values_sum_exactly(int activation, int weight)
    {
        foreach (var (m, n, k) in new[] { (9, 33, 1001), (1, 70, 67), (13, 17, 4) })
        {
            var a = Enumerable.Repeat((byte)activation, m * k).ToArray();
            var b = Enumerable.Repeat((sbyte)weight, k * n).ToArray();
            var (packed, _) = Pack(b, k, n);
            var expected = Enumerable.Repeat(activation * weight * k, m * n).ToArray();
            foreach (var path in Paths())
            {
                var c = new int[m * n];
                Int8Gemm.MultiplyWith(path, a, packed, c, m, n, k);
                AssertEqual(expected, c, path);
            }
        }
    }

    /// <summary>At <see cref="Int8Gemm.MaxDepth"/>, the largest sums and the largest zero-point corrections still fit int32.</summary>
    [Fact]
    public void The_deepest_product_stays_within_int32()
    {
        const int m = 2, n = 17, k = Int8Gemm.MaxDepth;
        var b = Enumerable.Repeat(sbyte.MinValue, k * n).ToArray();
        var (packed, columnSums) = Pack(b, k, n);
        Assert.All(columnSums, sum => Assert.Equal(-128 * k, sum));
        foreach (var path in Paths())
        {
            var c = new int[m * n];
            Int8Gemm.MultiplyWith(path, Enumerable.Repeat((byte)Int8Gemm.MaxActivation, m * k).ToArray(), packed, c, m, n, k);
            Assert.All(c, sum => Assert.Equal(-127 * 128 * k, sum));

            // Activations at level 0 with zero point 127: the sum is 0 and the correction −127·(−128·k) = 127·2²³, exact in a float.
            var y = new float[m * n];
            Int8Gemm.MultiplyDequantizeWith(path, new byte[m * k], packed, y, m, n, k, new Int8Dequantization
            {
                RowScales = [1f],
                RowZeroPoints = [127],
                ColumnScales = Enumerable.Repeat(1f, n).ToArray(),
                ColumnSums = columnSums,
            });
            Assert.All(y, value => Assert.Equal(127f * 128 * k, value));
        }
    }

    [Theory]
    [InlineData(128)]
    [InlineData(255)]
    public void Activations_above_seven_bits_are_rejected_on_every_path(int activation)
    {
        const int m = 3, n = 5, k = 9;
        var a = new byte[m * k];
        a[^1] = (byte)activation;
        var (packed, columnSums) = Pack(new sbyte[k * n], k, n);
        foreach (var path in Paths())
        {
            var error = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyWith(path, a, packed, new int[m * n], m, n, k));
            Assert.Contains($"{activation} at index {(m * k) - 1}", error.Message);
            Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyDequantizeWith(path, a, packed, new float[m * n], m, n, k, new Int8Dequantization
            {
                RowScales = [1f],
                RowZeroPoints = [0],
                ColumnScales = new float[n],
                ColumnSums = columnSums,
            }));
        }
    }

    [Fact]
    public void Shapes_and_parameters_are_checked()
    {
        var packed = new sbyte[Int8Gemm.PackedLength(4, 3)];
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(new byte[7], packed, new int[6], 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(new byte[8], packed[1..], new int[6], 2, 3, 4));
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(new byte[8], packed, new int[5], 2, 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8Gemm.Multiply([], [], [], -1, 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8Gemm.Multiply([], new sbyte[Int8Gemm.PackedLength(Int8Gemm.MaxDepth + 1, 1)], [], 0, 1, Int8Gemm.MaxDepth + 1));

        Dequantize([1f, 1f], [0], new int[3], new float[3], GemmActivation.None);
        Assert.Throws<ArgumentException>(() => Dequantize([1f, 1f, 1f], [0], new int[3], [], GemmActivation.None));
        Assert.Throws<ArgumentException>(() => Dequantize([1f], [128], new int[3], [], GemmActivation.None));
        Assert.Throws<ArgumentException>(() => Dequantize([1f], [-1], new int[3], [], GemmActivation.None));
        Assert.Throws<ArgumentException>(() => Dequantize([1f], [0], new int[2], [], GemmActivation.None));
        Assert.Throws<ArgumentException>(() => Dequantize([1f], [0], new int[3], new float[2], GemmActivation.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dequantize([1f], [0], new int[3], [], (GemmActivation)7));

        void Dequantize(float[] rowScales, int[] rowZeroPoints, int[] columnSums, float[] bias, GemmActivation activation) =>
            Int8Gemm.MultiplyDequantize(new byte[8], packed, new float[6], 2, 3, 4, new Int8Dequantization
            {
                RowScales = rowScales,
                RowZeroPoints = rowZeroPoints,
                ColumnScales = new float[3],
                ColumnSums = columnSums,
                Bias = bias,
                Activation = activation,
            });
    }

    [Fact]
    public void Packing_puts_four_steps_of_a_column_side_by_side_in_panels_of_sixteen()
    {
        const int k = 5, n = 17;
        // Two groups (the second padded from one step to four) and two panels (the second padded from one column).
        Assert.Equal(8 * 32, Int8Gemm.PackedLength(k, n));
        Assert.Equal(0, Int8Gemm.PackedIndex(k, 0, 0));
        Assert.Equal(3, Int8Gemm.PackedIndex(k, 3, 0));
        Assert.Equal(4, Int8Gemm.PackedIndex(k, 0, 1));
        Assert.Equal(64, Int8Gemm.PackedIndex(k, 4, 0));
        Assert.Equal((8 * 16) + 64 + 1, Int8Gemm.PackedIndex(k, 5, 16));

        var b = Weights(k * n, seed: 4);
        var (packed, columnSums) = Pack(b, k, n);
        var placed = new bool[packed.Length];
        for (var p = 0; p < k; p++)
        {
            for (var j = 0; j < n; j++)
            {
                var index = Int8Gemm.PackedIndex(k, p, j);
                Assert.Equal(b[(p * n) + j], packed[index]);
                placed[index] = true;
            }
        }

        Assert.All(packed.Where((_, i) => !placed[i]), padding => Assert.Equal(0, padding));
        Assert.Equal(Enumerable.Range(0, n).Select(j => Enumerable.Range(0, k).Sum(p => b[(p * n) + j])), columnSums);
    }

    /// <summary>
    /// Makes sure the run's instruction sets chose the int8 path: CI sets <c>MODELGEN_EXPECT_ISA</c> together with the
    /// <c>DOTNET_Enable…</c> switches. VNNI is expected wherever AVX2 is on and the processor lists <c>avx_vnni</c>,
    /// AVX-512BW where AVX-512 is on without it.
    /// </summary>
    [Fact]
    public void The_product_runs_the_path_the_instruction_sets_allow()
    {
        Int8Gemm.Multiply(new byte[4], new sbyte[Int8Gemm.PackedLength(4, 1)], new int[1], 1, 1, 4);
        Assert.Equal(Int8Gemm.BestPath, Int8Gemm.LastPath);

        var expected = Environment.GetEnvironmentVariable("MODELGEN_EXPECT_ISA");
        if (expected is null)
        {
            return;
        }

        var vnni = CpuFlags().Contains("avx_vnni");
        var path = expected switch
        {
            "avx512" => vnni ? Int8Path.Vnni : Int8Path.Avx512,
            "avx2" => vnni ? Int8Path.Vnni : Int8Path.Avx2,
            "sse" => Int8Path.Ssse3,
            "scalar" => Int8Path.Scalar,
            _ => throw new InvalidOperationException($"Unknown MODELGEN_EXPECT_ISA '{expected}'."),
        };
        Assert.Equal(path, Int8Gemm.LastPath);
        Assert.Equal(expected == "avx512", Int8Gemm.IsAccelerated(Int8Path.Avx512));
    }

    [Fact]
    public void A_product_allocates_nothing_once_warm()
    {
        foreach (var m in new[] { 1, 64 })
        {
            const int n = 128, k = 256;
            var a = Activations(m * k, seed: 1);
            var (packed, columnSums) = Pack(Weights(k * n, seed: 2), k, n);
            var (sums, outputs) = (new int[m * n], new float[m * n]);
            var (scales, zeroPoints, columnScales, bias) = (new float[] { 0.1f }, new int[] { 3 }, new float[n], new float[n]);
            AllocationAssert.NoneAfterWarmUp(() =>
            {
                Int8Gemm.Multiply(a, packed, sums, m, n, k);
                Int8Gemm.MultiplyDequantize(a, packed, outputs, m, n, k, new Int8Dequantization
                {
                    RowScales = scales,
                    RowZeroPoints = zeroPoints,
                    ColumnScales = columnScales,
                    ColumnSums = columnSums,
                    Bias = bias,
                    Activation = GemmActivation.Relu,
                });
            });
        }
    }

    /// <summary>The paths this process can run: always the scalar loop, then each vector path the processor (and the run's switches) allow.</summary>
    internal static IEnumerable<Int8Path> Paths() => Enum.GetValues<Int8Path>().Where(Int8Gemm.IsAccelerated);

    internal static byte[] Activations(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (byte)random.Next(0, Int8Gemm.MaxActivation + 1)).ToArray();
    }

    internal static sbyte[] Weights(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (sbyte)random.Next(sbyte.MinValue, sbyte.MaxValue + 1)).ToArray();
    }

    internal static (sbyte[] Packed, int[] ColumnSums) Pack(sbyte[] b, int k, int n)
    {
        var packed = new sbyte[Int8Gemm.PackedLength(k, n)];
        var columnSums = new int[n];
        Int8Gemm.Pack(b, k, n, packed, columnSums);
        return (packed, columnSums);
    }

    /// <summary>Σₚ a[i,p]·b[p,j] in 64-bit integers over the row-major (unpacked) b, checked to fit int32.</summary>
    internal static int[] Reference(byte[] a, sbyte[] b, int m, int n, int k)
    {
        var c = new int[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                long sum = 0;
                for (var p = 0; p < k; p++)
                {
                    sum += a[(i * k) + p] * b[(p * n) + j];
                }

                c[(i * n) + j] = checked((int)sum);
            }
        }

        return c;
    }

    private static void AssertEqual(int[] expected, int[] actual, Int8Path path)
    {
        var first = Enumerable.Range(0, expected.Length).FirstOrDefault(i => expected[i] != actual[i], -1);
        Assert.True(first < 0, first < 0 ? "" : $"{path}: element {first} of {expected.Length} is {actual[first]}, expected {expected[first]}");
    }

    private static HashSet<string> CpuFlags() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").Where(line => line.StartsWith("flags", StringComparison.Ordinal)).Take(1)
                .SelectMany(line => line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet()
            : [];
}

/// <summary>Int8 products split between the caller and the helper thread give the single thread's integers.</summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class Int8ThreadingTests : IDisposable
{
    private readonly int _previous = KernelSettings.MaxThreads;

    public void Dispose() => KernelSettings.MaxThreads = _previous;

    [Theory]
    [InlineData(256, 256, 784)] // the Fashion MLP's first layer at batch 256
    [InlineData(97, 70, 513)] // edge tiles and vectors, a partial group
    public void Two_threads_give_the_exact_sums(int m, int n, int k)
    {
        var a = Int8GemmTests.Activations(m * k, seed: 11);
        var b = Int8GemmTests.Weights(k * n, seed: 12);
        var (packed, _) = Int8GemmTests.Pack(b, k, n);
        var expected = Int8GemmTests.Reference(a, b, m, n, k);
        foreach (var threads in new[] { 1, 2 })
        {
            KernelSettings.MaxThreads = threads;
            foreach (var path in Int8GemmTests.Paths())
            {
                for (var repeat = 0; repeat < 3; repeat++)
                {
                    var c = new int[m * n];
                    Int8Gemm.MultiplyWith(path, a, packed, c, m, n, k);
                    Assert.Equal(expected, c);
                }
            }
        }
    }
}
