using System;
using System.Linq;
using ModelGen.Kernels;
using ModelGen.Quantization;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Post-training quantization: weights per unit (symmetric int8), activations to 7-bit levels with a zero point
/// (per row at run time, or with calibrated parameters), the calibrator's min/max and percentile ranges against
/// hand-computed cases, and a quantized dense layer against the float product within the error quantization allows.
/// </summary>
[Trait("Category", "Kernels")]
public class Int8QuantizationTests
{
    [Fact]
    public void Each_unit_is_scaled_so_that_its_largest_weight_is_127()
    {
        // W [3 inputs × 4 units]; unit 1 is all zeros.
        float[] w =
        [
            0.3f, 0f, 2.54f, -0.0011f,
            -1.0f, 0f, 1.0f, 0.002f,
            0.25f, 0f, 0f, 0.0004f,
        ];
        var quantized = QuantizedWeights.Quantize(w, inputs: 3, units: 4);

        Assert.Equal([1f / 127, 0f, 2.54f / 127, 0.002f / 127], quantized.Scales.ToArray());
        sbyte[,] expected = { { 38, 0, 127, -70 }, { -127, 0, 50, 127 }, { 32, 0, 0, 25 } };   // 0.3·127 = 38.1, 0.25·127 = 31.75, …
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                Assert.Equal(expected[i, j], quantized[i, j]);
            }
        }

        Assert.Equal([38 - 127 + 32, 0, 177, -70 + 127 + 25], quantized.ColumnSums.ToArray());
        var back = new float[12];
        quantized.Dequantize(back);
        Assert.Equal([0f, 0f, 0f], [back[1], back[5], back[9]]);
    }

    [Fact]
    public void Weights_come_back_within_half_a_step_of_their_unit()
    {
        const int inputs = 67, units = 35;
        var random = new Random(21);
        // Units of very different magnitudes: per-unit scales keep each one's resolution.
        var w = Enumerable.Range(0, inputs * units).Select(e => (random.NextSingle() - 0.5f) * MathF.Pow(10, (e % units % 5) - 3)).ToArray();
        var quantized = QuantizedWeights.Quantize(w, inputs, units);
        var back = new float[w.Length];
        quantized.Dequantize(back);

        for (var j = 0; j < units; j++)
        {
            var scale = quantized.Scales[j];
            var column = Enumerable.Range(0, inputs).Select(i => (i * units) + j).ToArray();
            Assert.Equal(column.Max(e => Math.Abs(w[e])) / 127, scale);
            Assert.Equal(127, column.Max(e => Math.Abs((int)quantized[e / units, j])));
            Assert.Equal(column.Sum(e => quantized[e / units, j]), quantized.ColumnSums[j]);
            Assert.All(column, e => Assert.True(Math.Abs(back[e] - w[e]) <= scale * 0.5f * 1.0001f, $"weight {e}: {w[e]} came back as {back[e]}, step {scale}"));
        }
    }

    [Fact]
    public void Weights_are_checked()
    {
        Assert.Throws<ArgumentException>(() => QuantizedWeights.Quantize([1f, float.NaN], 1, 2));
        Assert.Throws<ArgumentException>(() => QuantizedWeights.Quantize([1f, 2f, 3f], 2, 2));
        Assert.Throws<ArgumentException>(() => QuantizedWeights.FromInt8([1, 2], [1f, -1f], 1, 2));
        Assert.Throws<ArgumentException>(() => QuantizedWeights.FromInt8([1, 2], [1f], 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantizedWeights.Quantize([], Int8Gemm.MaxDepth + 1, 0));

        var exact = QuantizedWeights.FromInt8([-128, 127, 5, -7], [0.5f, 0.25f], 2, 2);
        Assert.Equal(-128, exact[0, 0]);
        Assert.Equal(-7, exact[1, 1]);
        Assert.Equal([-123, 120], exact.ColumnSums.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => exact[2, 0]);
        Assert.Equal(0, Address(exact.Packed) % 64);
    }

    [Theory]
    [InlineData(0f, 12.7f, 0.1f, 0)]
    [InlineData(-2.54f, 10.16f, 0.1f, 25)] // −lo / scale = 25.4
    [InlineData(-12.7f, -1f, 0.1f, 127)] // the range widens to include 0: [−12.7, 0]
    [InlineData(2f, 5f, 5f / 127, 0)] // … and [0, 5]
    [InlineData(-1f, 1.54f, 0.02f, 50)]
    [InlineData(0f, 0f, 1f, 0)] // nothing to spread: every value maps to zero
    public void A_range_gives_its_scale_and_zero_point(float min, float max, float scale, int zeroPoint)
    {
        var parameters = QuantizationParameters.FromRange(min, max);
        Assert.Equal(scale, parameters.Scale, 1e-6f);
        Assert.Equal(zeroPoint, parameters.ZeroPoint);
        Assert.Equal(0f, parameters.Dequantize(parameters.Quantize(0f)));
    }

    [Fact]
    public void Ranges_are_checked()
    {
        Assert.Throws<ArgumentException>(() => QuantizationParameters.FromRange(float.NaN, 1f));
        Assert.Throws<ArgumentException>(() => QuantizationParameters.FromRange(0f, float.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => QuantizationParameters.FromRange(2f, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuantizationParameters.FromRange(-float.MaxValue, float.MaxValue));
    }

    [Fact]
    public void Activations_come_back_within_half_a_step_and_clamp_outside_their_range()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var (a, b) = ((random.NextSingle() - 0.7f) * 10, (random.NextSingle() - 0.3f) * 10);
            var (min, max) = (Math.Min(a, b), Math.Max(a, b));
            var parameters = QuantizationParameters.FromRange(min, max);
            for (var s = 0; s <= 100; s++)
            {
                var x = min + ((max - min) * s / 100);
                var back = parameters.Dequantize(parameters.Quantize(x));
                Assert.True(Math.Abs(back - x) <= parameters.Scale * 0.5f * 1.0001f, $"[{min}, {max}]: {x} came back as {back}, step {parameters.Scale}");
            }

            Assert.Equal(0, parameters.Quantize(Math.Min(min, 0f) - (3 * parameters.Scale)));
            Assert.Equal(QuantizationParameters.MaxLevel, parameters.Quantize(Math.Max(max, 0f) + (3 * parameters.Scale)));
        }
    }

    [Fact]
    public void Vector_and_scalar_quantization_give_the_same_levels()
    {
        var parameters = QuantizationParameters.FromRange(-1.3f, 2.9f);
        var random = new Random(9);
        for (var length = 0; length <= 100; length++)
        {
            // Values beyond the range too, and exact halves of a step (ties round to even).
            var values = Enumerable.Range(0, length).Select(i => i % 7 == 0 ? (i / 7 % 9 - 4 + 0.5f) * parameters.Scale : (random.NextSingle() - 0.4f) * 6).ToArray();
            var levels = new byte[length];
            ActivationQuantizer.Quantize(values, parameters, levels);
            Assert.Equal(values.Select(parameters.Quantize), levels);
        }
    }

    [Fact]
    public void Dynamic_quantization_takes_each_row_from_its_own_range()
    {
        const int rows = 5, columns = 37;
        var random = new Random(13);
        var values = Enumerable.Range(0, rows * columns).Select(e => (random.NextSingle() - (e / columns * 0.2f)) * (e / columns + 1)).ToArray();
        values[columns * 4] = 50f; // an outlier in the last row coarsens that row only
        var (levels, scales, zeroPoints) = (new byte[values.Length], new float[rows], new int[rows]);
        ActivationQuantizer.QuantizeRows(values, columns, levels, scales, zeroPoints);

        for (var i = 0; i < rows; i++)
        {
            var row = values.AsSpan(i * columns, columns);
            var parameters = QuantizationParameters.FromRange(row.ToArray().Min(), row.ToArray().Max());
            Assert.Equal(parameters, new QuantizationParameters(scales[i], zeroPoints[i]));
            Assert.Equal(row.ToArray().Select(parameters.Quantize), levels.AsSpan(i * columns, columns).ToArray());
        }

        var tensor = new byte[values.Length];
        var whole = ActivationQuantizer.QuantizeDynamic(values, tensor);
        Assert.Equal(QuantizationParameters.FromRange(values.Min(), values.Max()), whole);
        Assert.Equal(values.Select(whole.Quantize), tensor);

        Assert.Throws<ArgumentException>(() => ActivationQuantizer.QuantizeRows(values, columns, levels, new float[rows - 1], zeroPoints));
        Assert.Throws<ArgumentException>(() => ActivationQuantizer.QuantizeRows([1f, float.NaN], 2, new byte[2], new float[1], new int[1]));
    }

    [Fact]
    public void The_calibrator_keeps_the_running_minimum_and_maximum()
    {
        var calibrator = new ActivationCalibrator();
        calibrator.Observe([-1f, 2f]);
        calibrator.Observe([]);
        calibrator.Observe([0.5f, 3f, 0f]);

        Assert.Equal((-1f, 3f, 5L), (calibrator.Min, calibrator.Max, calibrator.Count));
        Assert.Equal(QuantizationParameters.FromRange(-1f, 3f), calibrator.MinMax());
    }

    [Fact]
    public void A_percentile_clips_a_rare_outlier()
    {
        // 100 bins over [0, 100): 9,999 values in the first, one outlier at 100 in the last.
        var calibrator = new ActivationCalibrator(bins: 100);
        calibrator.Observe([.. Enumerable.Repeat(0.5f, 9_999), 100f]);

        Assert.Equal(100f, calibrator.HistogramRange);
        Assert.Equal(1f, calibrator.AbsolutePercentile(99.99)); // 9,999 of 10,000 values lie in [0, 1)
        Assert.Equal(100f, calibrator.AbsolutePercentile(100));
        Assert.Equal(QuantizationParameters.FromRange(0.5f, 1f), calibrator.Percentile(99.99));
        Assert.Equal(QuantizationParameters.FromRange(0.5f, 100f), calibrator.MinMax());
    }

    [Fact]
    public void The_histogram_doubles_its_range_by_merging_bins_in_pairs()
    {
        var calibrator = new ActivationCalibrator(bins: 8);
        calibrator.Observe([-3f, 1f, 2f]); // range 3, bins 0.375 wide: |x| in bins 7, 2, 5
        calibrator.Observe([6f, 0.1f]); // range 6 (bins 0.75): the three move to bins 3, 1, 2; 6 → 7, 0.1 → 0

        Assert.Equal(6f, calibrator.HistogramRange);
        Assert.Equal(1.5f, calibrator.AbsolutePercentile(40)); // 2 of 5 values: bins 0 and 1
        Assert.Equal(3f, calibrator.AbsolutePercentile(80)); // 4 of 5: up to bin 3
        Assert.Equal(6f, calibrator.AbsolutePercentile(100));
        Assert.Equal(QuantizationParameters.FromRange(-3f, 3f), calibrator.Percentile(80));

        calibrator.Observe([25f]); // three doublings to 48 (bins 6 wide): everything before in bin 0, 25 in bin 4
        Assert.Equal(48f, calibrator.HistogramRange);
        Assert.Equal(6f, calibrator.AbsolutePercentile(50));
        Assert.Equal(25f, calibrator.AbsolutePercentile(100)); // bin 4 ends at 30, beyond the largest value
    }

    [Fact]
    public void Zeros_before_the_first_non_zero_value_stay_in_the_first_bin()
    {
        var calibrator = new ActivationCalibrator(bins: 8);
        calibrator.Observe([0f, 0f, 0f]);
        Assert.Equal(0f, calibrator.HistogramRange);
        Assert.Equal(new QuantizationParameters(1f, 0), calibrator.Percentile());

        calibrator.Observe([4f]);
        Assert.Equal(0.5f, calibrator.AbsolutePercentile(75));
        Assert.Equal(4f, calibrator.AbsolutePercentile(100));
    }

    [Fact]
    public void The_calibrator_is_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationCalibrator(bins: 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationCalibrator(bins: 0));
        var calibrator = new ActivationCalibrator();
        Assert.Throws<InvalidOperationException>(() => calibrator.MinMax());
        Assert.Throws<InvalidOperationException>(() => calibrator.Percentile());
        Assert.Throws<ArgumentException>(() => calibrator.Observe([1f, float.NaN]));
        calibrator.Observe([1f]);
        Assert.Throws<ArgumentOutOfRangeException>(() => calibrator.AbsolutePercentile(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => calibrator.AbsolutePercentile(100.5));
    }

    /// <summary>
    /// The int8 layer's outputs against the float product: each input is off by at most half its row's step sA/2 and
    /// each weight by half its unit's sB/2, so an output is off by at most Σᵢ (sA/2·|wᵢ| + |xᵢ|·sB/2 + sA·sB/4). And
    /// since the integer part is exact, the output is the product of the dequantized values up to float rounding.
    /// </summary>
    [Theory]
    [InlineData(7, 70, 33, false)]
    [InlineData(3, 784, 256, true)] // the Fashion MLP's first layer
    [InlineData(1, 128, 10, false)]
    public void An_int8_dense_layer_agrees_with_the_float_product_within_the_quantization_error(int batch, int inputs, int units, bool relu)
    {
        var random = new Random(inputs + units);
        var x = Enumerable.Range(0, batch * inputs).Select(_ => (random.NextSingle() - 0.3f) * 2).ToArray();
        var w = Enumerable.Range(0, inputs * units).Select(_ => (random.NextSingle() - 0.5f) * 0.2f).ToArray();
        var bias = Enumerable.Range(0, units).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var activation = relu ? GemmActivation.Relu : GemmActivation.None;

        var calibrator = new ActivationCalibrator();
        calibrator.Observe(x);
        foreach (var inputQuantization in new QuantizationParameters?[] { null, calibrator.MinMax() })
        {
            var layer = QuantizedDense.Quantize(w, bias, inputs, units, activation, inputQuantization);
            var y = new float[batch * units];
            layer.Forward(x, y);

            var weightsBack = new float[w.Length];
            layer.Weights.Dequantize(weightsBack);
            for (var n = 0; n < batch; n++)
            {
                var row = x.AsSpan(n * inputs, inputs).ToArray();
                var parameters = inputQuantization ?? QuantizationParameters.FromRange(row.Min(), row.Max());
                var rowBack = row.Select(v => (double)parameters.Dequantize(parameters.Quantize(v))).ToArray();
                for (var j = 0; j < units; j++)
                {
                    double exact = bias[j], quantized = bias[j], bound = 0, magnitude = Math.Abs(bias[j]);
                    var weightScale = layer.Weights.Scales[j];
                    for (var i = 0; i < inputs; i++)
                    {
                        var wij = w[(i * units) + j];
                        exact += (double)row[i] * wij;
                        quantized += rowBack[i] * weightsBack[(i * units) + j];
                        bound += (parameters.Scale / 2.0 * Math.Abs(wij)) + (Math.Abs(row[i]) * weightScale / 2.0) + (parameters.Scale * weightScale / 4.0);
                        magnitude += Math.Abs(rowBack[i] * weightsBack[(i * units) + j]);
                    }

                    var actual = y[(n * units) + j];
                    (exact, quantized) = relu ? (Math.Max(exact, 0), Math.Max(quantized, 0)) : (exact, quantized);
                    Assert.True(Math.Abs(actual - quantized) <= 1e-6 * magnitude, $"sample {n}, unit {j}: {actual} against the dequantized product {quantized}");
                    Assert.True(Math.Abs(actual - exact) <= (bound * 1.0001) + (1e-6 * magnitude), $"sample {n}, unit {j}: {actual} against {exact}, bound {bound}");
                }
            }
        }
    }

    [Fact]
    public void A_sample_alone_gets_the_outputs_it_gets_in_a_batch()
    {
        const int batch = 9, inputs = 50, units = 20;
        var random = new Random(17);
        var x = Enumerable.Range(0, batch * inputs).Select(_ => random.NextSingle() * 3).ToArray();
        var w = Enumerable.Range(0, inputs * units).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var layer = QuantizedDense.Quantize(w, new float[units], inputs, units, GemmActivation.Relu);
        var all = new float[batch * units];
        layer.Forward(x, all);

        var one = new float[units];
        for (var n = 0; n < batch; n++)
        {
            layer.Forward(x.AsSpan(n * inputs, inputs), one);
            Assert.Equal(all.AsSpan(n * units, units).ToArray(), one);
        }
    }

    [Fact]
    public void A_quantized_forward_pass_allocates_nothing_once_warm()
    {
        const int inputs = 784, units = 256;
        var random = new Random(3);
        var w = Enumerable.Range(0, inputs * units).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var dynamic = QuantizedDense.Quantize(w, new float[units], inputs, units, GemmActivation.Relu);
        var fixedRange = QuantizedDense.Quantize(w, [], inputs, units, inputQuantization: QuantizationParameters.FromRange(0f, 1f));
        foreach (var batch in new[] { 1, 32 })
        {
            var x = Enumerable.Range(0, batch * inputs).Select(_ => random.NextSingle()).ToArray();
            var y = new float[batch * units];
            AllocationAssert.NoneAfterWarmUp(() =>
            {
                dynamic.Forward(x, y);
                fixedRange.Forward(x, y);
            });
        }
    }

    private static unsafe nint Address(ReadOnlySpan<sbyte> span)
    {
        fixed (sbyte* pointer = span)
        {
            return (nint)pointer;
        }
    }
}
