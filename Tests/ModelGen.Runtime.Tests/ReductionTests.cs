using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Column sums (the bias gradient) and the row softmax against double-precision references.</summary>
[Trait("Category", "Kernels")]
public class ReductionTests
{
    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 1)]
    [InlineData(3, 15)]
    [InlineData(5, 16)]
    [InlineData(64, 17)]
    [InlineData(7, 33)]
    [InlineData(64, 10)] // an output layer's bias gradient: columns in neither vector width
    [InlineData(5, 24)] // one 16-wide vector, then one 8-wide, then none left
    [InlineData(64, 256)]
    [InlineData(2, 1025)]
    public void Column_sums_add_every_row_into_the_sums(int rows, int columns)
    {
        var matrix = GemmTests.Random(rows * columns, rows + columns);
        var sums = GemmTests.Random(columns, 3);
        var expected = Enumerable.Range(0, columns).Select(j => sums[j] + Enumerable.Range(0, rows).Sum(r => (double)matrix[(r * columns) + j])).ToArray();

        Reductions.AddColumnSums(matrix, sums);

        for (var j = 0; j < columns; j++)
        {
            Assert.True(Math.Abs(expected[j] - sums[j]) <= 1e-5 * (rows + 1), $"column {j}: {sums[j]}, expected {expected[j]}");
        }
    }

    /// <summary>
    /// The gated sums take a row's value only where its gate is &gt; 0 (zero, negative and NaN gates drop it): the
    /// double-precision column sums of the matrix with the dropped values zeroed.
    /// </summary>
    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 1)]
    [InlineData(3, 15)]
    [InlineData(64, 17)]
    [InlineData(7, 33)]
    [InlineData(5, 24)]
    [InlineData(49, 64)]
    public void Gated_column_sums_add_the_rows_whose_gate_is_positive(int rows, int columns)
    {
        var matrix = GemmTests.Random(rows * columns, rows + columns);
        var gate = GemmTests.Random(rows * columns, 7);
        for (var i = 0; i < gate.Length; i += 11)
        {
            gate[i] = i % 2 == 0 ? 0f : float.NaN;
        }

        var kept = matrix.Select((value, i) => gate[i] > 0 ? value : 0f).ToArray();
        var expected = Enumerable.Range(0, columns).Select(j => Enumerable.Range(0, rows).Sum(r => (double)kept[(r * columns) + j])).ToArray();
        var sums = Enumerable.Repeat(float.NaN, columns).ToArray();

        Reductions.GatedColumnSums(matrix, gate, sums);

        for (var j = 0; j < columns; j++)
        {
            Assert.True(Math.Abs(expected[j] - sums[j]) <= 1e-5 * (rows + 1), $"column {j}: {sums[j]}, expected {expected[j]}");
        }

        Assert.Throws<ArgumentException>(() => Reductions.GatedColumnSums(matrix, new float[gate.Length + 1], sums));
        Assert.Throws<ArgumentException>(() => Reductions.GatedColumnSums(new float[7], new float[7], new float[3]));
    }

    [Fact]
    public void Column_sums_reject_a_partial_row()
    {
        Assert.Throws<ArgumentException>(() => Reductions.AddColumnSums(new float[7], new float[3]));
        Assert.Throws<ArgumentException>(() => Reductions.AddColumnSums(new float[1], Span<float>.Empty));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 10)]
    [InlineData(2, 17)]
    [InlineData(64, 10)]
    [InlineData(1, 1000)]
    public void Softmax_matches_the_reference_row_by_row(int rows, int classes)
    {
        var logits = GemmTests.Random(rows * classes, classes).Select(v => v * 8).ToArray();
        var probabilities = new float[logits.Length];

        Reductions.Softmax(logits, probabilities, classes);

        for (var r = 0; r < rows; r++)
        {
            var row = logits.Skip(r * classes).Take(classes).Select(v => (double)v).ToArray();
            var max = row.Max();
            var total = row.Sum(v => Math.Exp(v - max));
            for (var c = 0; c < classes; c++)
            {
                var expected = Math.Exp(row[c] - max) / total;
                Assert.True(Math.Abs(expected - probabilities[(r * classes) + c]) <= 1e-6 + (1e-5 * expected), $"row {r}, class {c}");
            }
        }
    }

    [Fact]
    public void Softmax_of_huge_logits_is_finite_and_sums_to_one_in_place()
    {
        float[] logits = [1e30f, 88f, -1e30f, 1e30f, 3f, 3f, 3f, 3f, -200f, -201f, -5000f, -199f];
        Reductions.Softmax(logits, logits, 4);

        Assert.All(logits, p => Assert.True(float.IsFinite(p) && p >= 0, $"{p}"));
        Assert.Equal([0.5f, 0f, 0f, 0.5f], logits[..4]);
        Assert.All(logits[4..8], p => Assert.Equal(0.25f, p, 6));
        for (var r = 0; r < 3; r++)
        {
            Assert.Equal(1.0, logits.Skip(r * 4).Take(4).Sum(p => (double)p), 5);
        }
    }

    [Fact]
    public void Softmax_rejects_mismatched_spans()
    {
        Assert.Throws<ArgumentException>(() => Reductions.Softmax(new float[6], new float[5], 3));
        Assert.Throws<ArgumentException>(() => Reductions.Softmax(new float[7], new float[7], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Reductions.Softmax(new float[6], new float[6], 0));
    }
}
