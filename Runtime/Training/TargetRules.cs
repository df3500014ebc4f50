using System;

namespace ModelGen;

/// <summary>
/// Which targets a model's loss can take: a whole class label from 0 to classes − 1 (softmax cross-entropy with one
/// label per sample), a value from 0 to 1 (binary cross-entropy) or any finite number (the regression losses). Used by
/// <c>Fit</c> and <c>Evaluate</c> on a whole <see cref="Dataset"/> before the first step, and by the streamed ones on
/// every batch as it is read: the losses themselves only ever see a batch and could not say which sample was wrong.
/// </summary>
internal readonly struct TargetRules
{
    private readonly bool _labels;
    private readonly bool _binary;
    private readonly int _classes;
    private readonly int _targetSize;
    private readonly bool _ignores;

    /// <summary>The rules of <paramref name="model"/>'s loss for targets of <paramref name="targetSize"/> floats per sample.</summary>
    public TargetRules(ITrainableModel model, int targetSize)
    {
        // A sequence's cross-entropy takes a class index per position, and −1 for a position that does not count.
        var positions = model.OutputPositions;
        _labels = model.Loss == Loss.SoftmaxCrossEntropy && targetSize == positions;
        _binary = model.Loss == Loss.BinaryCrossEntropy;
        _classes = model.OutputSize / positions;
        _targetSize = targetSize;
        _ignores = positions > 1;
    }

    /// <summary>Whether the targets are class labels, one per sample or per position of a sequence (softmax cross-entropy over a larger output).</summary>
    public bool Labels => _labels;

    /// <summary>The position in <paramref name="targets"/> of the first value the loss cannot take, or −1 when there is none.</summary>
    public int FindInvalid(ReadOnlySpan<float> targets)
    {
        if (_labels)
        {
            var classes = _classes;
            for (var i = 0; i < targets.Length; i++)
            {
                var label = targets[i];
                if (_ignores && label == -1f)
                {
                    continue;
                }

                if (!(label >= 0f && label < classes) || label != MathF.Floor(label))
                {
                    return i;
                }
            }

            return -1;
        }

        for (var i = 0; i < targets.Length; i++)
        {
            var target = targets[i];
            if (_binary ? !(target >= 0f && target <= 1f) : !float.IsFinite(target))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Why the value at <paramref name="position"/> of a sample-after-sample target array is refused, as a sentence
    /// about <paramref name="subject"/> (for example "Sample 12 of the dataset").
    /// </summary>
    public string Describe(float value, int position, string subject)
    {
        if (_labels)
        {
            return $"{subject} has the label {Text(value)}, but a class label must be a whole number from 0 to {_classes - 1} " +
                $"(the model has {_classes} classes{(_ignores ? " at each position; −1 marks one that does not count" : string.Empty)}).";
        }

        var where = _targetSize == 1 ? string.Empty : $" at output {position % _targetSize}";
        return _binary
            ? $"{subject} has the target {Text(value)}{where}, but binary cross-entropy takes targets from 0 to 1."
            : $"{subject} has the target {Text(value)}{where}, but targets must be finite numbers.";
    }

    /// <summary>The sample that holds the value at <paramref name="position"/> of a sample-after-sample target array.</summary>
    public int SampleOf(int position) => position / _targetSize;

    private static string Text(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
