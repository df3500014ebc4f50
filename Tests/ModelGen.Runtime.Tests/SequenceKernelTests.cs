using System;
using System.Linq;
using ModelGen.Kernels;
using ModelGen.Losses;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Token and positional embeddings and the sequence cross-entropy: values, gradients against central differences,
/// refused inputs and allocations.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class SequenceKernelTests
{
    private const int Vocabulary = 11, Dim = 5;

    [Fact]
    public void Embedding_gathers_rows_and_its_gradient_matches_central_differences()
    {
        int[] ids = [3, 0, 10, 3, 7, 3];
        var table = GemmTests.Random(Vocabulary * Dim, 1);
        var weights = GemmTests.Random(ids.Length * Dim, 2);
        var output = new float[ids.Length * Dim];
        Embedding.Forward(ids, table, Dim, output);
        for (var n = 0; n < ids.Length; n++)
        {
            Assert.Equal(table.AsSpan(ids[n] * Dim, Dim).ToArray(), output.AsSpan(n * Dim, Dim).ToArray());
        }

        var gradient = Enumerable.Repeat(float.NaN, table.Length).ToArray();
        Embedding.Backward(ids, weights, gradient, Dim);

        // L = Σ y ⊙ W, in double, differentiated numerically at every table entry.
        double Loss(double[] e) => ids.SelectMany((id, n) => Enumerable.Range(0, Dim).Select(d => e[(id * Dim) + d] * weights[(n * Dim) + d])).Sum();
        AssertMatchesCentralDifferences(table, Loss, gradient);
    }

    [Fact]
    public void Positional_embedding_adds_its_table_to_every_sequence_and_sums_the_gradient_over_them()
    {
        const int batch = 3, positions = 4;
        var table = GemmTests.Random(positions * Dim, 3);
        var x = GemmTests.Random(batch * positions * Dim, 4);
        var y = x.ToArray();
        Embedding.AddPositions(y, table);
        Assert.Equal(x.Select((v, i) => v + table[i % table.Length]).ToArray(), y);

        var weights = GemmTests.Random(y.Length, 5);
        var gradient = new float[table.Length];
        Embedding.PositionsBackward(weights, gradient);
        double Loss(double[] p) => x.Select((v, i) => (v + p[i % p.Length]) * weights[i]).Sum();
        AssertMatchesCentralDifferences(table, Loss, gradient);
    }

    [Fact]
    public void Embeddings_refuse_ids_outside_the_vocabulary_and_lengths_that_do_not_fit()
    {
        var table = new float[Vocabulary * Dim];
        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward([1, 11], table, Dim, new float[2 * Dim]));
        Assert.Contains("Token 1's id is 11, outside the vocabulary of 11", outside.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Backward([-1], new float[Dim], table, Dim));
        Assert.Throws<ArgumentException>(() => Embedding.Forward([1], table, Dim, new float[Dim + 1]));
        Assert.Throws<ArgumentException>(() => Embedding.Forward([1], table.AsSpan(1), Dim, new float[Dim]));
        Assert.Throws<ArgumentException>(() => Embedding.AddPositions(new float[7], new float[2]));
        Assert.Throws<ArgumentException>(() => Embedding.PositionsBackward(new float[0], new float[2]));
    }

    [Fact]
    public void Cross_entropy_averages_over_the_rows_that_count_and_matches_central_differences()
    {
        const int classes = 7, ignore = -100;
        int[] targets = [2, ignore, 6, 0, ignore, 2];
        var logits = GemmTests.Random(targets.Length * classes, 6).Select(v => v * 4).ToArray();
        var gradient = Enumerable.Repeat(float.NaN, logits.Length).ToArray();

        var loss = SequenceCrossEntropy.ValueAndGradient(logits, targets, gradient, classes, ignore);

        double Loss(double[] z)
        {
            var rows = Enumerable.Range(0, targets.Length).Where(r => targets[r] != ignore).ToArray();
            return rows.Average(r =>
            {
                var row = z.Skip(r * classes).Take(classes).ToArray();
                var max = row.Max();
                return max + Math.Log(row.Sum(v => Math.Exp(v - max))) - row[targets[r]];
            });
        }

        var point = logits.Select(v => (double)v).ToArray();
        Assert.Equal(Loss(point), loss, 1e-5);
        Assert.Equal(loss, SequenceCrossEntropy.Value(logits, targets, classes, ignore));
        AssertMatchesCentralDifferences(logits, Loss, gradient);
        Assert.All(gradient.AsSpan(classes, classes).ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Cross_entropy_of_only_ignored_rows_is_zero_and_bad_targets_are_refused()
    {
        var gradient = new float[6];
        Assert.Equal(0f, SequenceCrossEntropy.ValueAndGradient(new float[6], [-1, -1], gradient, 3, -1));
        Assert.All(gradient, g => Assert.Equal(0f, g));
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceCrossEntropy.Value(new float[6], [0, 3], 3, -1));
        Assert.Contains("Row 1's target is 3", bad.Message);
        Assert.Throws<ArgumentException>(() => SequenceCrossEntropy.Value(new float[6], [0], 3, -1));
        Assert.Throws<ArgumentException>(() => SequenceCrossEntropy.ValueAndGradient(new float[6], [0, 1], new float[5], 3, -1));
    }

    [Fact]
    public void Embeddings_and_cross_entropy_allocate_nothing()
    {
        const int rows = 64, classes = 113;
        var ids = Enumerable.Range(0, rows).Select(i => i % Vocabulary).ToArray();
        var table = new float[Vocabulary * Dim];
        var output = new float[rows * Dim];
        var positions = new float[16 * Dim];
        var logits = GemmTests.Random(rows * classes, 8);
        var targets = Enumerable.Range(0, rows).Select(i => i % 5 == 0 ? -1 : i).ToArray();
        var gradient = new float[logits.Length];
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            Embedding.Forward(ids, table, Dim, output);
            Embedding.Backward(ids, output, table, Dim);
            Embedding.AddPositions(output, positions);
            Embedding.PositionsBackward(output, positions);
            SequenceCrossEntropy.ValueAndGradient(logits, targets, gradient, classes, -1);
        });
    }

    /// <summary>Each entry of <paramref name="gradient"/> against (f(x + h) − f(x − h)) / 2h in double precision.</summary>
    private static void AssertMatchesCentralDifferences(float[] at, Func<double[], double> loss, float[] gradient)
    {
        var point = at.Select(v => (double)v).ToArray();
        const double step = 1e-5;
        for (var i = 0; i < point.Length; i++)
        {
            var original = point[i];
            point[i] = original + step;
            var plus = loss(point);
            point[i] = original - step;
            var minus = loss(point);
            point[i] = original;
            var numeric = (plus - minus) / (2 * step);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-6 + (1e-5 * Math.Abs(numeric)), $"gradient[{i}] is {gradient[i]}, numerically {numeric}");
        }
    }
}
