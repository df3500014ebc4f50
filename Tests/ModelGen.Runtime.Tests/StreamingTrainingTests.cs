using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Xunit;
using static ModelGen.Runtime.Tests.StreamingFiles;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The streaming tests that count reader threads and allocations run alone: a reader of another test, or another
/// test's allocations, would show in their counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StreamingReadersCollection
{
    public const string Name = "Streaming readers";
}

/// <summary>
/// <c>Fit</c> and <c>Evaluate</c> over files: the bits of the in-memory run (record files, IDX, shards, every option),
/// targets checked as they are read, no allocation per batch, and a reader that always stops and closes its files.
/// </summary>
[Collection(StreamingReadersCollection.Name)]
public sealed class StreamingTrainingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-stream-fit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(true, 0f, true)]
    [InlineData(true, 0.2f, true)]
    [InlineData(false, 0.2f, true)]
    [InlineData(true, 0.2f, false)]
    [InlineData(false, 0f, false)]
    public void A_streamed_fit_gives_the_bits_of_the_in_memory_fit(bool shuffle, float validationSplit, bool mapped)
    {
        var data = Regression(203, seed: 5);
        var stream = Records("train.mgrec", data, mapped);
        FitOptions Options() => new()
        {
            Epochs = 3, BatchSize = 16, Optimizer = new Adam(1e-2f), Seed = 8, Shuffle = shuffle, ValidationSplit = validationSplit,
        };

        var inMemory = new SmallMlp(seed: 1);
        var expected = inMemory.Fit(data, Options());
        var streamed = new SmallMlp(seed: 1);
        var actual = streamed.Fit(stream, Options());

        Assert.Equal(inMemory.Parameters.ToArray(), streamed.Parameters.ToArray());
        Assert.Equal(expected.Epochs, actual.Epochs);
        AssertStopped(stream);
    }

    [Fact]
    public void Dropout_augmentation_and_validation_data_give_the_same_bits_streamed()
    {
        var data = Labelled(300, 64, 4, seed: 6);
        var validation = Labelled(40, 64, 4, seed: 7);
        var stream = Records("train.mgrec", data);
        FitOptions Options() => new()
        {
            Epochs = 3, BatchSize = 32, Optimizer = new Adam(1e-3f), Seed = 2, ValidationData = validation,
            Augmentation = new ImageAugmentation(1, 8, 8) { RandomCropPadding = 2, HorizontalFlip = true },
        };

        var inMemory = new DropoutClassifier(seed: 3);
        var expected = inMemory.Fit(data, Options());
        var streamed = new DropoutClassifier(seed: 3);
        var actual = streamed.Fit(stream, Options());

        Assert.Equal(inMemory.Parameters.ToArray(), streamed.Parameters.ToArray());
        Assert.Equal(expected.Epochs, actual.Epochs);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_idx_pair_trains_to_the_bits_of_the_in_memory_fit(bool mapped)
    {
        // 3 × 4 pixels: runs of consecutive images convert through the vector loop and its scalar tail.
        var pair = WriteIdxPair(_directory, "train", 250, 3, 4, classes: 3, seed: 4);
        var data = ReadIdxPair(pair);
        var stream = StreamingDataset.OpenIdx(pair.Images, pair.Labels);
        stream.MappingLimit = mapped ? StreamingDataset.DefaultMappingLimit : 0;
        FitOptions Options() => new() { Epochs = 2, BatchSize = 24, Optimizer = new Adam(1e-2f), Seed = 9, ValidationSplit = 0.1f };

        var inMemory = new ResumableClassifier(seed: 5);
        var expected = inMemory.Fit(data, Options());
        var streamed = new ResumableClassifier(seed: 5);
        var actual = streamed.Fit(stream, Options());

        Assert.Equal(inMemory.Parameters.ToArray(), streamed.Parameters.ToArray());
        Assert.Equal(inMemory.State.ToArray(), streamed.State.ToArray());
        Assert.Equal(expected.Epochs, actual.Epochs);
        AssertStopped(stream);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Shards_train_to_the_bits_of_the_whole_set_in_memory(bool mapped)
    {
        var data = Regression(180, seed: 8);
        var shards = new[] { (0, 61), (61, 0), (61, 100), (161, 19) }
            .Select((range, i) => Write($"shard-{i}.mgrec", data.Slice(range.Item1, range.Item2)))
            .ToArray();
        var stream = StreamingDataset.OpenRecords(shards);
        stream.MappingLimit = mapped ? StreamingDataset.DefaultMappingLimit : 0;
        FitOptions Options() => new() { Epochs = 2, BatchSize = 10, Optimizer = new Sgd(0.1f), Seed = 3, ValidationSplit = 0.25f };

        var inMemory = new SmallMlp(seed: 2);
        var expected = inMemory.Fit(data, Options());
        var streamed = new SmallMlp(seed: 2);
        var actual = streamed.Fit(stream, Options());

        Assert.Equal(inMemory.Parameters.ToArray(), streamed.Parameters.ToArray());
        Assert.Equal(expected.Epochs, actual.Epochs);
        Assert.All(shards, shard => Assert.False(IsOpen(shard)));
    }

    [Fact]
    public void A_streamed_fit_resumes_from_its_checkpoint_to_the_bits_of_an_uninterrupted_run()
    {
        var data = Labelled(120, 12, 3, seed: 9);
        var stream = Records("train.mgrec", data);
        var checkpoint = Path.Combine(_directory, "run.ckpt");
        FitOptions Options(int epochs, bool save) => new()
        {
            Epochs = epochs, BatchSize = 16, Optimizer = new Adam(1e-2f), Seed = 4,
            Checkpoint = save ? new CheckpointOptions(checkpoint) : null,
        };

        var straight = new ResumableClassifier(seed: 1);
        straight.Fit(data, Options(4, save: false));
        var resumed = new ResumableClassifier(seed: 1);
        resumed.Fit(stream, Options(2, save: true));
        var again = new ResumableClassifier(seed: 1);
        var history = again.Fit(stream, Options(4, save: true));

        Assert.Equal(4, history.Epochs.Count);
        Assert.Equal(straight.Parameters.ToArray(), again.Parameters.ToArray());
    }

    [Fact]
    public void A_streamed_evaluation_gives_the_bits_of_the_in_memory_one()
    {
        // More than one chunk of 256, and a partial one.
        var regression = Regression(600, seed: 10);
        var mlp = new SmallMlp(seed: 3);
        var expected = mlp.Evaluate(regression);
        var actual = mlp.Evaluate(Records("regression.mgrec", regression));
        Assert.Equal(expected, actual);

        var labelled = Labelled(530, 64, 4, seed: 11);
        var classifier = new DropoutClassifier(seed: 4);
        var memory = classifier.Evaluate(labelled);
        var streamed = classifier.Evaluate(Records("labelled.mgrec", labelled));
        Assert.Equal((memory.Loss, memory.Accuracy, memory.Count), (streamed.Loss, streamed.Accuracy, streamed.Count));
        Assert.Equal(memory.Confusion, streamed.Confusion);
        Assert.Equal(0, BatchPipeline.RunningReaders);
    }

    [Fact]
    public void A_bad_label_stops_training_with_its_index_in_the_stream_and_its_file()
    {
        var pair = WriteIdxPair(_directory, "train", 100, 3, 4, classes: 3, seed: 2);
        var labels = File.ReadAllBytes(pair.Labels);
        labels[8 + 57] = 7;
        File.WriteAllBytes(pair.Labels, labels);
        var stream = StreamingDataset.OpenIdx(pair.Images, pair.Labels);

        var error = Assert.Throws<ArgumentException>(() =>
            new ResumableClassifier(seed: 1).Fit(stream, new FitOptions { Epochs = 2, BatchSize = 8, Seed = 1 }));

        Assert.StartsWith("Sample 57 of the streamed dataset ('train-images-idx3-ubyte', sample 57 at offset 700) has the label 7", error.Message);
        Assert.Equal("data", error.ParamName);
        AssertStopped(stream, pair.Images);
    }

    [Fact]
    public void A_bad_target_is_caught_before_any_step_sees_its_batch()
    {
        var data = Regression(40, seed: 3);
        var targets = data.Targets.ToArray();
        targets[2] = float.NaN;
        var stream = Records("bad.mgrec", new Dataset(data.Features.ToArray(), 20, targets, 3));
        var model = new SmallMlp(seed: 1);
        var before = model.Parameters.ToArray();

        var error = Assert.Throws<ArgumentException>(() => model.Fit(stream, new FitOptions { BatchSize = 8, Shuffle = false }));

        Assert.StartsWith("Sample 0 of the streamed dataset ('bad.mgrec', record 0 at offset 32) has the target NaN at output 2", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
        AssertStopped(stream, Path.Combine(_directory, "bad.mgrec"));
    }

    [Fact]
    public void Cancelling_stops_the_reader_and_closes_the_files()
    {
        var stream = Records("train.mgrec", Regression(400, seed: 4));
        using var cancellation = new CancellationTokenSource();
        var batches = 0;
        var progress = new SyncProgress<BatchProgress>(_ =>
        {
            if (++batches == 3)
            {
                cancellation.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() => new SmallMlp(seed: 1).Fit(stream, new FitOptions
        {
            Epochs = 5, BatchSize = 4, CancellationToken = cancellation.Token, BatchProgress = progress,
        }));

        Assert.Equal(3, batches);
        AssertStopped(stream, Path.Combine(_directory, "train.mgrec"));
    }

    [Fact]
    public void Cancelling_stops_the_in_memory_fit_too()
    {
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            new SmallMlp(seed: 1).Fit(Regression(10, seed: 1), new FitOptions { CancellationToken = cancellation.Token }));
    }

    [Fact]
    public void A_throwing_callback_stops_the_reader_and_closes_the_files()
    {
        var stream = Records("train.mgrec", Regression(100, seed: 4));
        var progress = new SyncProgress<EpochResult>(_ => throw new InvalidOperationException("stop here"));

        var error = Assert.Throws<InvalidOperationException>(() =>
            new SmallMlp(seed: 1).Fit(stream, new FitOptions { Epochs = 3, BatchSize = 4 }, progress));

        Assert.Equal("stop here", error.Message);
        AssertStopped(stream, Path.Combine(_directory, "train.mgrec"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_file_cut_short_during_training_names_the_file_and_the_offset(bool mapped)
    {
        var path = Path.Combine(_directory, "train.mgrec");
        var stream = Records("train.mgrec", Regression(100, seed: 4), mapped);
        var progress = new SyncProgress<BatchProgress>(batch =>
        {
            if (batch.Batch == 1)
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                file.SetLength(32 + (10 * 92));
            }
        });

        var error = Assert.Throws<InvalidDataException>(() =>
            new SmallMlp(seed: 1).Fit(stream, new FitOptions { BatchSize = 4, Shuffle = false, BatchProgress = progress }));

        Assert.StartsWith("'train.mgrec' was cut short after the dataset was opened: it now ends at byte 952, and samples from 'train.mgrec', record ", error.Message);
        AssertStopped(stream, path);
    }

    [Fact]
    public void Fit_and_Evaluate_refuse_a_stream_of_the_wrong_shape_or_with_no_samples()
    {
        var stream = Records("labelled.mgrec", Labelled(10, 64, 4, seed: 1));
        var empty = Records("empty.mgrec", new Dataset([], 20, [], 3));

        Assert.Contains("64 features", Assert.Throws<ArgumentException>(() => new SmallMlp().Fit(stream)).Message);
        Assert.Contains("no samples", Assert.Throws<ArgumentException>(() => new SmallMlp().Evaluate(empty)).Message);
        Assert.Equal(0, BatchPipeline.RunningReaders);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_streamed_epoch_allocates_nothing_per_batch_on_either_thread(bool mapped)
    {
        // 2,400 samples in batches of 4: 600 steps, in windows of 100 after 100 of warm-up. Each window counts the
        // training thread's allocations and the whole process's (the reader's among them, the only other thread at work).
        const int Batches = 600, Window = 100;
        var stream = Records("train.mgrec", Regression(Batches * 4, seed: 12), mapped);
        var thread = new long[Batches + 1];
        var process = new long[Batches + 1];
        var progress = new SyncProgress<BatchProgress>(batch =>
        {
            thread[batch.Batch] = GC.GetAllocatedBytesForCurrentThread();
            process[batch.Batch] = GC.GetTotalAllocatedBytes(precise: true);
        });

        new SmallMlp(seed: 1).Fit(stream, new FitOptions { BatchSize = 4, Seed = 1, BatchProgress = progress });

        var windows = Enumerable.Range(1, (Batches / Window) - 1).Select(w => (w * Window, (w + 1) * Window)).ToArray();
        var threadBytes = windows.Select(w => thread[w.Item2] - thread[w.Item1]).ToArray();
        var processBytes = windows.Select(w => process[w.Item2] - process[w.Item1]).ToArray();
        Assert.True(threadBytes.Contains(0), $"The training thread allocated in every window: {string.Join(", ", threadBytes)} bytes.");
        Assert.True(processBytes.Contains(0), $"The process allocated in every window: {string.Join(", ", processBytes)} bytes.");
    }

    /// <summary>A record file of <paramref name="data"/>, read through a mapping (within the default limit) or by positioned reads.</summary>
    private StreamingDataset Records(string name, Dataset data, bool mapped = true)
    {
        var stream = StreamingDataset.OpenRecords(Write(name, data));
        stream.MappingLimit = mapped ? StreamingDataset.DefaultMappingLimit : 0;
        return stream;
    }

    private string Write(string name, Dataset data)
    {
        var path = Path.Combine(_directory, name);
        RecordFileWriter.WriteAll(path, data);
        return path;
    }

    /// <summary>No reader thread runs and no file of <paramref name="stream"/> (or <paramref name="path"/>) is open.</summary>
    private static void AssertStopped(StreamingDataset stream, string? path = null)
    {
        Assert.Equal(0, BatchPipeline.RunningReaders);
        foreach (var file in stream.Files)
        {
            Assert.False(IsOpen(file.Path), $"'{file.Path}' is still open.");
        }

        Assert.True(path is null || !IsOpen(path));
    }

    /// <summary>Reports on the calling thread, at once (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
