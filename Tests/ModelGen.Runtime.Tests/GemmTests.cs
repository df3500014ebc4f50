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

        foreach (var (name, kernel) in TransposedPaths())
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

        foreach (var (name, kernel) in StridedPaths())
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

        foreach (var (name, kernel) in StridedPaths())
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
    public void Shapes_that_disagree_with_the_buffers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyTransposed(new float[6], new float[6], new float[5], 2, 3, 3));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], new float[5], new float[4], 2, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MultiplyAddTransposedA(new float[1], new float[1], new float[1], -1, -1, -1));
    }

    internal delegate void TransposedKernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k);

    internal delegate void StridedKernel(ReadOnlySpan<float> a, int rowStride, int columnStride, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k);

    private static IEnumerable<(string, TransposedKernel)> TransposedPaths()
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

    private static IEnumerable<(string, StridedKernel)> StridedPaths()
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

    internal static float[] Random(int length, int seed)
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
