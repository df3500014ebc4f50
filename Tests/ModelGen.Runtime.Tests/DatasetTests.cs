using System;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Dataset views (<see cref="Dataset.Slice"/>): they share the arrays, and training on them is training on copies.</summary>
public class DatasetTests
{
    [Fact]
    public void A_slice_shares_the_arrays_and_holds_the_samples_take_copies()
    {
        var (features, targets) = Arrays(10, featureSize: 3, targetSize: 2);
        var data = new Dataset(features, 3, targets, 2);

        var view = data.Slice(3, 4);
        var copy = data.Take(3, 4);

        Assert.Equal(4, view.Count);
        Assert.Equal((3, 2), (view.FeatureSize, view.TargetSize));
        Assert.Equal(copy.Features.ToArray(), view.Features.ToArray());
        Assert.Equal(copy.Targets.ToArray(), view.Targets.ToArray());
        for (var i = 0; i < view.Count; i++)
        {
            Assert.Equal(data.FeaturesOf(3 + i).ToArray(), view.FeaturesOf(i).ToArray());
            Assert.Equal(data.TargetOf(3 + i).ToArray(), view.TargetOf(i).ToArray());
        }

        // The view is the data's memory, three samples in; the copy is memory of its own.
        Assert.True(data.Features.Overlaps(view.Features, out var featureOffset));
        Assert.Equal(3 * 3, featureOffset);
        Assert.True(data.Targets.Overlaps(view.Targets, out var targetOffset));
        Assert.Equal(3 * 2, targetOffset);
        Assert.False(data.Features.Overlaps(copy.Features));
        features[3 * 3] = -1f;
        Assert.Equal(-1f, view.FeaturesOf(0)[0]);
        Assert.NotEqual(-1f, copy.FeaturesOf(0)[0]);
    }

    [Fact]
    public void Slices_of_slices_count_from_their_own_start()
    {
        var (features, targets) = Arrays(10, featureSize: 3, targetSize: 1);
        var data = new Dataset(features, 3, targets, 1);

        var inner = data.Slice(2, 6).Slice(1, 3);

        Assert.Equal(data.Take(3, 3).Features.ToArray(), inner.Features.ToArray());
        Assert.Equal(data.Take(3, 3).Targets.ToArray(), inner.Targets.ToArray());
        Assert.Equal(data.Take(3, 3).Features.ToArray(), inner.Take(0, 3).Features.ToArray());
        Assert.Equal(0, data.Slice(10, 0).Count);

        // A slice's bounds are its own, though its arrays go on.
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Slice(2, 6).Slice(5, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Slice(2, 6).Take(5, 2));
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, -1)]
    [InlineData(0, 11)]
    [InlineData(8, 3)]
    [InlineData(11, 0)]
    [InlineData(int.MaxValue, 1)]
    public void Slices_and_copies_outside_the_data_are_rejected(int start, int count)
    {
        var (features, targets) = Arrays(10, featureSize: 3, targetSize: 1);
        var data = new Dataset(features, 3, targets, 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => data.Slice(start, count));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Take(start, count));
    }

    [Fact]
    public void A_validation_split_trains_and_validates_exactly_as_slices_and_as_copies()
    {
        var (features, targets) = Arrays(100, featureSize: 20, targetSize: 3);
        var data = new Dataset(features, 20, targets, 3);
        FitOptions Options(Dataset? validation = null, float split = 0f) =>
            new() { Epochs = 3, BatchSize = 16, Optimizer = new Adam(0.01f), Seed = 4, ValidationData = validation, ValidationSplit = split };

        var split = new SmallMlp(seed: 1);
        var splitHistory = split.Fit(data, Options(split: 0.25f));
        var sliced = new SmallMlp(seed: 1);
        var slicedHistory = sliced.Fit(data.Slice(0, 75), Options(data.Slice(75, 25)));
        var copied = new SmallMlp(seed: 1);
        var copiedHistory = copied.Fit(data.Take(0, 75), Options(data.Take(75, 25)));

        Assert.Equal(copiedHistory.Epochs, splitHistory.Epochs);
        Assert.Equal(copiedHistory.Epochs, slicedHistory.Epochs);
        Assert.Equal(copied.Parameters.ToArray(), split.Parameters.ToArray());
        Assert.Equal(copied.Parameters.ToArray(), sliced.Parameters.ToArray());
        Assert.Equal(copied.Evaluate(data.Take(75, 25)), split.Evaluate(data.Slice(75, 25)));
    }

    [Fact]
    public void Fit_on_a_slice_copies_no_set_and_allocates_nothing_per_step()
    {
        // Two runs that differ only in how many samples (and so steps) they train on: 20 steps against 100. Besides the
        // sample order (one int per sample), nothing Fit allocates may grow with them: no copy of the data, nothing per step.
        var (features, targets) = Arrays(1_200, featureSize: 20, targetSize: 3);
        var data = new Dataset(features, 20, targets, 3);
        var model = new SmallMlp(seed: 1);
        var validation = data.Slice(1_000, 200);
        long Allocated(int samples)
        {
            var options = new FitOptions { Epochs = 1, BatchSize = 10, Optimizer = new Sgd(1e-3f), Seed = 1, ValidationData = validation };
            var before = GC.GetAllocatedBytesForCurrentThread();
            model.Fit(data.Slice(0, samples), options);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Allocated(200);
        Allocated(1_000);
        var differences = new long[5];
        for (var attempt = 0; attempt < differences.Length; attempt++)
        {
            // The first attempt may catch the runtime's one-off bookkeeping as it tiers methods up (AllocationAssert).
            differences[attempt] = Allocated(1_000) - Allocated(200);
            if (differences[attempt] == 800 * sizeof(int))
            {
                return;
            }
        }

        Assert.Fail($"Training on 800 more samples allocated {string.Join(", ", differences)} bytes more, not the order's {800 * sizeof(int)}.");
    }

    private static (float[] Features, float[] Targets) Arrays(int count, int featureSize, int targetSize)
    {
        var random = new Random(count);
        var features = Enumerable.Range(0, count * featureSize).Select(_ => random.NextSingle()).ToArray();
        var targets = Enumerable.Range(0, count * targetSize).Select(_ => random.NextSingle()).ToArray();
        return (features, targets);
    }
}
