using System;
using System.Linq;
using ModelGen.Losses;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Every loss's value and gradient against its formula in doubles, and its behaviour at the edges.</summary>
public class LossTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 10)]
    [InlineData(64, 10)]
    public void Softmax_cross_entropy_matches_its_formula_with_labels_and_with_one_hot_rows(int batch, int classes)
    {
        var random = new Random(batch * classes);
        var logits = Enumerable.Range(0, batch * classes).Select(_ => (random.NextSingle() * 10) - 5).ToArray();
        var labels = Enumerable.Range(0, batch).Select(_ => (float)random.Next(classes)).ToArray();
        var oneHot = new float[batch * classes];
        for (var n = 0; n < batch; n++)
        {
            oneHot[(n * classes) + (int)labels[n]] = 1f;
        }

        var expectedLoss = 0.0;
        var expectedGradient = new double[batch * classes];
        for (var n = 0; n < batch; n++)
        {
            var row = logits.Skip(n * classes).Take(classes).Select(v => (double)v).ToArray();
            var logSum = Math.Log(row.Sum(Math.Exp));
            expectedLoss += (logSum - row[(int)labels[n]]) / batch;
            for (var c = 0; c < classes; c++)
            {
                expectedGradient[(n * classes) + c] = (Math.Exp(row[c] - logSum) - oneHot[(n * classes) + c]) / batch;
            }
        }

        foreach (var targets in new[] { labels, oneHot })
        {
            var gradient = new float[batch * classes];
            var loss = SoftmaxCrossEntropy.ValueAndGradient(logits, targets, gradient, classes);
            Assert.Equal(expectedLoss, loss, 1e-5);
            Assert.Equal(loss, SoftmaxCrossEntropy.Value(logits, targets, classes));
            for (var i = 0; i < gradient.Length; i++)
            {
                Assert.Equal(expectedGradient[i], gradient[i], 1e-6);
            }
        }
    }

    [Fact]
    public void Softmax_cross_entropy_stays_finite_on_huge_logits()
    {
        float[] logits = [1e30f, -1e30f, 0f, 88.7f, 200f, -200f];
        var gradient = new float[6];
        var loss = SoftmaxCrossEntropy.ValueAndGradient(logits, [1f, 0f], gradient, 3);

        Assert.True(float.IsFinite(loss));
        Assert.All(gradient, g => Assert.True(float.IsFinite(g)));
        // Row 0: label 1 has logit −1e30 against a log-sum-exp of 1e30, a loss of 2e30; row 1: label 0 (88.7) against
        // 200, a loss of 111.3. The mean is 1e30; each gradient is (p − y) / 2 with p 0 or 1.
        Assert.Equal(1e30f, loss, 1e24f);
        Assert.Equal([0.5f, -0.5f, 0f, -0.5f, 0.5f, 0f], gradient);
    }

    [Fact]
    public void Confident_predictions_give_no_subnormal_gradients_and_keep_every_gradient_that_matters()
    {
        // Class 2 sits 90 to 110 below the best: exp underflows into the subnormals (below 1.2e-38) and would reach the
        // backward products as such. 30 below gives p ≈ 9e-14, far above the floor, and must stay as computed.
        float[] logits = [0f, -30f, -90f, -110f, 5f, 4f, -100f, 3f];
        var gradient = new float[logits.Length];
        SoftmaxCrossEntropy.ValueAndGradient(logits, [0f, 1f], gradient, 4);

        Assert.DoesNotContain(gradient, float.IsSubnormal);
        Assert.Equal(0f, gradient[2]);
        Assert.Equal(0f, gradient[3]);
        Assert.Equal(0f, gradient[6]);
        var p1 = Math.Exp(-30) / (1 + Math.Exp(-30) + Math.Exp(-90) + Math.Exp(-110));
        Assert.Equal(p1 / 2, gradient[1], p1 * 1e-5);

        float[] binaryLogits = [-95f, 95f, -20f, 0f];
        var binaryGradient = new float[4];
        BinaryCrossEntropy.ValueAndGradient(binaryLogits, [0f, 1f, 0f, 1f], binaryGradient);
        Assert.DoesNotContain(binaryGradient, float.IsSubnormal);
        Assert.Equal([0f, 0f], binaryGradient.Take(2));
        Assert.Equal(1 / (1 + Math.Exp(20)) / 4, binaryGradient[2], 1e-12);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(16)]
    [InlineData(37)]
    public void The_underflow_floor_zeroes_exactly_the_values_below_it(int length)
    {
        var random = new Random(length);
        var floor = ModelGen.Kernels.Underflow.LossGradientFloor;
        var values = Enumerable.Range(0, length).Select(i => (i % 4) switch
        {
            0 => floor * (0.5f + random.NextSingle()),
            1 => -floor * random.NextSingle(),
            2 => 1e-39f * (random.NextSingle() - 0.5f),
            _ => random.NextSingle() - 0.5f,
        }).ToArray();
        var expected = values.Select(v => MathF.Abs(v) < floor ? 0f : v).ToArray();

        ModelGen.Kernels.Underflow.FlushBelow(values, floor);

        Assert.Equal(expected, values);
    }

    [Theory]
    [InlineData(-1f)]
    [InlineData(3f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void Softmax_cross_entropy_rejects_labels_that_are_not_class_indices(float label)
    {
        var error = Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Value(new float[6], [0f, label], 3));
        Assert.Contains("Sample 1", error.Message);
    }

    [Fact]
    public void Binary_cross_entropy_matches_its_formula_and_survives_large_logits()
    {
        float[] logits = [-3f, 0f, 2.5f, 100f, -100f, 30f];
        float[] targets = [0f, 1f, 0.3f, 1f, 0f, 0f];
        var gradient = new float[6];
        var loss = BinaryCrossEntropy.ValueAndGradient(logits, targets, gradient);

        var expected = logits.Select((z, i) =>
        {
            var p = 1 / (1 + Math.Exp(-(double)z));
            var t = targets[i];
            // −t·log p − (1 − t)·log(1 − p), with log(1 − p) = −z − log(1 + e^−z) written stably.
            var logP = -Math.Log(1 + Math.Exp(-(double)z));
            var logOneMinusP = -(double)z + logP;
            return -(t * logP) - ((1 - t) * logOneMinusP);
        }).Average();
        Assert.Equal(expected, loss, 1e-5);
        for (var i = 0; i < 6; i++)
        {
            var p = 1 / (1 + Math.Exp(-(double)logits[i]));
            Assert.Equal((p - targets[i]) / 6, gradient[i], 1e-6);
        }
    }

    [Fact]
    public void Mean_absolute_error_and_huber_match_their_formulas()
    {
        float[] predictions = [0f, 1f, -2f, 4f, 0.5f];
        float[] targets = [0.5f, 1f, 1f, -1f, 0.25f];
        var gradient = new float[5];

        Assert.Equal((0.5 + 0 + 3 + 5 + 0.25) / 5, MeanAbsoluteError.ValueAndGradient(predictions, targets, gradient), 6);
        Assert.Equal([-0.2f, 0f, -0.2f, 0.2f, 0.2f], gradient);

        // δ = 1: |e| = 0.5, 0, 3, 5, 0.25 → ½e², 0, 1·(3 − ½), 1·(5 − ½), ½e²
        var huber = Huber.ValueAndGradient(predictions, targets, gradient, 1f);
        Assert.Equal((0.125 + 0 + 2.5 + 4.5 + 0.03125) / 5, huber, 6);
        Assert.Equal([-0.1f, 0f, -0.2f, 0.2f, 0.05f], gradient);
        Assert.Throws<ArgumentOutOfRangeException>(() => Huber.Value(predictions, targets, 0f));
    }

    [Fact]
    public void Losses_reject_mismatched_lengths()
    {
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Value(new float[6], new float[4], 3));
        Assert.Throws<ArgumentException>(() => BinaryCrossEntropy.Value(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => MeanAbsoluteError.Value(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => Huber.ValueAndGradient(new float[3], new float[3], new float[2], 1f));
    }
}
