using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Validation split and callbacks, EarlyStopping above all.</summary>
public class CallbackTests
{
    [Fact]
    public void Validation_uses_the_last_samples_and_never_trains_on_them()
    {
        // The held-out tenth has targets so large that their squared error overflows: training on any of it would
        // diverge, measuring it gives an infinite loss.
        var data = Data(100);
        var targets = data.Targets.ToArray();
        targets.AsSpan(90 * 3).Fill(3e38f);
        var poisoned = new Dataset(data.Features.ToArray(), 20, targets, 3);

        var history = new SmallMlp(seed: 1).Fit(poisoned, new FitOptions { Epochs = 3, ValidationSplit = 0.1f, Seed = 2 });

        Assert.Equal(3, history.Epochs.Count);
        Assert.All(history.Epochs, e => Assert.True(float.IsFinite(e.Loss)));
        Assert.All(history.Epochs, e => Assert.True(e.ValidationLoss is { } v && float.IsPositiveInfinity(v)));
    }

    [Fact]
    public void Validation_loss_is_the_held_out_evaluation()
    {
        var data = Data(100);
        var model = new SmallMlp(seed: 1);

        var history = model.Fit(data, new FitOptions { Epochs = 2, ValidationSplit = 0.25f, Optimizer = new Adam(0.01f), Seed = 2 });

        Assert.Equal(model.Evaluate(data.Take(75, 25)).Loss, history.Epochs[^1].ValidationLoss);
        Assert.Null(new SmallMlp().Fit(data, new FitOptions { Epochs = 1 }).Epochs[0].ValidationLoss);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1f)]
    [InlineData(0.001f)]
    public void Impossible_validation_splits_are_rejected(float split)
    {
        Assert.ThrowsAny<ArgumentException>(() => new SmallMlp().Fit(Data(100), new FitOptions { ValidationSplit = split }));
    }

    [Fact]
    public void Early_stopping_waits_patience_epochs_without_improvement()
    {
        // An improvement must exceed 1.0, which never happens: the best epoch stays the first, and training stops
        // once `patience` more epochs have passed.
        var stopper = new EarlyStopping(patience: 2, minDelta: 1f);
        var history = new SmallMlp(seed: 1).Fit(Data(64), new FitOptions { Epochs = 50, Callbacks = { stopper } });

        Assert.Equal(3, history.Epochs.Count);
        Assert.Equal(1, stopper.BestEpoch);
        Assert.Equal(3, stopper.StoppedEpoch);
    }

    [Fact]
    public void Early_stopping_runs_on_while_the_loss_improves()
    {
        var stopper = new EarlyStopping(patience: 0);
        var history = new SmallMlp(seed: 1).Fit(Data(64), new FitOptions { Epochs = 8, Optimizer = new Adam(0.001f), Callbacks = { stopper } });

        Assert.Equal(8, history.Epochs.Count);
        Assert.Equal(0, stopper.StoppedEpoch);
        Assert.Equal(8, stopper.BestEpoch);
    }

    [Fact]
    public void Restoring_best_weights_puts_back_the_best_epochs_parameters()
    {
        var recorder = new ParameterRecorder();
        var stopper = new EarlyStopping(patience: 3, minDelta: 1f, restoreBestWeights: true);
        var model = new SmallMlp(seed: 1);

        model.Fit(Data(64), new FitOptions { Epochs = 20, Optimizer = new Adam(0.01f), Callbacks = { recorder, stopper } });

        Assert.Equal(4, recorder.Snapshots.Count);
        Assert.NotEqual(recorder.Snapshots[0], recorder.Snapshots[3]);
        Assert.Equal(recorder.Snapshots[0], model.Parameters.ToArray());
    }

    [Fact]
    public void Callbacks_see_begin_every_epoch_and_end()
    {
        var recorder = new ParameterRecorder();
        new SmallMlp().Fit(Data(32), new FitOptions { Epochs = 3, Callbacks = { recorder } });

        Assert.Equal(["begin", "epoch 1", "epoch 2", "epoch 3", "end"], recorder.Events);
    }

    private static Dataset Data(int count)
    {
        var random = new Random(count);
        var features = Enumerable.Range(0, count * 20).Select(_ => random.NextSingle()).ToArray();
        var targets = Enumerable.Range(0, count * 3).Select(_ => random.NextSingle()).ToArray();
        return new Dataset(features, 20, targets, 3);
    }

    private sealed class ParameterRecorder : TrainingCallback
    {
        public List<float[]> Snapshots { get; } = [];

        public List<string> Events { get; } = [];

        public override void OnTrainingBegin(ITrainableModel model) => Events.Add("begin");

        public override EpochDecision OnEpochEnd(ITrainableModel model, EpochResult epoch)
        {
            Events.Add($"epoch {epoch.Epoch}");
            Snapshots.Add(model.Parameters.ToArray());
            return EpochDecision.Continue;
        }

        public override void OnTrainingEnd(ITrainableModel model) => Events.Add("end");
    }
}
