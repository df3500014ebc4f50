using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The element-by-element passes split over the threads give, value for value, what the one-thread kernels give:
/// lengths below, at and across the parts' boundaries, every activation, in place and not.
/// </summary>
public class ElementwiseTests
{
    public static TheoryData<int> Lengths() => new() { 1, 17, 16_383, 16_384, 16_385, 40_000, 100_003 };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Add_equals_the_scalar_sum(int length)
    {
        var (x, y) = (Random(length, 1), Random(length, 2));
        var z = new float[length];
        Elementwise.Add(x, y, z);
        for (var i = 0; i < length; i++)
        {
            Assert.Equal(x[i] + y[i], z[i]);
        }

        // In place, into one of the terms: the residual gradients' sum.
        Elementwise.Add(x, y, y);
        Assert.Equal(z, y);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Activations_and_their_derivatives_equal_the_one_thread_kernels(int length)
    {
        foreach (var activation in Enum.GetValues<Activation>())
        {
            var alpha = activation == Activation.LeakyRelu ? 0.01f : activation == Activation.Elu ? 1f : 0f;
            var x = Random(length, 3);
            var expected = new float[length];
            Activations.Apply(x, expected, activation, alpha);
            var actual = new float[length];
            Elementwise.Apply(x, actual, activation, alpha);
            Assert.Equal(expected, actual);

            var gradient = Random(length, 4);
            var expectedGradient = (float[])gradient.Clone();
            Activations.ApplyDerivative(x, expected, expectedGradient, activation, alpha);
            Elementwise.ApplyDerivative(x, actual, gradient, activation, alpha);
            Assert.Equal(expectedGradient, gradient);

            // In place, as an activation layer whose input the sum already wrote: y over x.
            Elementwise.Apply(x, x, activation, alpha);
            Assert.Equal(expected, x);
        }
    }

    [Fact]
    public void Derivatives_follow_the_definitions()
    {
        var x = new[] { -2f, -0.5f, 0.5f, 2f };
        var y = new float[4];
        Elementwise.Apply(x, y, Activation.Relu);
        var gradient = new[] { 1f, 1f, 1f, 1f };
        Elementwise.ApplyDerivative(ReadOnlySpan<float>.Empty, y, gradient, Activation.Relu);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f }, gradient);

        Elementwise.Apply(x, y, Activation.Tanh);
        gradient = [1f, 1f, 1f, 1f];
        Elementwise.ApplyDerivative(x, y, gradient, Activation.Tanh);
        Assert.Equal(x.Select(v => 1 - (MathF.Tanh(v) * MathF.Tanh(v))).ToArray(), gradient, (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public void Lengths_that_disagree_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Elementwise.Add(new float[3], new float[4], new float[3]));
        Assert.Throws<ArgumentException>(() => Elementwise.Apply(new float[3], new float[2], Activation.Relu));
        Assert.Throws<ArgumentException>(() => Elementwise.ApplyDerivative(new float[2], new float[3], new float[3], Activation.Gelu));
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 6) - 3)).ToArray();
    }
}
