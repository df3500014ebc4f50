using System;
using System.Linq;
using System.Text.RegularExpressions;
using ModelGen.Samples.LinearRegression;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The founding example end to end: what <c>Samples/LinearRegression</c> computes and prints.</summary>
public class LinearRegressionSampleTests
{
    private static readonly Lazy<ExampleResult> Result = new(() => Example.Run(seed: 42));

    [Fact]
    public void Learns_the_line_y_equals_3x_plus_one_half()
    {
        var result = Result.Value;

        Assert.InRange(result.Weight, 2.9f, 3.1f);
        Assert.InRange(result.Bias, 0.35f, 0.65f);
        // The noise U[0, 1) has variance 1/12: a fitted line cannot do much better, nor should it do worse.
        Assert.InRange(result.Loss, 0.05f, 0.12f);
    }

    [Fact]
    public void Converges_to_the_least_squares_line_of_its_data()
    {
        var data = Example.MakeData(seed: 42);
        var x = data.Features.ToArray().Select(v => (double)v).ToArray();
        var y = data.Targets.ToArray().Select(v => (double)v).ToArray();
        double meanX = x.Average(), meanY = y.Average();
        var slope = x.Zip(y, (a, b) => (a - meanX) * (b - meanY)).Sum() / x.Sum(a => (a - meanX) * (a - meanX));
        var intercept = meanY - (slope * meanX);

        Assert.Equal(slope, Result.Value.Weight, 0.02);
        Assert.Equal(intercept, Result.Value.Bias, 0.02);
    }

    [Fact]
    public void Prints_its_result_in_the_documented_format()
    {
        Assert.Matches(new Regex(@"^w=-?\d+\.\d{4} b=-?\d+\.\d{4} loss=\d+\.\d{4}$"), Result.Value.ToString());
    }
}
