using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The activations added for classification networks: values against their formulas, derivatives against finite differences, span forms against scalar ones.</summary>
public class ActivationTests
{
    private static readonly float[] Points = [-6f, -2.5f, -1f, -0.3f, -1e-3f, 0f, 1e-3f, 0.3f, 1f, 2.5f, 6f];

    [Fact]
    public void Values_follow_the_formulas()
    {
        foreach (var z in Points)
        {
            var d = (double)z;
            Assert.Equal(z > 0 ? d : 0.2 * d, Activations.LeakyRelu(z, 0.2f), 5);
            Assert.Equal(z > 0 ? d : 0.5 * (Math.Exp(d) - 1), Activations.Elu(z, 0.5f), 5);
            Assert.Equal(0.5 * d * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (d + (0.044715 * d * d * d)))), Activations.Gelu(z), 5);
            Assert.Equal(d / (1 + Math.Exp(-d)), Activations.Silu(z), 5);
        }
    }

    [Fact]
    public void Derivatives_match_central_differences_away_from_the_kinks()
    {
        const double h = 1e-3;
        foreach (var z in Points.Where(p => Math.Abs(p) > 0.01f))
        {
            double Slope(Func<double, double> f) => (f(z + h) - f(z - h)) / (2 * h);
            double LeakyRelu(double v) => v > 0 ? v : 0.2 * v;
            double Elu(double v) => v > 0 ? v : 0.5 * (Math.Exp(v) - 1);
            double Gelu(double v) => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + (0.044715 * v * v * v))));
            double Silu(double v) => v / (1 + Math.Exp(-v));

            // Leaky ReLU and ELU from their outputs, GELU and SiLU from z.
            Assert.Equal(Slope(LeakyRelu), Activations.LeakyReluDerivative(Activations.LeakyRelu(z, 0.2f), 0.2f), 4);
            Assert.Equal(Slope(Elu), Activations.EluDerivative(Activations.Elu(z, 0.5f), 0.5f), 4);
            Assert.Equal(Slope(Gelu), Activations.GeluDerivative(z), 4);
            Assert.Equal(Slope(Silu), Activations.SiluDerivative(z), 4);
        }
    }

    [Fact]
    public void Span_forms_equal_the_scalar_ones()
    {
        // 2,053 values: the GELU passes' chunks of 1,024 and a remainder.
        var z = Enumerable.Range(0, 2053).Select(i => (i - 1026) / 128f).ToArray();
        var dy = Enumerable.Range(0, 2053).Select(i => 1f + (i % 5)).ToArray();

        var leaky = z.ToArray();
        Activations.LeakyRelu(leaky, 0.1f);
        var elu = z.ToArray();
        Activations.Elu(elu, 0.7f);
        var (gelu, silu) = (new float[z.Length], new float[z.Length]);
        Activations.Gelu(z, gelu);
        Activations.Silu(z, silu);

        var (dLeaky, dElu, dGelu, dSilu) = (dy.ToArray(), dy.ToArray(), dy.ToArray(), dy.ToArray());
        Activations.LeakyReluBackward(leaky, dLeaky, 0.1f);
        Activations.EluBackward(elu, dElu, 0.7f);
        Activations.GeluBackward(z, dGelu);
        Activations.SiluBackward(z, dSilu);
        for (var i = 0; i < z.Length; i++)
        {
            Assert.Equal(Activations.LeakyRelu(z[i], 0.1f), leaky[i]);
            Assert.Equal(Activations.Elu(z[i], 0.7f), elu[i]);
            // GELU's span forms take tanh from the vectorized TensorPrimitives.Tanh: within a few ulps of the scalar form.
            Assert.Equal(Activations.Gelu(z[i]), gelu[i], 1e-6 + (1e-6 * Math.Abs(gelu[i])));
            Assert.Equal(Activations.Silu(z[i]), silu[i]);
            Assert.Equal(dy[i] * Activations.LeakyReluDerivative(leaky[i], 0.1f), dLeaky[i]);
            Assert.Equal(dy[i] * Activations.EluDerivative(elu[i], 0.7f), dElu[i]);
            Assert.Equal(dy[i] * Activations.GeluDerivative(z[i]), dGelu[i], 1e-5 + (1e-6 * Math.Abs(dGelu[i])));
            Assert.Equal(dy[i] * Activations.SiluDerivative(z[i]), dSilu[i]);
        }

        Assert.Throws<ArgumentException>(() => Activations.Gelu(z, new float[3]));
    }
}
