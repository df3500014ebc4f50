using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The blocked matrix product against a double-precision reference, through every code path the processor has, on
/// shapes around every blocking size (the micro-tiles' 6 and 8 rows and 8/16/32 columns, the 256-deep and 256-row
/// blocks, the 1024-column block), in all four storage layouts, with and without accumulation, bias and ReLU.
/// </summary>
[Trait("Category", "Kernels")]
public class GemmTests
{
    private static readonly int[] Rows = [1, 2, 5, 6, 7, 8, 9, 13, 64, 255, 257];
    private static readonly int[] Columns = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1023, 1025];
    private static readonly int[] Depths = [0, 1, 3, 16, 255, 256, 257, 520];

    public static IEnumerable<object[]> Shapes()
    {
        var random = new Random(2026);
        // The MLP's first layer; single elements; wide and shallow; odd sizes around the tiles. Then the narrow path
        // (at most 16 columns: A read in place, a partial last row group packed) on the output layer's shape and
        // across its 4096-step depth block.
        var shapes = new List<(int M, int N, int K)>
        {
            (64, 256, 784), (1, 1, 1), (257, 1025, 3), (9, 33, 513), (64, 10, 128), (33, 16, 4097), (17, 1, 5000), (48, 3, 4096),
        };
        while (shapes.Count < 40)
        {
            var shape = (Rows[random.Next(Rows.Length)], Columns[random.Next(Columns.Length)], Depths[random.Next(Depths.Length)]);
            if ((long)shape.Item1 * shape.Item2 * Math.Max(shape.Item3, 1) <= 8_000_000 && !shapes.Contains(shape))
            {
                shapes.Add(shape);
            }
        }

        return shapes.Select(s => new object[] { s.M, s.N, s.K });
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(256, 256)]
    [InlineData(257, 129)]
    [InlineData(512, 256)]
    [InlineData(513, 171)]
    [InlineData(784, 196)]
    public void Deep_products_are_cut_into_the_fewest_equal_depth_blocks(int k, int expected)
    {
        var step = Gemm.DepthStep(k);
        Assert.Equal(expected, step);
        Assert.True(step <= Gemm.DepthBlock);
        var blocks = (k + step - 1) / step;
        Assert.Equal((k + Gemm.DepthBlock - 1) / Gemm.DepthBlock, blocks);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_path_and_layout_matches_the_reference(int m, int n, int k)
    {
        var a = Random(m * k, m + n + k);
        var b = Random(k * n, (m * 7) + k);
        var bias = Random(n, n);
        var start = Random(m * n, 5);
        var product = Product(a, b, m, n, k);
        var tolerance = 2e-6 * (k + 4);

        foreach (var path in AcceleratedPaths())
        {
            foreach (var (transposeA, transposeB) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                var storedA = transposeA ? Transpose(a, m, k) : a;
                var storedB = transposeB ? Transpose(b, k, n) : b;
                foreach (var (accumulate, withBias, relu) in new[] { (false, false, false), (true, false, false), (false, true, true), (true, true, true) })
                {
                    var c = accumulate ? start.ToArray() : Enumerable.Repeat(float.NaN, m * n).ToArray();
                    Gemm.ComputeWith(GemmTuning.Default with { Path = path }, storedA, transposeA, storedB, transposeB, c, m, n, k, accumulate, withBias ? bias : default, relu ? GemmActivation.Relu : GemmActivation.None);
                    for (var i = 0; i < m * n; i++)
                    {
                        var expected = product[i] + (accumulate ? start[i] : 0) + (withBias ? bias[i % n] : 0);
                        expected = relu ? Math.Max(expected, 0) : expected;
                        if (!(Math.Abs(expected - c[i]) <= tolerance))
                        {
                            Assert.Fail($"{path}, transposeA={transposeA}, transposeB={transposeB}, accumulate={accumulate}, bias={withBias}, relu={relu}: " +
                                $"c[{i / n}, {i % n}] = {c[i]}, expected {expected}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The kernels' switches each change how a product is computed, never its bits; the shapes under each are those
    /// its two settings compute differently.
    /// </summary>
    public static TheoryData<string, int, int, int> SwitchedShapes() => new()
    {
        // The 6 × 64 tile for products whose width is whole 64-column panels, going by rows (or by depth: on two
        // threads the first shape is split so): rows that leave a partial 6-row group, A read in place and packed,
        // one and several depth blocks.
        { WideTiles, 64, 256, 784 }, { WideTiles, 128, 64, 300 }, { WideTiles, 784, 256, 64 }, { WideTiles, 256, 128, 64 },
        { WideTiles, 70, 64, 1 }, { WideTiles, 200, 192, 257 }, { WideTiles, 257, 64, 520 }, { WideTiles, 64, 64, 1024 }, { WideTiles, 1024, 64, 40 },

        // B packed one panel at a time: a partial last panel, one and several depth blocks, and a product of more than
        // one row block (which packs whole blocks either way).
        { PanelByPanel, 64, 256, 784 }, { PanelByPanel, 64, 784, 256 }, { PanelByPanel, 13, 100, 300 }, { PanelByPanel, 256, 33, 64 }, { PanelByPanel, 300, 64, 40 },

        // Edge tiles written as masked vectors: the narrow path (10 and 3 columns) and partial 32-column panels.
        { MaskedEdges, 64, 10, 128 }, { MaskedEdges, 17, 3, 40 }, { MaskedEdges, 13, 100, 300 }, { MaskedEdges, 70, 47, 9 },

        // A read in place: a partial last row group (packed) after whole ones (in place) through two depth blocks; rows
        // 4 KiB apart (packed); a weight gradient's transposed A (in place), and one whose steps lie 4 KiB apart (packed).
        { AInPlace, 64, 256, 784 }, { AInPlace, 8, 32, 1 }, { AInPlace, 13, 40, 257 }, { AInPlace, 255, 33, 520 }, { AInPlace, 256, 100, 300 },
        { AInPlace, 64, 64, 1024 }, { AInPlace, 784, 256, 64 }, { AInPlace, 1024, 40, 64 }, { AInPlace, 300, 33, 256 },

        // Products deeper than wide and tall, which two threads or more split by depth blocks, against rows or columns.
        { DepthSplit, 64, 256, 784 }, { DepthSplit, 13, 40, 1000 }, { DepthSplit, 100, 17, 2000 },
    };

    private const string WideTiles = "wide tiles", PanelByPanel = "B packed panel by panel", MaskedEdges = "masked edges", AInPlace = "A read in place",
        DepthSplit = "split by depth";

    [Theory]
    [MemberData(nameof(SwitchedShapes))]
    public void Each_kernel_switch_gives_the_same_bits_on_and_off(string setting, int m, int n, int k)
    {
        var off = setting switch
        {
            WideTiles => GemmTuning.Default with { WideTiles = false },
            PanelByPanel => GemmTuning.Default with { PackBPerPanel = false },
            MaskedEdges => GemmTuning.Default with { MaskedEdges = false },
            DepthSplit => GemmTuning.Default with { SplitByDepth = false },
            _ => GemmTuning.Default with { ReadAInPlace = false },
        };
        var (a, b, bias, start) = (Random(m * k, 41), Random(k * n, 42), Random(n, 43), Random(m * n, 44));
        foreach (var (transposeA, transposeB, accumulate, withBias, relu) in new[]
        {
            (false, false, false, false, false), (false, false, true, true, true), (true, false, true, false, false), (false, true, false, true, true), (true, true, true, true, false),
        })
        {
            void Product(GemmTuning tuning, float[] c) =>
                Gemm.ComputeWith(tuning, a, transposeA, b, transposeB, c, m, n, k, accumulate, withBias ? bias : default, relu ? GemmActivation.Relu : GemmActivation.None);
            var (switchedOff, on) = BothWays(off, start, Product);
            Assert.True(switchedOff.SequenceEqual(on), $"{setting}: transposeA={transposeA}, transposeB={transposeB}, accumulate={accumulate}, bias={withBias}, relu={relu}");
        }
    }

    [Theory]
    [InlineData(1, 256, 784)]
    [InlineData(1, 10, 128)]
    [InlineData(2, 17, 1)]
    [InlineData(3, 100, 257)]
    [InlineData(4, 300, 520)]
    [InlineData(1, 64, 0)]
    [InlineData(4, 33, 255)]
    public void Products_of_a_few_rows_give_the_blocked_kernels_bits(int m, int n, int k)
    {
        var (a, b, bias, start) = (Random(m * k, 41), Random(k * n, 42), Random(n, 43), Random(m * n, 44));
        foreach (var path in AcceleratedPaths().Where(p => p != GemmPath.Scalar))
        {
            foreach (var (transposeA, accumulate, withBias, relu) in new[] { (false, false, false, false), (false, true, false, false), (false, false, true, true), (true, true, true, true), (true, false, true, false) })
            {
                var storedA = transposeA ? Transpose(a, m, k) : a;
                void Product(GemmTuning tuning, float[] c) =>
                    Gemm.ComputeWith(tuning with { Path = path }, storedA, transposeA, b, false, c, m, n, k, accumulate, withBias ? bias : default, relu ? GemmActivation.Relu : GemmActivation.None);
                var (off, on) = BothWays(GemmTuning.Default with { SmallRows = false }, start, Product);
                Assert.Equal(off, on);
            }
        }
    }

    /// <summary>
    /// Products at most 16 columns wide take a path of their own on AVX-512. Whatever their depth (a convolution's
    /// weight gradient sums thousands of windows), they give the bits the 256-bit path gives: both sum in the same
    /// depth blocks, so a model trains to the same weights on either instruction set.
    /// </summary>
    [Theory]
    [InlineData(9, 16, 50)]
    [InlineData(9, 16, 4000)]
    [InlineData(144, 10, 1200)]
    [InlineData(64, 10, 128)]
    [InlineData(33, 7, 5000)]
    public void Narrow_products_give_the_same_bits_on_every_vector_width(int m, int n, int k)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            return; // the narrow path runs only here; the other widths are compared with each other elsewhere
        }

        var (a, b, start) = (Random(m * k, 51), Random(k * n, 52), Random(m * n, 53));
        foreach (var (transposeA, accumulate) in new[] { (false, false), (true, false), (true, true) })
        {
            var storedA = transposeA ? Transpose(a, m, k) : a;
            float[] Product(GemmPath path)
            {
                var c = (float[])start.Clone();
                Gemm.ComputeWith(GemmTuning.Default with { Path = path }, storedA, transposeA, b, false, c, m, n, k, accumulate);
                return c;
            }

            Assert.Equal(Product(GemmPath.Vector256), Product(GemmPath.Vector512));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_dense_layer_entry_points_compute_their_products(int m, int n, int k)
    {
        var (x, w) = (Random(m * k, 1), Random(n * k, 2));
        var forward = new float[m * n];
        Gemm.MultiplyTransposed(x, w, forward, m, n, k);
        AssertClose(Product(x, Transpose(w, n, k), m, n, k), forward, k);

        var (dz, input) = (Random(k * m, 3), Random(k * n, 4));
        var gradient = Random(m * n, 5);
        var expected = Product(Transpose(dz, k, m), input, m, n, k).Select((v, i) => v + gradient[i]).ToArray();
        Gemm.MultiplyAddTransposedA(dz, input, gradient, m, n, k);
        AssertClose(expected, gradient, k);

        var (left, right) = (Random(m * k, 6), Random(k * n, 7));
        var overwritten = Enumerable.Repeat(float.NaN, m * n).ToArray();
        Gemm.Multiply(left, right, overwritten, m, n, k);
        AssertClose(Product(left, right, m, n, k), overwritten, k);
    }

    [Fact]
    public void Relu_propagates_nan_and_clamps_negative_zero()
    {
        // A 1×1 by 1×n product: column 0 is NaN, column 1 is -0, column 2 negative; 40 columns reach the vector tiles.
        float[] a = [1f];
        var b = new float[40];
        b[0] = float.NaN;
        b[1] = -0f;
        b[2] = -2f;
        foreach (var path in AcceleratedPaths())
        {
            var c = new float[40];
            Gemm.ComputeWith(GemmTuning.Default with { Path = path }, a, false, b, false, c, 1, 40, 1, accumulate: false, activation: GemmActivation.Relu);
            Assert.True(float.IsNaN(c[0]), $"{path}");
            Assert.False(float.IsNegative(c[1]), $"{path}");
            Assert.Equal(0f, c[2]);
        }
    }

    [Fact]
    public void Shapes_that_disagree_with_the_buffers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyTransposed(new float[6], new float[6], new float[5], 2, 3, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], new float[5], new float[4], 2, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MultiplyAddTransposedA(new float[1], new float[1], new float[1], -1, -1, -1));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], new float[9], new float[6], 2, 3, 3, bias: new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[6], new float[9], new float[6], 2, 3, 3, activation: (GemmActivation)7));
    }

    [Fact]
    public void A_product_allocates_nothing_after_the_first()
    {
        var (a, b) = (Random(64 * 300, 1), Random(300 * 200, 2));
        var c = new float[64 * 200];
        Gemm.Multiply(a, b, c, 64, 200, 300);
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            Gemm.Multiply(a, b, c, 64, 200, 300);
            Gemm.Multiply(a, b, c, 64, 200, 300, b.AsSpan(0, 200), GemmActivation.Relu);
        });
    }

    /// <summary>The product computed from <paramref name="start"/> with a variant switched off, and as shipped.</summary>
    private static (float[] Off, float[] On) BothWays(GemmTuning off, float[] start, Action<GemmTuning, float[]> product)
    {
        var (switchedOff, on) = (start.ToArray(), start.ToArray());
        product(off, switchedOff);
        product(GemmTuning.Default, on);
        return (switchedOff, on);
    }

    internal static IEnumerable<GemmPath> AcceleratedPaths()
    {
        yield return GemmPath.Scalar;
        if (Vector128.IsHardwareAccelerated)
        {
            yield return GemmPath.Vector128;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return GemmPath.Vector256;
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return GemmPath.Vector512;
        }
    }

    /// <summary>The product of a [m×k] and b [k×n], both row-major, in double precision.</summary>
    private static double[] Product(float[] a, float[] b, int m, int n, int k)
    {
        var c = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var p = 0; p < k; p++)
            {
                var scale = (double)a[(i * k) + p];
                for (var j = 0; j < n; j++)
                {
                    c[(i * n) + j] += scale * b[(p * n) + j];
                }
            }
        }

        return c;
    }

    /// <summary>The [cols×rows] transpose of a row-major [rows×cols] matrix.</summary>
    internal static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                result[(c * rows) + r] = matrix[(r * columns) + c];
            }
        }

        return result;
    }

    internal static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (2 * random.NextSingle()) - 1).ToArray();
    }

    private static void AssertClose(IReadOnlyList<double> expected, float[] actual, int k)
    {
        var tolerance = 2e-6 * (k + 4);
        Assert.Equal(expected.Count, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i} is {actual[i]}, expected {expected[i]}");
        }
    }
}
