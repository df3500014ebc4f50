using System;
using System.IO;
using ModelGen.Samples.FashionMnist;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The Fashion sample's data: standardizing what it loaded rewrites the one copy of the pixels, to the bits a copy
/// would get; sets that it did not load are copied, never rewritten.
/// </summary>
public class FashionDataTests
{
    private static readonly string Subset = Path.Combine(AppContext.BaseDirectory, "FashionSubset");

    [Fact]
    public void Loaded_data_is_standardized_in_place_to_the_bits_of_a_standardized_copy()
    {
        var loaded = FashionData.Load(Subset);
        var pixels = loaded.Train.Features.ToArray();
        var given = FashionData.Load(Subset);
        var copied = new FashionData(given.Train, given.Test, given.Source).Standardized();

        var standardized = loaded.Standardized();

        // In place: the same arrays, now standardized, with the bits the copying path computes.
        Assert.Same(loaded.Train, standardized.Train);
        Assert.Same(loaded.Test, standardized.Test);
        Assert.Equal(copied.Train.Features.ToArray(), standardized.Train.Features.ToArray());
        Assert.Equal(copied.Test.Features.ToArray(), standardized.Test.Features.ToArray());
        Assert.Equal(copied.Train.Targets.ToArray(), standardized.Train.Targets.ToArray());
        Assert.Equal(copied.Source, standardized.Source);
        Assert.NotEqual(pixels, standardized.Train.Features.ToArray());

        // The given sets were copied and are as they were.
        Assert.Equal(pixels, given.Train.Features.ToArray());
        Assert.False(given.Train.Features.Overlaps(copied.Train.Features));

        // Standardized pixels have mean 0 and deviation 1 (to float rounding).
        double sum = 0, squares = 0;
        foreach (var value in standardized.Train.Features)
        {
            sum += value;
            squares += (double)value * value;
        }

        var count = standardized.Train.Features.Length;
        Assert.Equal(0, sum / count, 4);
        Assert.Equal(1, Math.Sqrt(squares / count), 4);
    }

    [Fact]
    public void A_spent_instance_or_a_with_copy_standardizes_a_copy_and_rewrites_nothing()
    {
        var loaded = FashionData.Load(Subset);
        var pixels = loaded.Train.Features.ToArray();

        var fromCopy = (loaded with { Source = "a copy" }).Standardized();

        Assert.Equal(pixels, loaded.Train.Features.ToArray());
        Assert.NotSame(loaded.Train, fromCopy.Train);

        var first = loaded.Standardized();
        var once = first.Train.Features.ToArray();
        var twice = loaded.Standardized();

        Assert.Equal(fromCopy.Train.Features.ToArray(), once);
        Assert.Equal(once, first.Train.Features.ToArray());
        Assert.NotSame(first.Train, twice.Train);
    }
}
