using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Every kernel against a plain scalar reference, over lengths 0 … 4 vectors + 1 so every remainder is hit. The
/// vector paths are also run one by one where the processor has them; CI re-runs this class with AVX-512, AVX2 and
/// all intrinsics switched off.
/// </summary>
[Trait("Category", "Kernels")]
public class KernelTests
{
    public static IEnumerable<object[]> Lengths() => Enumerable.Range(0, (4 * 16) + 2).Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Backward_activations_match_scalar_reference(int length)
    {
        var (y, dy) = RandomPair(length, seed: length);
        foreach (var (name, kernel, reference) in BackwardKernels())
        {
            var actual = dy.ToArray();
            kernel(y, actual);
            var expected = dy.Select((g, i) => reference(y[i], g)).ToArray();
            AssertClose(expected, actual, 1e-6f, name);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Every_vector_width_of_the_gradient_kernel_matches_scalar(int length)
    {
        var (y, dy) = RandomPair(length, seed: 1000 + length);
        var expected = dy.ToArray();
        GradientKernel.Apply<Activations.TanhGradient, float, Simd1>(y, expected);

        var paths = new List<(string, bool, GradientPath)>
        {
            ("Vector128", Vector128.IsHardwareAccelerated, GradientKernel.Apply<Activations.TanhGradient, Vector128<float>, Simd128>),
            ("Vector256", Vector256.IsHardwareAccelerated, GradientKernel.Apply<Activations.TanhGradient, Vector256<float>, Simd256>),
            ("Vector512", Vector512.IsHardwareAccelerated, GradientKernel.Apply<Activations.TanhGradient, Vector512<float>, Simd512>),
        };
        foreach (var (name, accelerated, path) in paths)
        {
            if (!accelerated)
            {
                continue;
            }

            var actual = dy.ToArray();
            path(y, actual);
            Assert.True(expected.SequenceEqual(actual), name);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Forward_activations_match_scalar_reference(int length)
    {
        var (z, _) = RandomPair(length, seed: 2000 + length, scale: 6);
        var cases = new (string, Action<float[]>, Func<double, double>)[]
        {
            ("Relu", v => Activations.Relu(v), v => Math.Max(0, v)),
            ("Sigmoid", v => Activations.Sigmoid(v), v => 1 / (1 + Math.Exp(-v))),
            ("Tanh", v => Activations.Tanh(v), Math.Tanh),
        };
        foreach (var (name, kernel, reference) in cases)
        {
            var actual = z.ToArray();
            kernel(actual);
            AssertClose(z.Select(v => (float)reference(v)).ToArray(), actual, 2e-6f, name);
        }
    }

    [Fact]
    public void Relu_keeps_nan_so_divergence_is_seen()
    {
        float[] values = [float.NaN, -1, 2];
        Activations.Relu(values);

        Assert.True(float.IsNaN(values[0]));
        Assert.True(float.IsNaN(Activations.Relu(float.NaN)));
        Assert.Equal([0f, 2f], values[1..]);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Blas_matches_scalar_reference(int length)
    {
        var (x, y) = RandomPair(length, seed: 3000 + length);

        var dot = x.Select((v, i) => (double)v * y[i]).Sum();
        Assert.Equal(dot, Blas.Dot(x, y), 1e-4);

        var axpy = y.ToArray();
        Blas.Axpy(-0.75f, x, axpy);
        AssertClose(y.Select((v, i) => v + (-0.75f * x[i])).ToArray(), axpy, 1e-6f, "Axpy");

        var add = y.ToArray();
        Blas.Add(x, add);
        AssertClose(y.Select((v, i) => v + x[i]).ToArray(), add, 1e-6f, "Add");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Mean_squared_error_matches_scalar_reference(int length)
    {
        if (length == 0)
        {
            Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError.Value([], []));
            return;
        }

        var (predictions, targets) = RandomPair(length, seed: 4000 + length);
        var expected = predictions.Select((p, i) => Math.Pow(p - targets[i], 2)).Average();
        var gradient = new float[length];

        Assert.Equal(expected, Losses.MeanSquaredError.Value(predictions, targets), 1e-5);
        Assert.Equal(expected, Losses.MeanSquaredError.ValueAndGradient(predictions, targets, gradient), 1e-5);
        AssertClose(predictions.Select((p, i) => 2 * (p - targets[i]) / length).ToArray(), gradient, 1e-6f, "gradient");
    }

    [Fact]
    public void Kernels_reject_mismatched_lengths()
    {
        Assert.Throws<ArgumentException>(() => Activations.ReluBackward(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError.Value(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => Losses.MeanSquaredError.ValueAndGradient(new float[3], new float[3], new float[2]));
    }

    /// <summary>
    /// Makes sure a CI run that switches instruction sets off really ran without them: CI sets
    /// <c>MODELGEN_EXPECT_ISA</c> together with the <c>DOTNET_Enable…</c> switches.
    /// </summary>
    [Fact]
    public void Instruction_sets_are_those_the_run_expects()
    {
        var expected = Environment.GetEnvironmentVariable("MODELGEN_EXPECT_ISA");
        var actual = Vector512.IsHardwareAccelerated ? "avx512"
            : Vector256.IsHardwareAccelerated ? "avx2"
            : Vector128.IsHardwareAccelerated ? "sse"
            : "scalar";
        if (expected is not null)
        {
            Assert.Equal(expected, actual);
        }
    }

    private delegate void GradientPath(ReadOnlySpan<float> y, Span<float> dy);

    private static IEnumerable<(string, Action<float[], float[]>, Func<float, float, float>)> BackwardKernels()
    {
        yield return ("ReluBackward", (y, g) => Activations.ReluBackward(y, g), (y, g) => y > 0 ? g : 0);
        yield return ("SigmoidBackward", (y, g) => Activations.SigmoidBackward(y, g), (y, g) => g * y * (1 - y));
        yield return ("TanhBackward", (y, g) => Activations.TanhBackward(y, g), (y, g) => g * (1 - (y * y)));
    }

    private static (float[], float[]) RandomPair(int length, int seed, float scale = 1)
    {
        var random = new Random(seed);
        var a = Enumerable.Range(0, length).Select(_ => scale * ((2 * random.NextSingle()) - 1)).ToArray();
        var b = Enumerable.Range(0, length).Select(_ => (2 * random.NextSingle()) - 1).ToArray();
        return (a, b);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}] of {expected.Length}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
