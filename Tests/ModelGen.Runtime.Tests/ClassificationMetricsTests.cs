using System;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The confusion matrix and per-class precision, recall and F1: against a small case worked out by hand, then through
/// <see cref="ModelTraining.Evaluate{TModel}"/> on real models (softmax, one sigmoid output, several, regression).
/// </summary>
public class ClassificationMetricsTests
{
    /// <summary>
    /// Twelve samples of five classes, [actual, predicted]. Class 2 has samples but is never predicted, class 3 is
    /// predicted twice but has no samples, class 4 has neither.
    /// </summary>
    private static readonly long[,] HandCase =
    {
        { 3, 1, 0, 1, 0 },
        { 2, 2, 0, 0, 0 },
        { 1, 1, 0, 1, 0 },
        { 0, 0, 0, 0, 0 },
        { 0, 0, 0, 0, 0 },
    };

    [Fact]
    public void The_matrix_counts_rows_as_actual_classes_and_columns_as_predictions()
    {
        var confusion = new ConfusionMatrix(HandCase);

        Assert.Equal(5, confusion.Classes);
        Assert.Equal(12, confusion.Total);
        Assert.Equal(5, confusion.Correct);
        Assert.Equal(5 / 12.0, confusion.Accuracy, 12);
        Assert.Equal(1, confusion[0, 3]);   // a sample of class 0 taken for class 3
        Assert.Equal(2, confusion[1, 0]);
        Assert.Equal([5L, 4, 3, 0, 0], Enumerable.Range(0, 5).Select(confusion.Support));
        Assert.Equal([6L, 4, 0, 2, 0], Enumerable.Range(0, 5).Select(confusion.PredictedCount));
        Assert.Equal(HandCase, confusion.ToArray());

        var fractions = confusion.RowNormalized();
        Assert.Equal(0.6, fractions[0, 0], 12);
        Assert.Equal(0.2, fractions[0, 3], 12);
        Assert.Equal(1 / 3.0, fractions[2, 1], 12);
        Assert.Equal(0.0, fractions[3, 3]);  // no samples: a row of zeros, not NaN

        Assert.Throws<ArgumentOutOfRangeException>(() => confusion[5, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => confusion[0, -1]);
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(new long[2, 3]));
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(new long[0, 0]));
        Assert.Throws<ArgumentException>(() => new ConfusionMatrix(new long[,] { { 1, -1 }, { 0, 2 } }));
    }

    [Fact]
    public void Per_class_metrics_match_the_hand_computation_with_zero_for_every_zero_denominator()
    {
        var report = new ConfusionMatrix(HandCase).Report();

        // Class 0: tp 3 of 5 samples and 6 predictions. P = 3/6, R = 3/5, F1 = 2·3 / (5 + 6).
        AssertMetrics(report.PerClass[0], precision: 0.5, recall: 0.6, f1: 6 / 11.0, support: 5);
        // Class 1: tp 2 of 4 samples and 4 predictions.
        AssertMetrics(report.PerClass[1], precision: 0.5, recall: 0.5, f1: 0.5, support: 4);
        // Class 2, never predicted: precision 0/0 is taken as 0; recall 0/3; F1 0/(3 + 0).
        AssertMetrics(report.PerClass[2], precision: 0, recall: 0, f1: 0, support: 3);
        // Class 3, no samples: precision 0/2; recall 0/0 taken as 0; F1 0/(0 + 2).
        AssertMetrics(report.PerClass[3], precision: 0, recall: 0, f1: 0, support: 0);
        // Class 4, neither: every ratio 0/0.
        AssertMetrics(report.PerClass[4], precision: 0, recall: 0, f1: 0, support: 0);
        Assert.All(report.PerClass, m => Assert.True(double.IsFinite(m.Precision) && double.IsFinite(m.Recall) && double.IsFinite(m.F1)));

        // Macro: the mean over classes 0–3 (class 4 has neither samples nor predictions and is left out, as in
        // scikit-learn without explicit labels): P = (.5 + .5 + 0 + 0) / 4, R = (.6 + .5) / 4, F1 = (6/11 + 1/2) / 4 = 23/88.
        AssertMetrics(report.MacroAverage, precision: 0.25, recall: 0.275, f1: 23 / 88.0, support: 12);
        // Weighted by support 5, 4, 3: P = (5·.5 + 4·.5) / 12, R = (5·.6 + 4·.5) / 12 (= the accuracy),
        // F1 = (5·6/11 + 4·.5) / 12 = 13/33.
        AssertMetrics(report.WeightedAverage, precision: 0.375, recall: 5 / 12.0, f1: 13 / 33.0, support: 12);
        Assert.Equal(5 / 12.0, report.Accuracy!.Value, 12);
        Assert.False(report.MultiLabel);
        Assert.Equal(6, report.PredictedCount(0));
    }

    [Fact]
    public void Class_metrics_from_counts_follow_the_formulas_and_check_their_arguments()
    {
        AssertMetrics(ClassMetrics.FromCounts(truePositives: 8, support: 10, predicted: 16), 0.5, 0.8, 16 / 26.0, 10);
        AssertMetrics(ClassMetrics.FromCounts(0, 0, 0), 0, 0, 0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassMetrics.FromCounts(-1, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassMetrics.FromCounts(4, 3, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassMetrics.FromCounts(4, 5, 3));
    }

    [Fact]
    public void The_report_prints_a_table_with_class_names_averages_and_the_zero_division_notes()
    {
        var report = new ConfusionMatrix(HandCase).Report();
        var table = report.ToString(["cat", "dog", "bird", "fish", "newt"]);
        var lines = table.Split('\n');

        Assert.Equal("class         precision     recall   f1-score    support", lines[0]);
        Assert.Equal("cat              0.5000     0.6000     0.5455          5", lines[1]);
        Assert.Equal("bird             0.0000     0.0000     0.0000          3", lines[3]);
        Assert.Equal("", lines[6]);
        Assert.Equal("accuracy                               0.4167         12", lines[7]);
        Assert.Equal("macro avg        0.2500     0.2750     0.2614         12", lines[8]);
        Assert.Equal("weighted avg     0.3750     0.4167     0.3939         12", lines[9]);
        Assert.Equal("bird: never predicted (precision and F1 taken as 0)", lines[10]);
        Assert.Equal("fish: no samples (recall and F1 taken as 0)", lines[11]);
        Assert.Equal("newt: neither samples nor predictions (all 0, left out of the macro average)", lines[12]);
        Assert.StartsWith("0 ", report.ToString().Split('\n')[1]);
        Assert.Throws<ArgumentException>(() => report.ToString(["too", "few"]));

        var grid = new ConfusionMatrix(HandCase).ToString(["cat", "dog", "bird", "fish", "newt"]).Split('\n');
        Assert.Equal("actual \\ predicted  0  1  2  3  4", grid[0]);
        Assert.Equal("0 cat               3  1  0  1  0", grid[1]);
    }

    [Fact]
    public void A_multi_label_report_has_a_row_per_output_for_its_positive_side()
    {
        // Output 0: 6 positives, 4 found, 1 false alarm. Output 1: no positive sample and never predicted positive.
        var labels = new[] { new ConfusionMatrix(new long[,] { { 9, 1 }, { 2, 4 } }), new ConfusionMatrix(new long[,] { { 16, 0 }, { 0, 0 } }) };
        var report = ClassificationReport.FromLabelConfusions(labels);

        Assert.True(report.MultiLabel);
        Assert.Null(report.Accuracy);
        AssertMetrics(report.PerClass[0], precision: 0.8, recall: 4 / 6.0, f1: 8 / 11.0, support: 6);
        AssertMetrics(report.PerClass[1], 0, 0, 0, 0);
        AssertMetrics(report.MacroAverage, precision: 0.8, recall: 4 / 6.0, f1: 8 / 11.0, support: 6);  // output 1 left out
        Assert.Contains("1: neither samples nor predictions", report.ToString());
        Assert.DoesNotContain("accuracy", report.ToString());
        Assert.Throws<ArgumentException>(() => ClassificationReport.FromLabelConfusions([new ConfusionMatrix(new long[3, 3])]));
    }

    [Fact]
    public void Matrices_reports_and_results_compare_by_value()
    {
        Assert.Equal(new ConfusionMatrix(HandCase), new ConfusionMatrix(HandCase));
        Assert.Equal(new ConfusionMatrix(HandCase).GetHashCode(), new ConfusionMatrix(HandCase).GetHashCode());
        var other = (long[,])HandCase.Clone();
        other[4, 4] = 1;
        Assert.NotEqual(new ConfusionMatrix(HandCase), new ConfusionMatrix(other));
        Assert.Equal(new ConfusionMatrix(HandCase).Report(), ClassificationReport.FromConfusion(new ConfusionMatrix(HandCase)));

        var data = Clusters(count: 40, seed: 1, withoutClass: -1);
        var model = new DropoutClassifier(seed: 1);
        Assert.Equal(model.Evaluate(data), model.Evaluate(data));
        Assert.Contains("MacroF1 = ", model.Evaluate(data).ToString());
    }

    [Fact]
    public void Evaluate_counts_each_sample_where_its_label_and_the_most_probable_class_put_it()
    {
        // Trained without class 3: the model never predicts it, and the report shows it instead of hiding it in the accuracy.
        var model = new DropoutClassifier(seed: 1);
        model.Fit(Clusters(count: 400, seed: 9, withoutClass: 3), new FitOptions { Epochs = 10, BatchSize = 32, Optimizer = new Adam(0.01f), Seed = 3 });
        var test = Clusters(count: 600, seed: 10, withoutClass: -1);   // 600 samples: three chunks of Evaluate's 256

        var result = model.Evaluate(test);

        var expected = new long[4, 4];
        var probabilities = new float[test.Count * 4];
        model.PredictBatch(test.Features, probabilities);
        for (var n = 0; n < test.Count; n++)
        {
            var row = probabilities.AsSpan(n * 4, 4).ToArray();
            expected[(int)test.Targets[n], Array.IndexOf(row, row.Max())]++;
        }

        var confusion = result.Confusion!;
        Assert.Equal(expected, confusion.ToArray());
        Assert.Equal(test.Count, confusion.Total);
        Assert.Equal((float)confusion.Accuracy, result.Accuracy);
        Assert.Equal(confusion.Report(), result.Report);
        Assert.Same(result.Report!.PerClass, result.PerClass);
        Assert.Null(result.LabelConfusions);

        Assert.Equal(0, confusion.PredictedCount(3));
        Assert.Equal(150, confusion.Support(3));
        AssertMetrics(result.PerClass![3], precision: 0, recall: 0, f1: 0, support: 150);
        for (var c = 0; c < 3; c++)
        {
            Assert.True(result.PerClass[c].Recall >= 0.95, $"class {c}'s recall {result.PerClass[c].Recall}");
        }

        // Class 3's 150 samples were taken for the other three: one of them got at least 50, so its precision is at most 150 / 200.
        Assert.Contains(result.PerClass.Take(3), m => m.Precision <= 0.75);
        Assert.InRange(result.Report.MacroAverage.F1, 0.4, 0.8);
        Assert.Contains("3: never predicted (precision and F1 taken as 0)", result.Report.ToString());
    }

    [Fact]
    public void Evaluate_reads_one_sigmoid_output_as_two_classes_and_several_as_one_yes_no_matrix_each()
    {
        var random = new Random(4);
        var spiral = new SpiralRelu(seed: 2);
        var points = Enumerable.Range(0, 300 * 2).Select(_ => (random.NextSingle() * 2) - 1).ToArray();
        var sides = Enumerable.Range(0, 300).Select(n => points[2 * n] > 0 ? 1f : 0f).ToArray();
        var binary = spiral.Evaluate(new Dataset(points, 2, sides, 1));

        var outputs = new float[300];
        spiral.PredictBatch(points, outputs);
        var counts = new long[2, 2];
        for (var n = 0; n < 300; n++)
        {
            counts[(int)sides[n], outputs[n] >= 0.5f ? 1 : 0]++;
        }

        Assert.Equal(counts, binary.Confusion!.ToArray());
        Assert.Equal(2, binary.PerClass!.Count);
        Assert.Equal((float)binary.Confusion.Accuracy, binary.Accuracy);
        Assert.Null(binary.LabelConfusions);

        var twoLabels = new TwoLabelClassifier(seed: 3);
        var features = Enumerable.Range(0, 50 * 6).Select(_ => random.NextSingle()).ToArray();
        var targets = Enumerable.Range(0, 50 * 2).Select(i => i % 2 == 0 ? 1f : random.NextSingle()).ToArray();
        var multi = twoLabels.Evaluate(new Dataset(features, 6, targets, 2));

        var probabilities = new float[50 * 2];
        twoLabels.PredictBatch(features, probabilities);
        Assert.Null(multi.Confusion);
        Assert.Equal(2, multi.LabelConfusions!.Count);
        for (var o = 0; o < 2; o++)
        {
            var positives = Enumerable.Range(0, 50).Count(n => targets[(n * 2) + o] >= 0.5f);
            var predictedPositive = Enumerable.Range(0, 50).Count(n => probabilities[(n * 2) + o] >= 0.5f);
            var both = Enumerable.Range(0, 50).Count(n => targets[(n * 2) + o] >= 0.5f && probabilities[(n * 2) + o] >= 0.5f);
            Assert.Equal(50, multi.LabelConfusions[o].Total);
            Assert.Equal(positives, multi.LabelConfusions[o].Support(1));
            Assert.Equal(predictedPositive, multi.LabelConfusions[o].PredictedCount(1));
            Assert.Equal(both, multi.LabelConfusions[o][1, 1]);
            Assert.Equal(ClassMetrics.FromCounts(both, positives, predictedPositive), multi.PerClass![o]);
        }

        Assert.Equal(50, multi.PerClass![0].Support);   // every target of output 0 is 1
        Assert.True(multi.Report!.MultiLabel);
        var correct = multi.LabelConfusions.Sum(m => m.Correct);
        Assert.Equal((float)(correct / 100.0), multi.Accuracy);
    }

    [Fact]
    public void Beyond_1024_classes_Evaluate_reports_per_class_metrics_without_the_full_matrix()
    {
        var model = new ManyClassClassifier(seed: 7);
        var random = new Random(8);
        const int count = 300;
        var features = Enumerable.Range(0, count * 4).Select(_ => (random.NextSingle() * 8) - 4).ToArray();
        var probabilities = new float[count * ManyClassClassifier.OutputSize];
        model.PredictBatch(features, probabilities);
        // Half the labels are the model's own answer, so that some classes have true positives.
        var predicted = Enumerable.Range(0, count).Select(n => TensorIndexOfMax(probabilities.AsSpan(n * ManyClassClassifier.OutputSize, ManyClassClassifier.OutputSize))).ToArray();
        var labels = Enumerable.Range(0, count).Select(n => n % 2 == 0 ? predicted[n] : random.Next(ManyClassClassifier.OutputSize)).ToArray();
        var full = new long[ManyClassClassifier.OutputSize, ManyClassClassifier.OutputSize];
        for (var n = 0; n < count; n++)
        {
            full[labels[n], predicted[n]]++;
        }

        var result = model.Evaluate(Dataset.FromLabels(features, 4, labels));

        Assert.Null(result.Confusion);
        var expected = new ConfusionMatrix(full).Report();
        Assert.Equal(expected, result.Report);
        Assert.Equal((float)expected.Accuracy!.Value, result.Accuracy);
        Assert.True(expected.Accuracy >= 0.5);
    }

    [Fact]
    public void Regression_results_carry_no_classification_metrics()
    {
        var result = new Line(seed: 1).Evaluate(new Dataset([1f, 2f, 3f], 1, [2f, 4f, 6f], 1));

        Assert.NotNull(result.MeanAbsoluteError);
        Assert.Null(result.Accuracy);
        Assert.Null(result.Confusion);
        Assert.Null(result.LabelConfusions);
        Assert.Null(result.Report);
        Assert.Null(result.PerClass);
    }

    [Fact]
    public void Evaluate_allocates_the_same_for_eight_chunks_as_for_one()
    {
        // The counts live in one array per call: more batches must not mean more allocation.
        var model = new DropoutClassifier(seed: 1);
        var one = Clusters(count: 256, seed: 5, withoutClass: -1);
        var eight = Clusters(count: 8 * 256, seed: 6, withoutClass: -1);
        long Allocated(Dataset data)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            model.Evaluate(data);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        for (var i = 0; i < 20; i++)
        {
            Allocated(one);
            Allocated(eight);
        }

        // The smallest difference over a few tries: a one-off runtime allocation (tiering) can land in any single one.
        var difference = Enumerable.Range(0, 5).Min(_ => Allocated(eight) - Allocated(one));
        Assert.Equal(0, difference);
    }

    /// <summary>Four clusters in 64 dimensions, the class raising one block of 16 inputs; optionally one class left out.</summary>
    private static Dataset Clusters(int count, int seed, int withoutClass)
    {
        var random = new Random(seed);
        var classes = Enumerable.Range(0, 4).Where(c => c != withoutClass).ToArray();
        var features = new float[count * 64];
        var labels = new byte[count];
        for (var n = 0; n < count; n++)
        {
            labels[n] = (byte)classes[n % classes.Length];
            for (var i = 0; i < 64; i++)
            {
                features[(n * 64) + i] = (random.NextSingle() * 0.5f) + (i / 16 == labels[n] ? 0.8f : 0f);
            }
        }

        return Dataset.FromLabels(features, 64, labels);
    }

    private static int TensorIndexOfMax(ReadOnlySpan<float> values) => System.Numerics.Tensors.TensorPrimitives.IndexOfMax(values);

    private static void AssertMetrics(ClassMetrics actual, double precision, double recall, double f1, long support)
    {
        Assert.Equal(precision, actual.Precision, 12);
        Assert.Equal(recall, actual.Recall, 12);
        Assert.Equal(f1, actual.F1, 12);
        Assert.Equal(support, actual.Support);
    }
}

/// <summary>More classes than Evaluate keeps a full confusion matrix for (1024): per-class counts only.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(4)]
[Dense(1025)]
public partial class ManyClassClassifier;
