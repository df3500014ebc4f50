using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Dropout's behaviour in training and inference, and classification end to end: labels, probabilities, accuracy.</summary>
public class ClassificationTests
{
    [Fact]
    public void Dropout_zeroes_about_rate_of_the_values_and_scales_the_rest()
    {
        var x = Enumerable.Range(0, 10_000).Select(i => 1f + (i % 7)).ToArray();
        var (y, mask, dy, dx) = (new float[x.Length], new float[x.Length], Enumerable.Repeat(2f, x.Length).ToArray(), new float[x.Length]);
        var random = new SeededRandom(3);

        Dropout.Forward(x, y, mask, rate: 0.3f, ref random);
        Dropout.Backward(mask, dy, dx);

        var dropped = mask.Count(m => m == 0f);
        Assert.InRange(dropped, 2_800, 3_200);
        Assert.All(mask, m => Assert.True(m == 0f || Math.Abs(m - (1 / 0.7f)) < 1e-6f));
        for (var i = 0; i < x.Length; i++)
        {
            Assert.Equal(x[i] * mask[i], y[i]);
            Assert.Equal(2f * mask[i], dx[i]);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.Forward(x, y, mask, rate: 1f, ref random));
    }

    [Fact]
    public void Dropout_masks_drop_every_column_alike_and_show_no_pattern_between_neighbours_or_calls()
    {
        // 50 masks of a 64 × 256 layer: the hashed indices must behave like independent draws.
        const int rows = 64, columns = 256, calls = 50;
        var (x, y, mask) = (Enumerable.Repeat(1f, rows * columns).ToArray(), new float[rows * columns], new float[rows * columns]);
        var random = new SeededRandom(11);
        var droppedPerColumn = new int[columns];
        long pairs = 0, bothDropped = 0, dropped = 0;
        float[]? previous = null;
        for (var call = 0; call < calls; call++)
        {
            Dropout.Forward(x, y, mask, rate: 0.2f, ref random);
            Assert.False(previous is not null && previous.SequenceEqual(mask), "two calls drew the same mask");
            previous = mask.ToArray();
            for (var i = 0; i < mask.Length; i++)
            {
                var isDropped = mask[i] == 0f;
                dropped += isDropped ? 1 : 0;
                droppedPerColumn[i % columns] += isDropped ? 1 : 0;
                if (i + 1 < mask.Length)
                {
                    pairs++;
                    bothDropped += isDropped && mask[i + 1] == 0f ? 1 : 0;
                }
            }
        }

        // Each column: 3,200 draws, standard deviation 0.007 around 0.2; ±0.05 is seven of them.
        Assert.All(droppedPerColumn, count => Assert.InRange(count / (double)(rows * calls), 0.15, 0.25));
        // Neighbours dropped together as often as independence says (p² = 0.04; standard deviation 0.0002 here).
        var rate = dropped / (double)(rows * columns * calls);
        Assert.InRange(bothDropped / (double)pairs, (rate * rate) - 0.002, (rate * rate) + 0.002);
    }

    [Fact]
    public void Dropout_is_off_when_predicting_and_repeatable_when_training()
    {
        var model = new DropoutClassifier(seed: 2);
        var random = new Random(5);
        var inputs = Enumerable.Range(0, 8 * DropoutClassifier.InputSize).Select(_ => random.NextSingle()).ToArray();
        float[] labels = [0, 1, 2, 3, 0, 1, 2, 3];

        var first = new float[8 * DropoutClassifier.OutputSize];
        var second = new float[first.Length];
        model.PredictBatch(inputs, first);
        model.PredictBatch(inputs, second);
        Assert.Equal(first, second);

        var stream = model.TrainingRandom;
        var loss = model.TrainStep(inputs, labels);
        var gradients = model.Gradients.ToArray();
        var again = model.TrainStep(inputs, labels);
        Assert.NotEqual(loss, again); // a new mask
        model.TrainingRandom = stream;
        Assert.Equal(loss, model.TrainStep(inputs, labels));
        Assert.Equal(gradients, model.Gradients.ToArray());
        Assert.NotEqual(model.ComputeLoss(inputs, labels), loss); // inference: no dropout
    }

    [Fact]
    public void Predictions_are_probabilities_and_labels_equal_one_hot_targets()
    {
        var model = new DropoutClassifier(seed: 4);
        var random = new Random(6);
        var inputs = Enumerable.Range(0, 5 * DropoutClassifier.InputSize).Select(_ => (random.NextSingle() * 4) - 2).ToArray();
        float[] labels = [3, 0, 2, 1, 3];
        var oneHot = labels.SelectMany(l => Enumerable.Range(0, 4).Select(c => c == l ? 1f : 0f)).ToArray();

        var probabilities = new float[5 * 4];
        model.PredictBatch(inputs, probabilities);
        for (var n = 0; n < 5; n++)
        {
            Assert.Equal(1.0, probabilities.Skip(n * 4).Take(4).Sum(), 5);
            Assert.All(probabilities.Skip(n * 4).Take(4), p => Assert.InRange(p, 0f, 1f));
        }

        Assert.Equal(model.ComputeLoss(inputs, labels), model.ComputeLoss(inputs, oneHot), 6);
        var manual = labels.Select((l, n) => -Math.Log(probabilities[(n * 4) + (int)l])).Average();
        Assert.Equal(manual, model.ComputeLoss(inputs, labels), 4);
        Assert.Throws<ArgumentException>(() => model.ComputeLoss(inputs, new float[7]));
        Assert.Throws<ArgumentException>(() => model.TrainStep(inputs, [0, 1, 2, 4, 0]));
    }

    [Fact]
    public void A_separable_problem_is_learned_and_evaluate_reports_accuracy()
    {
        // Four clusters in 64 dimensions: the class decides which block of 16 inputs is raised.
        var random = new Random(9);
        const int count = 400;
        var features = new float[count * 64];
        var labels = new byte[count];
        for (var n = 0; n < count; n++)
        {
            labels[n] = (byte)(n % 4);
            for (var i = 0; i < 64; i++)
            {
                features[(n * 64) + i] = (random.NextSingle() * 0.5f) + (i / 16 == labels[n] ? 0.8f : 0f);
            }
        }

        var data = Dataset.FromLabels(features, 64, labels);
        var model = new DropoutClassifier(seed: 1);
        var before = model.Evaluate(data);
        var history = model.Fit(data, new FitOptions { Epochs = 15, BatchSize = 32, Optimizer = new Adam(0.01f), ValidationSplit = 0.25f, Seed = 3 });
        var after = model.Evaluate(data);

        Assert.NotNull(after.Accuracy);
        Assert.Null(after.MeanAbsoluteError);
        Assert.InRange(before.Accuracy!.Value, 0f, 0.5f);
        Assert.True(after.Accuracy >= 0.95f, $"accuracy {after.Accuracy}");
        Assert.True(after.Loss < before.Loss / 4, $"loss {before.Loss} → {after.Loss}");
        Assert.NotNull(history.Epochs[^1].ValidationAccuracy);
    }

    [Fact]
    public void A_classification_training_step_allocates_nothing_after_warm_up()
    {
        var model = new DropoutClassifier();
        var optimizer = new Adam();
        var inputs = new float[32 * DropoutClassifier.InputSize];
        var labels = Enumerable.Range(0, 32).Select(i => (float)(i % 4)).ToArray();
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            model.TrainStep(inputs, labels);
            optimizer.Step(model.Parameters, model.Gradients);
        });
    }
}
