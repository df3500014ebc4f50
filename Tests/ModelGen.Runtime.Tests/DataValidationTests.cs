using System;
using System.Linq;
using ModelGen.Losses;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Fit and Evaluate check every target before the first step: a bad one is named by its index in the dataset, with
/// its value and what was allowed, and a failed Fit leaves the model as it was.
/// </summary>
public class DataValidationTests
{
    [Theory]
    [InlineData(4f)]
    [InlineData(-1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void Fit_refuses_a_label_outside_the_classes_before_the_first_step(float label)
    {
        // 40 samples in shuffled batches of 8: sample 37 would come in a later batch, after steps had changed the weights.
        var data = Labelled(40, badIndex: 37, badLabel: label);
        var model = new DropoutClassifier(seed: 3);
        var before = model.Parameters.ToArray();
        var randomBefore = model.TrainingRandom;

        var error = Assert.Throws<ArgumentException>(() =>
            model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 8, Optimizer = new Adam(1e-2f), Seed = 4 }));

        Assert.Equal("data", error.ParamName);
        Assert.Contains("Sample 37 of the dataset", error.Message);
        Assert.Contains($"label {label.ToString(System.Globalization.CultureInfo.InvariantCulture)},", error.Message);
        Assert.Contains("from 0 to 3", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());
        Assert.Equal(randomBefore, model.TrainingRandom);
    }

    [Fact]
    public void Evaluate_names_the_dataset_index_of_a_bad_label_beyond_the_first_chunk()
    {
        // Evaluation runs in chunks of 256 samples: the index must be the dataset's, not the chunk's (300 − 256 = 44).
        var data = Labelled(310, badIndex: 300, badLabel: 10f);

        var error = Assert.Throws<ArgumentException>(() => new DropoutClassifier(seed: 1).Evaluate(data));

        Assert.Contains("Sample 300 of the dataset has the label 10,", error.Message);
        Assert.Contains("from 0 to 3", error.Message);
    }

    [Fact]
    public void Fit_checks_the_validation_data_before_the_first_step_too()
    {
        var model = new DropoutClassifier(seed: 3);
        var before = model.Parameters.ToArray();

        var error = Assert.Throws<ArgumentException>(() => model.Fit(Labelled(40), new FitOptions
        {
            Epochs = 1,
            BatchSize = 8,
            ValidationData = Labelled(12, badIndex: 5, badLabel: 7f),
        }));

        Assert.Equal("options", error.ParamName);
        Assert.Contains("Sample 5 of the validation data", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());

        var shape = Assert.Throws<ArgumentException>(() => model.Fit(Labelled(40), new FitOptions
        {
            ValidationData = new Dataset(new float[2 * 64], 64, new float[2 * 3], 3),
        }));
        Assert.Contains("4 outputs", shape.Message);
        Assert.Contains("3 targets", shape.Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Fit_and_Evaluate_refuse_a_target_that_is_not_finite(float target)
    {
        var features = Enumerable.Range(0, 50 * 20).Select(i => (i % 13) / 13f).ToArray();
        var targets = Enumerable.Range(0, 50 * 3).Select(i => (i % 5) / 5f).ToArray();
        targets[(41 * 3) + 2] = target;
        var data = new Dataset(features, 20, targets, 3);
        var model = new SmallMlp(seed: 1);
        var before = model.Parameters.ToArray();

        var fit = Assert.Throws<ArgumentException>(() => model.Fit(data, new FitOptions { Epochs = 1, BatchSize = 10 }));
        var evaluate = Assert.Throws<ArgumentException>(() => model.Evaluate(data));

        foreach (var error in new[] { fit, evaluate })
        {
            Assert.Contains("Sample 41 of the dataset", error.Message);
            Assert.Contains("at output 2", error.Message);
            Assert.Contains("finite", error.Message);
        }

        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Theory]
    [InlineData(2f)]
    [InlineData(-0.5f)]
    [InlineData(1.0000001f)]
    [InlineData(float.NaN)]
    public void Binary_cross_entropy_refuses_targets_outside_zero_to_one_before_the_first_step(float target)
    {
        var data = TwoLabels(30, badIndex: 23, badOutput: 1, badTarget: target);
        var model = new TwoLabelClassifier(seed: 2);
        var before = model.Parameters.ToArray();

        var fit = Assert.Throws<ArgumentException>(() => model.Fit(data, new FitOptions { Epochs = 2, BatchSize = 4, Seed = 1 }));
        var evaluate = Assert.Throws<ArgumentException>(() => model.Evaluate(data));

        foreach (var error in new[] { fit, evaluate })
        {
            Assert.Contains("Sample 23 of the dataset", error.Message);
            Assert.Contains("at output 1", error.Message);
            Assert.Contains("from 0 to 1", error.Message);
        }

        Assert.Equal(before, model.Parameters.ToArray());

        // Called directly (a training step of the generated model), the loss refuses it too.
        Assert.Throws<ArgumentException>(() => BinaryCrossEntropy.Value([0.5f, -1f], [0f, target]));
        Assert.Throws<ArgumentException>(() => model.TrainStep(data.Features, data.Targets));
    }

    [Fact]
    public void Binary_cross_entropy_trains_on_targets_from_zero_to_one_inclusive()
    {
        var data = TwoLabels(30);
        var model = new TwoLabelClassifier(seed: 2);

        var history = model.Fit(data, new FitOptions { Epochs = 3, BatchSize = 4, Seed = 1 });

        Assert.All(history.Loss, loss => Assert.True(float.IsFinite(loss)));
        Assert.NotNull(model.Evaluate(data).Accuracy);
    }

    /// <summary>Four classes of 64 features (DropoutClassifier's shape), labels cycling 0–3, one optionally replaced.</summary>
    private static Dataset Labelled(int count, int badIndex = -1, float badLabel = 0f)
    {
        var features = Enumerable.Range(0, count * 64).Select(i => (i % 17) / 17f).ToArray();
        var labels = Enumerable.Range(0, count).Select(i => (float)(i % 4)).ToArray();
        if (badIndex >= 0)
        {
            labels[badIndex] = badLabel;
        }

        return new Dataset(features, 64, labels, 1);
    }

    /// <summary>Two yes/no targets per sample of 6 features, including the ends 0 and 1 and a soft 0.25, one optionally replaced.</summary>
    private static Dataset TwoLabels(int count, int badIndex = -1, int badOutput = 0, float badTarget = 0f)
    {
        var features = Enumerable.Range(0, count * 6).Select(i => (i % 7) / 7f).ToArray();
        var targets = Enumerable.Range(0, count * 2).Select(i => (i % 3) switch { 0 => 0f, 1 => 1f, _ => 0.25f }).ToArray();
        if (badIndex >= 0)
        {
            targets[(badIndex * 2) + badOutput] = badTarget;
        }

        return new Dataset(features, 6, targets, 2);
    }
}
