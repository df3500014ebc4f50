using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The three dense-layer matrix products against a double-precision reference, on shapes that leave every kind of
/// remainder (rows and columns past the 4×4 tiles, lengths past the last whole vector), through the public entry
/// points and through each vector width directly.
/// </summary>
[Trait("Category", "Kernels")]
public class GemmTests
{
    private static readonly int[] Sizes = [0, 1, 3, 4, 5, 8, 15, 16, 17, 33, 65, 70];

    public static IEnumerable<object[]> Shapes()
    {
        // Every size for m, with n and k drawn from the same list so that all remainders meet.
        var random = new Random(77);
        var shapes = new HashSet<(int, int, int)> { (32, 128, 784), (7, 19, 67) };
        foreach (var m in Sizes)
        {
            while (shapes.Count(s => s.Item1 == m) < 2)
            {
                shapes.Add((m, Sizes[random.Next(Sizes.Length)], Sizes[random.Next(Sizes.Length)]));
            }
        }

        return shapes.Select(s => new object[] { s.Item1, s.Item2, s.Item3 });
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyTransposed_matches_reference(int m, int n, int k)
    {
        var (a, b) = (Random(m * k, 1), Random(n * k, 2));
        var expected = Reference(m, n, k, (i, p) => a[(i * k) + p], (p, j) => b[(j * k) + p]);

        foreach (var (name, kernel) in TransposedPaths(k))
        {
            var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
            kernel(a, b, c, m, n, k);
            AssertClose(expected, c, k, name);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MultiplyAddTransposedA_accumulates_reference(int m, int n, int k)
    {
        var (a, b) = (Random(k * m, 3), Random(k * n, 4));
        var start = Random(m * n, 5);
        var product = Reference(m, n, k, (i, p) => a[(p * m) + i], (p, j) => b[(p * n) + j]);
        var expected = product.Select((v, i) => v + start[i]).ToArray();

        foreach (var (name, kernel) in StridedPaths(n))
        {
            var c = start.ToArray();
            kernel(a, 1, m, b, c, m, n, k);
            AssertClose(expected, c, k, name);
        }

        var viaPublic = start.ToArray();
        Gemm.MultiplyAddTransposedA(a, b, viaPublic, m, n, k);
        AssertClose(expected, viaPublic, k, "public");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Multiply_matches_reference(int m, int n, int k)
    {
        var (a, b) = (Random(m * k, 6), Random(k * n, 7));
        var expected = Reference(m, n, k, (i, p) => a[(i * k) + p], (p, j) => b[(p * n) + j]);

        foreach (var (name, kernel) in StridedPaths(n))
        {
            var c = new float[m * n];
            kernel(a, k, 1, b, c, m, n, k);
            AssertClose(expected, c, k, name);
        }

        var viaPublic = Enumerable.Repeat(float.NaN, m * n).ToArray();
        Gemm.Multiply(a, b, viaPublic, m, n, k);
        AssertClose(expected, viaPublic, k, "public (overwrites)");
    }

    [Fact]
    public void Large_products_use_two_threads_where_there_are_two_cores()
    {
        var expected = Environment.ProcessorCount >= 2 && Environment.GetEnvironmentVariable("MODELGEN_THREADS") != "1" ? 2 : 1;

        Assert.Equal(expected, WorkSplitter.ThreadCount);
    }

    [Theory]
    [InlineData(64, 256, 300)]
    [InlineData(33, 130, 517)]
    [InlineData(32, 784, 128)]
    public void Split_products_equal_the_single_threaded_kernel_bit_for_bit(int m, int n, int k)
    {
        Assert.True((long)m * n * k >= WorkSplitter.MinParallelWork, "the shape is too small to be split");
        var (a, b, bt) = (Random(m * k, 8), Random(n * k, 9), Random(k * n, 10));
        var start = Random(m * n, 11);

        var transposed = new float[m * n];
        Gemm.MultiplyTransposed(a, b, transposed, m, n, k);
        var accumulated = start.ToArray();
        Gemm.MultiplyAddTransposedA(Random(k * m, 12), bt, accumulated, m, n, k);
        var product = new float[m * n];
        Gemm.Multiply(a, bt, product, m, n, k);

        Assert.Equal(SingleThreaded(nameof(Gemm.MultiplyTransposed), a, b, null, m, n, k), transposed);
        Assert.Equal(SingleThreaded(nameof(Gemm.MultiplyAddTransposedA), Random(k * m, 12), bt, start, m, n, k), accumulated);
        Assert.Equal(SingleThreaded(nameof(Gemm.Multiply), a, bt, null, m, n, k), product);
    }

    [Fact]
    public void Concurrent_callers_get_correct_results()
    {
        const int m = 48, n = 200, k = 160;
        var inputs = Enumerable.Range(0, 8).Select(i => (Random(m * k, 100 + i), Random(n * k, 200 + i))).ToArray();
        var expected = inputs.Select(p => SingleThreaded(nameof(Gemm.MultiplyTransposed), p.Item1, p.Item2, null, m, n, k)).ToArray();

        var results = new float[inputs.Length][];
        System.Threading.Tasks.Parallel.For(0, inputs.Length, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            for (var repeat = 0; repeat < 20; repeat++)
            {
                var c = new float[m * n];
                Gemm.MultiplyTransposed(inputs[i].Item1, inputs[i].Item2, c, m, n, k);
                results[i] = c;
            }
        });

        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(expected[i], results[i]);
        }
    }

    /// <summary>The same product through the widest width the public entry point would pick, on one thread.</summary>
    private static float[] SingleThreaded(string product, float[] a, float[] b, float[]? start, int m, int n, int k)
    {
        var c = start?.ToArray() ?? new float[m * n];
        if (product == nameof(Gemm.MultiplyTransposed))
        {
            TransposedKernel kernel = Vector512.IsHardwareAccelerated ? Gemm.MultiplyTransposed<Vector512<float>, Simd512>
                : Vector256.IsHardwareAccelerated ? Gemm.MultiplyTransposed<Vector256<float>, Simd256>
                : Vector128.IsHardwareAccelerated ? Gemm.MultiplyTransposed<Vector128<float>, Simd128>
                : Gemm.MultiplyTransposedScalar;
            kernel(a, b, c, m, n, k);
            return c;
        }

        StridedKernel strided = Vector512.IsHardwareAccelerated ? Gemm.MultiplyAdd<Vector512<float>, Simd512>
            : Vector256.IsHardwareAccelerated ? Gemm.MultiplyAdd<Vector256<float>, Simd256>
            : Vector128.IsHardwareAccelerated ? Gemm.MultiplyAdd<Vector128<float>, Simd128>
            : Gemm.MultiplyAddScalar;
        if (product == nameof(Gemm.Multiply))
        {
            strided(a, k, 1, b, c, m, n, k);
        }
        else
        {
            strided(a, 1, m, b, c, m, n, k);
        }

        return c;
    }

    [Fact]
    public void Shapes_that_disagree_with_the_buffers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyTransposed(new float[6], new float[6], new float[5], 2, 3, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], new float[5], new float[4], 2, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MultiplyAddTransposedA(new float[1], new float[1], new float[1], -1, -1, -1));
    }

