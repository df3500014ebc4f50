using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The batch gather that <c>Fit</c> copies its shuffled samples with, on one thread and split over two.</summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class RowGatherTests : IDisposable
{
    private readonly int _previous = KernelSettings.MaxThreads;

    public void Dispose() => KernelSettings.MaxThreads = _previous;

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 3)]
    [InlineData(2, 16, 784)] // 12,544 floats: split
    [InlineData(2, 64, 784)]
    [InlineData(2, 61, 129)] // 7,869 floats: one thread
    [InlineData(2, 200, 100)]
    [InlineData(1, 64, 784)]
    public void Copies_the_named_rows_in_order(int threads, int count, int rowLength)
    {
        KernelSettings.MaxThreads = threads;
        const int sourceRows = 500;
        var source = GemmTests.Random(sourceRows * rowLength, 3);
        var random = new Random(count);
        var rows = Enumerable.Range(0, count).Select(_ => random.Next(sourceRows)).ToArray();
        var gathered = new float[count * rowLength];

        for (var repeat = 0; repeat < 20; repeat++)
        {
            gathered.AsSpan().Fill(float.NaN);
            RowGather.Gather(source, rowLength, rows, gathered);
            for (var i = 0; i < count; i++)
            {
                Assert.Equal(source.AsSpan(rows[i] * rowLength, rowLength).ToArray(), gathered.AsSpan(i * rowLength, rowLength).ToArray());
            }
        }
    }

    [Fact]
    public void A_wrong_destination_length_or_a_row_outside_the_source_is_refused()
    {
        var source = new float[10 * 4];
        var length = Assert.Throws<ArgumentException>(() => RowGather.Gather(source, 4, [1, 2], new float[7]));
        Assert.Contains("2 rows of 4 need 8", length.Message);
        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => RowGather.Gather(source, 4, [1, 10], new float[8]));
        Assert.Contains("Row 10 is outside the source's 10 rows", outside.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RowGather.Gather(source, 4, [-1], new float[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RowGather.Gather(source, 0, [], new float[0]));
    }

    [Fact]
    public void A_split_gather_allocates_nothing()
    {
        KernelSettings.MaxThreads = 2;
        var source = new float[1000 * 784];
        var rows = Enumerable.Range(0, 64).Select(i => (i * 37) % 1000).ToArray();
        var gathered = new float[64 * 784];
        AllocationAssert.NoneAfterWarmUp(() => RowGather.Gather(source, 784, rows, gathered));
    }
}
