using System;

namespace ModelGen;

/// <summary>
/// What <c>Evaluate</c> sums over the chunks of a dataset, in memory or streamed: the loss, and the classification
/// counts (softmax and binary cross-entropy) or the absolute error (regression). Chunks must be added in order for
/// the sums, and so the result, to be the same bits whatever the data came from.
/// </summary>
internal sealed class EvaluationTally
{
    private readonly Loss _loss;
    private readonly int _outputs;

    /// <summary>
    /// The classification counts, one array for the whole evaluation: a confusion matrix [actual × outputs + predicted]
    /// (softmax), per-class tallies beyond <see cref="Metrics.MaxConfusionClasses"/>, or a 2 × 2 matrix per output
    /// (binary).
    /// </summary>
    private readonly long[]? _counts;

    private double _lossSum;
    private double _absoluteErrorSum;

    /// <summary>An empty tally for <paramref name="model"/>'s loss and outputs.</summary>
    public EvaluationTally(ITrainableModel model)
    {
        _loss = model.Loss;
        // The classes at each position: each position of a sequence is classified (accuracy per position).
        _outputs = model.OutputSize / model.OutputPositions;
        _counts = _loss switch
        {
            Loss.SoftmaxCrossEntropy => new long[_outputs <= Metrics.MaxConfusionClasses ? _outputs * _outputs : 3 * _outputs],
            Loss.BinaryCrossEntropy => new long[4 * _outputs],
            _ => null,
        };
    }

    /// <summary>Adds a chunk of <paramref name="count"/> samples: its mean loss, the model's outputs and the targets.</summary>
    public void Add(float loss, int count, ReadOnlySpan<float> outputs, ReadOnlySpan<float> targets)
    {
        _lossSum += (double)loss * count;
        switch (_loss)
        {
            case Loss.SoftmaxCrossEntropy when _outputs <= Metrics.MaxConfusionClasses:
                Metrics.CountClasses(outputs, targets, _outputs, _counts!);
                break;
            case Loss.SoftmaxCrossEntropy:
                Metrics.TallyClasses(outputs, targets, _outputs, _counts!);
                break;
            case Loss.BinaryCrossEntropy:
                Metrics.CountBinary(outputs, targets, _outputs, _counts!);
                break;
            default:
                _absoluteErrorSum += Metrics.SumAbsoluteDifference(outputs, targets);
                break;
        }
    }

    /// <summary>The loss and metrics over all <paramref name="length"/> samples added, whose targets are <paramref name="targetSize"/> floats each.</summary>
    public EvaluationResult Result(int length, int targetSize)
    {
        var loss = (float)(_lossSum / length);
        var outputs = _outputs;
        var counts = _counts;
        switch (_loss)
        {
            case Loss.SoftmaxCrossEntropy when outputs <= Metrics.MaxConfusionClasses:
            {
                var confusion = new ConfusionMatrix(counts!, outputs);
                // Over what was classified: one classification a sample, or one a counted position of a sequence.
                return new EvaluationResult(loss, null, (float)confusion.Accuracy, length)
                {
                    Confusion = confusion,
                    Report = confusion.Report(),
                };
            }

            case Loss.SoftmaxCrossEntropy:
            {
                var report = ClassificationReport.FromClassCounts(
                    counts![(2 * outputs)..], counts[..outputs], counts[outputs..(2 * outputs)]);
                return new EvaluationResult(loss, null, (float)report.Accuracy!.Value, length) { Report = report };
            }

            case Loss.BinaryCrossEntropy:
            {
                var labels = new ConfusionMatrix[outputs];
                long correct = 0;
                for (var o = 0; o < outputs; o++)
                {
                    labels[o] = new ConfusionMatrix(counts![(4 * o)..((4 * o) + 4)], 2);
                    correct += labels[o].Correct;
                }

                var accuracy = (float)(correct / ((double)length * outputs));
                return outputs == 1
                    ? new EvaluationResult(loss, null, accuracy, length) { Confusion = labels[0], Report = labels[0].Report() }
                    : new EvaluationResult(loss, null, accuracy, length)
                    {
                        LabelConfusions = Array.AsReadOnly(labels),
                        Report = ClassificationReport.FromLabelConfusions(labels),
                    };
            }

            default:
                return new EvaluationResult(loss, (float)(_absoluteErrorSum / ((double)length * targetSize)), null, length);
        }
    }
}
