using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// <see cref="FitOptions.Checkpoint"/>: a run interrupted after any epoch and resumed from its checkpoint, into fresh
/// objects, ends bit for bit where the uninterrupted run ends: parameters, running statistics, history.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// The run every test compares against: dropout, batch norm, Adam with a schedule and clipping, a validation
    /// split, shuffling and early stopping with restore-best all carry state from epoch to epoch.
    /// </summary>
    internal static FitOptions Options(int epochs, string? checkpoint, int every = 1, IEnumerable<TrainingCallback>? extra = null)
    {
        var options = new FitOptions
        {
            Epochs = epochs,
            BatchSize = 16,
            Seed = 11,
            ValidationSplit = 0.2f,
            Optimizer = new Adam(0.01f) { Schedule = new CosineDecay(60), GlobalClipNorm = 5f },
            Checkpoint = checkpoint is null ? null : new CheckpointOptions(checkpoint) { EveryEpochs = every },
        };
        options.Callbacks.Add(new EarlyStopping(patience: 50, restoreBestWeights: true));
        foreach (var callback in extra ?? [])
        {
            options.Callbacks.Add(callback);
        }

        return options;
    }

    internal static Dataset Data()
    {
        var random = new SeededRandom(4);
        const int count = 150;
        var features = new float[count * 12];
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = random.NextInt32(3);
            for (var j = 0; j < 12; j++)
            {
                features[(i * 12) + j] = random.NextSingle(-1f, 1f) + (j % 3 == labels[i] ? 0.8f : 0f);
            }
        }

        return Dataset.FromLabels(features, 12, labels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void A_run_interrupted_after_an_epoch_resumes_bit_identically(int interruptedAfter)
    {
        var data = Data();
        var whole = new ResumableClassifier(seed: 1);
        var wholeHistory = whole.Fit(data, Options(6, checkpoint: null));

        var path = Path.Combine(_directory, "run.ckpt");
        var interrupted = new ResumableClassifier(seed: 1);
        Assert.Throws<InterruptedException>(() => interrupted.Fit(data, Options(6, path, extra: [new Interrupt(interruptedAfter + 1)])));

        // Everything fresh, and a different seed: only the checkpoint can make this model equal the first.
        var resumed = new ResumableClassifier(seed: 99);
        var resumedHistory = resumed.Fit(data, Options(6, path));

        Assert.Equal(whole.Parameters.ToArray(), resumed.Parameters.ToArray());
        Assert.Equal(whole.State.ToArray(), resumed.State.ToArray());
        Assert.Equal(wholeHistory.Epochs, resumedHistory.Epochs);
        Assert.Equal(6, resumedHistory.Epochs.Count);
    }

    [Fact]
    public void Training_on_with_more_epochs_continues_from_the_last_checkpoint()
    {
        var data = Data();
        var whole = new ResumableClassifier(seed: 1);
        whole.Fit(data, Options(5, checkpoint: null));

        var path = Path.Combine(_directory, "run.ckpt");
        new ResumableClassifier(seed: 1).Fit(data, Options(2, path));
        var continued = new ResumableClassifier(seed: 1);
        var history = continued.Fit(data, Options(5, path, every: 2));

        Assert.Equal(whole.Parameters.ToArray(), continued.Parameters.ToArray());
        Assert.Equal([1, 2, 3, 4, 5], history.Epochs.Select(e => e.Epoch));
    }

    [Fact]
    public void A_run_stopped_early_stays_stopped_when_resumed()
    {
        var data = Data();
        var path = Path.Combine(_directory, "run.ckpt");
        var options = Options(30, path);
        options.Callbacks.Clear();
        options.Callbacks.Add(new EarlyStopping(patience: 0, minDelta: 10f, restoreBestWeights: true));
        var first = new ResumableClassifier(seed: 1);
        var firstHistory = first.Fit(data, options);
        Assert.True(firstHistory.Epochs.Count < 30);

        var again = Options(30, path);
        again.Callbacks.Clear();
        var stopping = new EarlyStopping(patience: 0, minDelta: 10f, restoreBestWeights: true);
        again.Callbacks.Add(stopping);
        var resumed = new ResumableClassifier(seed: 5);
        var resumedHistory = resumed.Fit(data, again);

        Assert.Equal(firstHistory.Epochs, resumedHistory.Epochs);
        Assert.Equal(first.Parameters.ToArray(), resumed.Parameters.ToArray());
        Assert.Equal(1, stopping.BestEpoch);
    }

    [Fact]
    public void Each_optimizer_carries_its_state_through_a_checkpoint()
    {
        var data = Data();
        Func<Optimizer>[] optimizers =
        [
            () => new Sgd(0.05f, momentum: 0.9f, nesterov: true),
            () => new RmsProp(0.01f),
            () => new Adagrad(0.1f),
            () => new AdamW(0.01f),
        ];
        foreach (var make in optimizers)
        {
            FitOptions With(int epochs, string? path) => new()
            {
                Epochs = epochs, BatchSize = 32, Seed = 2, Optimizer = make(),
                Checkpoint = path is null ? null : new CheckpointOptions(path),
            };

            var whole = new ResumableClassifier(seed: 3);
            whole.Fit(data, With(4, null));
            var path = Path.Combine(_directory, make().GetType().Name + ".ckpt");
            new ResumableClassifier(seed: 3).Fit(data, With(2, path));
            var resumed = new ResumableClassifier(seed: 7);
            resumed.Fit(data, With(4, path));

            Assert.Equal(whole.Parameters.ToArray(), resumed.Parameters.ToArray());
        }
    }

    [Fact]
    public void A_checkpoint_of_another_run_is_refused_and_changes_nothing()
    {
        var data = Data();
        var path = Path.Combine(_directory, "run.ckpt");
        new ResumableClassifier(seed: 1).Fit(data, Options(1, path));

        var model = new ResumableClassifier(seed: 2);
        var before = model.Parameters.ToArray();
        var sgd = new FitOptions { Epochs = 2, Seed = 11, ValidationSplit = 0.2f, Optimizer = new Sgd(), Checkpoint = new CheckpointOptions(path) };
        var optimizerError = Assert.Throws<InvalidDataException>(() => model.Fit(data, sgd));
        Assert.Contains("optimizer", optimizerError.Message);

        var fewer = Dataset.FromLabels(data.Features[..(100 * 12)].ToArray(), 12, Enumerable.Repeat(0, 100).ToArray());
        var dataError = Assert.Throws<InvalidDataException>(() => model.Fit(fewer, Options(2, path)));
        Assert.Contains("120 samples", dataError.Message);

        var other = new DropoutClassifier(seed: 1);
        var otherData = Dataset.FromLabels(new float[10 * 64], 64, new int[10]);
        Assert.Throws<InvalidDataException>(() => other.Fit(otherData, new FitOptions { Optimizer = new Adam(), Checkpoint = new CheckpointOptions(path) }));
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void A_damaged_checkpoint_is_refused_and_changes_nothing()
    {
        var data = Data();
        var path = Path.Combine(_directory, "run.ckpt");
        new ResumableClassifier(seed: 1).Fit(data, Options(2, path));
        var good = File.ReadAllBytes(path);
        var random = new Random(3);
        for (var n = 0; n < 200; n++)
        {
            var damaged = good.ToArray();
            if (n % 2 == 0)
            {
                damaged = damaged[..random.Next(damaged.Length)];
            }
            else
            {
                damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8));
            }

            File.WriteAllBytes(path, damaged);
            var model = new ResumableClassifier(seed: 2);
            var before = model.Parameters.ToArray();
            try
            {
                model.Fit(data, Options(3, path));
            }
            catch (InvalidDataException)
            {
                Assert.Equal(before, model.Parameters.ToArray());
            }
            catch (TrainingDivergedException)
            {
                // A flipped exponent bit can leave a well-formed file whose weight is finite but huge: nothing can
                // tell that damage from a real value (the format has no checksum), and training then diverges.
            }
        }
    }

    [Fact]
    public void A_failed_checkpoint_save_leaves_the_previous_checkpoint()
    {
        var data = Data();
        var path = Path.Combine(_directory, "run.ckpt");
        new ResumableClassifier(seed: 1).Fit(data, Options(2, path));
        var previous = File.ReadAllBytes(path);

        // A callback that fails the run as the third epoch's checkpoint would be written: the file stays at epoch 2.
        Assert.Throws<InterruptedException>(() => new ResumableClassifier(seed: 1).Fit(data, Options(3, path, extra: [new Interrupt(3)])));

        Assert.Equal(previous, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    /// <summary>Fails the run at the end of an epoch, before that epoch's checkpoint, as a crash would.</summary>
    private sealed class Interrupt(int epoch) : TrainingCallback
    {
        public override EpochDecision OnEpochEnd(ITrainableModel model, EpochResult result) =>
            result.Epoch == epoch ? throw new InterruptedException() : EpochDecision.Continue;
    }

    private sealed class InterruptedException : Exception;
}