    private delegate void TransposedKernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k);

    private delegate void StridedKernel(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k);

    private static IEnumerable<(string, TransposedKernel)> TransposedPaths(int k)
    {
        yield return ("public", Gemm.MultiplyTransposed);
        yield return ("scalar", Gemm.MultiplyTransposedScalar);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", Gemm.MultiplyTransposed<Vector128<float>, Simd128>);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", Gemm.MultiplyTransposed<Vector256<float>, Simd256>);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", Gemm.MultiplyTransposed<Vector512<float>, Simd512>);
        }
    }

    private static IEnumerable<(string, StridedKernel)> StridedPaths(int n)
    {
        yield return ("scalar", Gemm.MultiplyAddScalar);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", Gemm.MultiplyAdd<Vector128<float>, Simd128>);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", Gemm.MultiplyAdd<Vector256<float>, Simd256>);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", Gemm.MultiplyAdd<Vector512<float>, Simd512>);
        }
    }

    private static double[] Reference(int m, int n, int k, Func<int, int, float> a, Func<int, int, float> b)
    {
        var c = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0.0;
                for (var p = 0; p < k; p++)
                {
                    sum += (double)a(i, p) * b(p, j);
                }

                c[(i * n) + j] = sum;
            }
        }

        return c;
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (2 * random.NextSingle()) - 1).ToArray();
    }

    private static void AssertClose(IReadOnlyList<double> expected, float[] actual, int k, string path)
    {
        // Float sums of k products of values in [-1, 1]: rounding grows with k.
        var tolerance = 1e-5 * (k + 1);
        Assert.Equal(expected.Count, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{path}: element {i} is {actual[i]}, expected {expected[i]}");
        }
    }
}
