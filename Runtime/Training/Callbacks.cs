using System;
using ModelGen.Serialization;

namespace ModelGen;

/// <summary>What training does after an epoch.</summary>
public enum EpochDecision
{
    /// <summary>Go on to the next epoch.</summary>
    Continue,

    /// <summary>Stop after this epoch.</summary>
    Stop,
}

/// <summary>Hooks into <see cref="ModelTraining.Fit{TModel}(TModel, Dataset, FitOptions, IProgress{EpochResult})"/>; override the ones you need.</summary>
public abstract class TrainingCallback
{
    /// <summary>Before the first epoch.</summary>
    public virtual void OnTrainingBegin(ITrainableModel model)
    {
    }

    /// <summary>After each epoch, once its results are known.</summary>
    /// <returns><see cref="EpochDecision.Stop"/> to end training after this epoch.</returns>
    public virtual EpochDecision OnEpochEnd(ITrainableModel model, EpochResult epoch) => EpochDecision.Continue;

    /// <summary>After the last epoch, whether training ran to the end or was stopped.</summary>
    public virtual void OnTrainingEnd(ITrainableModel model)
    {
    }
}

/// <summary>
/// Stops training once the monitored loss has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> epochs, as Keras' <c>EarlyStopping</c> does. It monitors the validation loss when the
/// epoch has one, else the training loss.
/// </summary>
public sealed class EarlyStopping : TrainingCallback, ICheckpointedCallback
{
    private float[]? _bestParameters;
    private float _best;
    private int _epochsWithoutImprovement;

    /// <summary>Creates the callback.</summary>
    /// <param name="patience">Training stops after this many epochs in a row without improvement (at least one; Keras' default is 0, which also stops at the first).</param>
    /// <param name="minDelta">The least decrease that counts as an improvement.</param>
    /// <param name="restoreBestWeights">Whether to put back, when training ends, the parameters of the best epoch.</param>
    public EarlyStopping(int patience = 0, float minDelta = 0f, bool restoreBestWeights = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        if (!(minDelta >= 0f) || float.IsInfinity(minDelta))
        {
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be a non-negative, finite number.");
        }

        Patience = patience;
        MinDelta = minDelta;
        RestoreBestWeights = restoreBestWeights;
    }

    /// <summary>Training stops after this many epochs in a row without improvement.</summary>
    public int Patience { get; }

    /// <summary>The least decrease that counts as an improvement.</summary>
    public float MinDelta { get; }

    /// <summary>Whether the best epoch's parameters are restored when training ends.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The epoch with the lowest monitored loss so far (0 before the first).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The epoch after which training was stopped, or 0 if it was not.</summary>
    public int StoppedEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainingBegin(ITrainableModel model)
    {
        _best = float.PositiveInfinity;
        _epochsWithoutImprovement = 0;
        BestEpoch = 0;
        StoppedEpoch = 0;
    }

    /// <inheritdoc/>
    public override EpochDecision OnEpochEnd(ITrainableModel model, EpochResult epoch)
    {
        var loss = epoch.ValidationLoss ?? epoch.Loss;
        if (loss < _best - MinDelta || BestEpoch == 0)
        {
            _best = loss;
            BestEpoch = epoch.Epoch;
            _epochsWithoutImprovement = 0;
            if (RestoreBestWeights)
            {
                _bestParameters ??= new float[model.Parameters.Length];
                model.Parameters.CopyTo(_bestParameters);
            }

            return EpochDecision.Continue;
        }

        if (++_epochsWithoutImprovement >= Patience)
        {
            StoppedEpoch = epoch.Epoch;
            return EpochDecision.Stop;
        }

        return EpochDecision.Continue;
    }

    /// <inheritdoc/>
    public override void OnTrainingEnd(ITrainableModel model)
    {
        if (RestoreBestWeights && _bestParameters is not null)
        {
            _bestParameters.CopyTo(model.Parameters);
        }
    }

    void ICheckpointedCallback.Save(SafeTensorsWriter writer, string prefix)
    {
        writer.AddSingles(prefix + ".best_loss", [1], [_best]);
        writer.AddInt32s(prefix + ".counters", [3], [_epochsWithoutImprovement, BestEpoch, StoppedEpoch]);
        if (_bestParameters is not null)
        {
            writer.AddSingles(prefix + ".best_parameters", [_bestParameters.Length], _bestParameters);
        }
    }

    Action ICheckpointedCallback.PrepareRestore(SafeTensorsFile parsed, ReadOnlySpan<byte> file, string prefix, ITrainableModel model, string source)
    {
        var best = parsed.ReadSingles(file, prefix + ".best_loss", [1], source, allowNonFinite: true)[0];
        var counters = parsed.ReadInt32s(file, prefix + ".counters", "I32", [3], source);
        var parameters = parsed.Entries.ContainsKey(prefix + ".best_parameters")
            ? parsed.ReadSingles(file, prefix + ".best_parameters", [model.Parameters.Length], source)
            : null;
        if (counters[0] < 0 || counters[1] < 0 || counters[2] < 0)
        {
            throw SafeTensorsFile.Corrupt(source, $"the early-stopping counters of '{prefix}' are negative");
        }

        return () =>
        {
            _best = best;
            (_epochsWithoutImprovement, BestEpoch, StoppedEpoch) = (counters[0], counters[1], counters[2]);
            _bestParameters = parameters;
        };
    }
}

/// <summary>A callback whose progress a checkpoint keeps, so that a resumed run decides as an uninterrupted one would.</summary>
internal interface ICheckpointedCallback
{
    /// <summary>Adds the callback's state to a checkpoint, under names that start with <paramref name="prefix"/>.</summary>
    void Save(SafeTensorsWriter writer, string prefix);

    /// <summary>Checks the callback's state in a checkpoint and returns what puts it back; nothing changes before that is called.</summary>
    Action PrepareRestore(SafeTensorsFile parsed, ReadOnlySpan<byte> file, string prefix, ITrainableModel model, string source);
}
