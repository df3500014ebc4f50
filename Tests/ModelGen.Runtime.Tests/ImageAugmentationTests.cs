using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// <see cref="ImageAugmentation"/> against a plain pad-crop-mirror reference, and <see cref="FitOptions.Augmentation"/>:
/// repeatable from the seed, through a checkpoint too, and never touching the shuffles, the dataset or validation.
/// </summary>
public sealed class ImageAugmentationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-augmentation-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(1, 5, 7)]
    [InlineData(3, 5, 7)]
    [InlineData(2, 6, 5)]
    [InlineData(1, 1, 4)]
    public void Every_shift_with_and_without_a_flip_matches_the_reference(int channels, int height, int width)
    {
        var augmentation = new ImageAugmentation(channels, height, width);
        var image = Image(channels, height, width, seed: 1);
        var padding = Math.Max(height, width) - 1;
        for (var top = 0; top <= 2 * padding; top++)
        {
            for (var left = 0; left <= 2 * padding; left++)
            {
                foreach (var flip in new[] { false, true })
                {
                    var actual = image.ToArray();
                    augmentation.Transform(actual, top - padding, left - padding, flip);

                    Assert.Equal(Reference(image, channels, height, width, padding, top, left, flip), actual);
                }
            }
        }
    }

    [Theory]
    [InlineData(3, 5, 7, 0, true)]
    [InlineData(3, 5, 7, 1, false)]
    [InlineData(3, 5, 7, 2, true)]
    [InlineData(3, 5, 7, 3, false)]
    [InlineData(3, 5, 7, 3, true)]
    [InlineData(1, 28, 28, 4, true)]
    [InlineData(2, 9, 4, 3, true)]
    public void A_batch_matches_the_reference_with_the_documented_draws(int channels, int height, int width, int padding, bool flip)
    {
        const int count = 60;
        var augmentation = new ImageAugmentation(channels, height, width) { RandomCropPadding = padding, HorizontalFlip = flip };
        var size = channels * height * width;
        var batch = Image(count * channels, height, width, seed: 2);
        var original = batch.ToArray();
        var random = new SeededRandom(7);
        var draws = random;

        augmentation.Apply(batch, ref random);

        // Per sample: the crop's row, then its column (when padding), then the flip (when enabled).
        var tops = new HashSet<int>();
        var lefts = new HashSet<int>();
        var flips = new HashSet<bool>();
        for (var i = 0; i < count; i++)
        {
            var top = padding > 0 ? draws.NextInt32((2 * padding) + 1) : 0;
            var left = padding > 0 ? draws.NextInt32((2 * padding) + 1) : 0;
            var mirrored = flip && (draws.NextUInt32() >> 31) != 0;
            tops.Add(top);
            lefts.Add(left);
            flips.Add(mirrored);
            var expected = Reference(original.AsSpan(i * size, size).ToArray(), channels, height, width, padding, top, left, mirrored);

            Assert.Equal(expected, batch.AsSpan(i * size, size).ToArray());
        }

        // Every shift and both sides occurred, and the generator moved exactly past the draws.
        Assert.Equal((2 * padding) + 1, tops.Count);
        Assert.Equal((2 * padding) + 1, lefts.Count);
        Assert.Equal(flip ? 2 : 1, flips.Count);
        Assert.Equal(State(draws), State(random));
    }

    [Fact]
    public void A_flip_mirrors_each_row_of_each_channel()
    {
        var augmentation = new ImageAugmentation(2, 2, 3);
        float[] image = [1, 2, 3, 4, 5, 6, /* second channel */ 7, 8, 9, 10, 11, 12];

        augmentation.Transform(image, 0, 0, flip: true);

        Assert.Equal([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10], image);
    }

    [Fact]
    public void A_shift_brings_in_zeros()
    {
        var augmentation = new ImageAugmentation(1, 3, 3);
        float[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9];

        // The window moves one row down and one column left: the content moves up and right.
        augmentation.Transform(image, 1, -1, flip: false);

        Assert.Equal([0, 4, 5, 0, 7, 8, 0, 0, 0], image);
    }

    [Fact]
    public void Nothing_enabled_is_the_identity_and_draws_nothing()
    {
        var augmentation = new ImageAugmentation(3, 5, 7);
        var batch = Image(4 * 3, 5, 7, seed: 3);
        var original = batch.ToArray();
        var random = new SeededRandom(1);
        var before = State(random);

        augmentation.Apply(batch, ref random);
        augmentation.Apply([], ref random);

        Assert.Equal(original, batch);
        Assert.Equal(before, State(random));
    }

    [Fact]
    public void The_same_seed_gives_the_same_images_and_another_seed_others()
    {
        var augmentation = new ImageAugmentation(3, 5, 7) { RandomCropPadding = 2, HorizontalFlip = true };
        var original = Image(8 * 3, 5, 7, seed: 4);
        float[] Augmented(int seed)
        {
            var batch = original.ToArray();
            var random = new SeededRandom(seed);
            augmentation.Apply(batch, ref random);
            return batch;
        }

        Assert.Equal(Augmented(5), Augmented(5));
        Assert.NotEqual(Augmented(5), Augmented(6));
        Assert.NotEqual(original, Augmented(5));
    }

    [Fact]
    public void Arguments_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(0, 5, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, -1, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 0));
        Assert.Throws<ArgumentException>(() => new ImageAugmentation(65536, 65536, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 7) { RandomCropPadding = -1 });
        var tooFar = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageAugmentation(1, 5, 7) { RandomCropPadding = 5 });
        Assert.Contains("less than 5", tooFar.Message);
        Assert.Equal(4, new ImageAugmentation(1, 5, 7) { RandomCropPadding = 4 }.RandomCropPadding);

        var augmentation = new ImageAugmentation(3, 5, 7) { HorizontalFlip = true };
        var random = new SeededRandom(1);
        var error = Assert.Throws<ArgumentException>(() => augmentation.Apply(new float[106], ref random));
        Assert.Contains("105", error.Message);
        Assert.Contains("106", error.Message);
    }

    [Fact]
    public void Fit_refuses_an_augmentation_of_another_size_and_changes_nothing()
    {
        var model = new TinyImageClassifier(seed: 1);
        var before = model.Parameters.ToArray();
        var options = new FitOptions { Augmentation = new ImageAugmentation(1, 6, 5) { HorizontalFlip = true } };

        var error = Assert.Throws<ArgumentException>(() => model.Fit(Data(40, seed: 1), options));

        Assert.Contains("30 floats", error.Message);
        Assert.Contains("60 inputs", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void Fit_with_augmentation_repeats_bit_for_bit_and_differs_from_fit_without()
    {
        var data = Data(96, seed: 2);
        var augmentation = new ImageAugmentation(2, 6, 5) { RandomCropPadding = 2, HorizontalFlip = true };
        float[] Trained(ImageAugmentation? with, int seed)
        {
            var model = new TinyImageClassifier(seed: 1);
            model.Fit(data, new FitOptions { Epochs = 3, BatchSize = 16, Optimizer = new Adam(0.01f), Seed = seed, Augmentation = with });
            return model.Parameters.ToArray();
        }

        var augmented = Trained(augmentation, seed: 3);

        Assert.Equal(augmented, Trained(augmentation, seed: 3));
        Assert.NotEqual(augmented, Trained(augmentation, seed: 4));
        Assert.NotEqual(augmented, Trained(null, seed: 3));
    }

    [Fact]
    public void Augmentation_leaves_the_shuffles_the_dataset_and_validation_alone()
    {
        // Mirror-symmetric images: a flip leaves them as they are, so training with flips must equal training without,
        // bit for bit, only if the sample order and every other random stream are untouched.
        var data = Data(120, seed: 5, symmetric: true);
        var features = data.Features.ToArray();
        TinyImageClassifier Trained(ImageAugmentation? with)
        {
            var model = new TinyImageClassifier(seed: 2);
            model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 16, Optimizer = new Adam(0.01f), Seed = 6, ValidationSplit = 0.2f, Augmentation = with });
            return model;
        }

        var flipped = Trained(new ImageAugmentation(2, 6, 5) { HorizontalFlip = true });
        Assert.Equal(Trained(null).Parameters.ToArray(), flipped.Parameters.ToArray());

        // Shifts change training, but neither the dataset nor the validation loss, which is the plain evaluation.
        var model = new TinyImageClassifier(seed: 2);
        var history = model.Fit(data, new FitOptions
        {
            Epochs = 2, BatchSize = 16, Optimizer = new Adam(0.01f), Seed = 6, ValidationSplit = 0.2f,
            Augmentation = new ImageAugmentation(2, 6, 5) { RandomCropPadding = 1, HorizontalFlip = true },
        });
        Assert.NotEqual(flipped.Parameters.ToArray(), model.Parameters.ToArray());
        Assert.Equal(features, data.Features.ToArray());
        Assert.Equal(model.Evaluate(data.Slice(96, 24)).Loss, history.Epochs[^1].ValidationLoss);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_run_with_augmentation_resumes_from_a_checkpoint_bit_identically(int interruptedAfter)
    {
        var data = Data(80, seed: 7);
        FitOptions Options(string? path, int? failAt = null)
        {
            var options = new FitOptions
            {
                Epochs = 4, BatchSize = 16, Seed = 8, Optimizer = new Adam(0.01f),
                Augmentation = new ImageAugmentation(2, 6, 5) { RandomCropPadding = 2, HorizontalFlip = true },
                Checkpoint = path is null ? null : new CheckpointOptions(path),
            };
            if (failAt is { } epoch)
            {
                options.Callbacks.Add(new Interrupt(epoch));
            }

            return options;
        }

        var whole = new TinyImageClassifier(seed: 1);
        var wholeHistory = whole.Fit(data, Options(null));
        var path = Path.Combine(_directory, $"run{interruptedAfter}.ckpt");
        Assert.Throws<InterruptedException>(() => new TinyImageClassifier(seed: 1).Fit(data, Options(path, failAt: interruptedAfter + 1)));

        var resumed = new TinyImageClassifier(seed: 99);
        var resumedHistory = resumed.Fit(data, Options(path));

        Assert.Equal(whole.Parameters.ToArray(), resumed.Parameters.ToArray());
        Assert.Equal(wholeHistory.Epochs, resumedHistory.Epochs);
    }

    [Fact]
    public void Derived_streams_repeat_and_differ_from_the_seed_and_from_each_other()
    {
        static uint[] First(SeededRandom random) => Enumerable.Range(0, 8).Select(_ => random.NextUInt32()).ToArray();

        var plain = First(new SeededRandom(3));
        var streams = Enumerable.Range(0, 50).Select(s => First(new SeededRandom(3, (1UL << 32) + (ulong)s))).ToArray();

        Assert.Equal(streams[7], First(new SeededRandom(3, (1UL << 32) + 7)));
        Assert.NotEqual(streams[7], First(new SeededRandom(4, (1UL << 32) + 7)));
        Assert.DoesNotContain(plain, streams);
        Assert.Equal(streams.Length, streams.Select(s => string.Join(",", s)).Distinct().Count());
    }

    [Fact]
    public void Apply_allocates_nothing()
    {
        var augmentation = new ImageAugmentation(1, 28, 28) { RandomCropPadding = 4, HorizontalFlip = true };
        var batch = Image(64, 28, 28, seed: 9);
        var random = new SeededRandom(10);

        AllocationAssert.NoneAfterWarmUp(() => augmentation.Apply(batch, ref random));
    }

    /// <summary>
    /// The image padded with <paramref name="padding"/> zeros on every side, the window of its own size at
    /// (<paramref name="top"/>, <paramref name="left"/>) of that, then mirrored left to right if <paramref name="flip"/>.
    /// </summary>
    private static float[] Reference(float[] image, int channels, int height, int width, int padding, int top, int left, bool flip)
    {
        var (paddedHeight, paddedWidth) = (height + (2 * padding), width + (2 * padding));
        var result = new float[image.Length];
        for (var c = 0; c < channels; c++)
        {
            var padded = new float[paddedHeight, paddedWidth];
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    padded[y + padding, x + padding] = image[(((c * height) + y) * width) + x];
                }
            }

            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var column = flip ? width - 1 - x : x;
                    result[(((c * height) + y) * width) + x] = padded[top + y, left + column];
                }
            }
        }

        return result;
    }

    /// <summary>Images with no zero pixel (so that padding shows), values in [1, 2).</summary>
    private static float[] Image(int channels, int height, int width, int seed)
    {
        var random = new SeededRandom(seed);
        return Enumerable.Range(0, channels * height * width).Select(_ => random.NextSingle(1f, 2f)).ToArray();
    }

    /// <summary>
    /// Three classes of 2 × 6 × 5 images, told apart by which rows are bright; <paramref name="symmetric"/> makes every
    /// row its own mirror image.
    /// </summary>
    private static Dataset Data(int count, int seed, bool symmetric = false)
    {
        const int channels = 2, height = 6, width = 5;
        var random = new SeededRandom(seed);
        var features = new float[count * channels * height * width];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = random.NextInt32(3);
            for (var c = 0; c < channels; c++)
            {
                for (var y = 0; y < height; y++)
                {
                    for (var x = 0; x < width; x++)
                    {
                        var row = ((((i * channels) + c) * height) + y) * width;
                        features[row + x] = symmetric && x >= (width + 1) / 2
                            ? features[row + (width - 1 - x)]
                            : random.NextSingle(-1f, 1f) + (y / 2 == labels[i] ? 1f : 0f);
                    }
                }
            }
        }

        return Dataset.FromLabels(features, channels * height * width, labels);
    }

    private static uint[] State(SeededRandom random)
    {
        var state = new uint[4];
        random.GetState(state);
        return state;
    }

    /// <summary>Fails the run at the end of an epoch, before that epoch's checkpoint, as a crash would.</summary>
    private sealed class Interrupt(int epoch) : TrainingCallback
    {
        public override EpochDecision OnEpochEnd(ITrainableModel model, EpochResult result) =>
            result.Epoch == epoch ? throw new InterruptedException() : EpochDecision.Continue;
    }

    private sealed class InterruptedException : Exception;
}
