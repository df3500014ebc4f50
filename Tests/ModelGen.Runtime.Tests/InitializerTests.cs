using System;
using System.Linq;
using ModelGen.Initializers;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Each initializer's range and variance, measured on many draws.</summary>
public class InitializerTests
{
    [Theory]
    [InlineData(Initializer.GlorotUniform, 2.0 / (300 + 100), 1.7320508)]
    [InlineData(Initializer.HeUniform, 2.0 / 300, 1.7320508)]
    [InlineData(Initializer.LecunUniform, 1.0 / 300, 1.7320508)]
    [InlineData(Initializer.GlorotNormal, 2.0 / (300 + 100), 2 / 0.8796)]
    [InlineData(Initializer.HeNormal, 2.0 / 300, 2 / 0.8796)]
    [InlineData(Initializer.LecunNormal, 1.0 / 300, 2 / 0.8796)]
    public void Weights_have_the_named_variance_and_stay_in_range(Initializer kind, double variance, double reachInDeviations)
    {
        // Uniform on ±l has variance l²/3, so l = √3·σ; the truncated normals stop at 2σ of the unscaled normal.
        var weights = new float[120_000];
        var random = new SeededRandom(11);
        WeightInitializer.Fill(weights, kind, fanIn: 300, fanOut: 100, ref random);

        var mean = weights.Average(w => (double)w);
        var measured = weights.Average(w => ((double)w - mean) * (w - mean));
        var reach = reachInDeviations * Math.Sqrt(variance);
        Assert.Equal(0, mean, 3e-3 * Math.Sqrt(variance) * 10);
        Assert.InRange(measured, 0.98 * variance, 1.02 * variance);
        Assert.All(weights, w => Assert.InRange(w, -reach * 1.0001, reach * 1.0001));
        Assert.True(weights.Max() > 0.97 * reach, "the draws do not reach the edge of the range");
    }

    [Fact]
    public void Auto_and_undefined_kinds_are_rejected_at_run_time()
    {
        var random = new SeededRandom(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightInitializer.Fill(new float[4], Initializer.Auto, 2, 2, ref random));
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightInitializer.Fill(new float[4], (Initializer)99, 2, 2, ref random));
    }
}
