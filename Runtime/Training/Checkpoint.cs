using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using ModelGen.Serialization;

namespace ModelGen;

/// <summary>
/// Where and how often <see cref="ModelTraining.Fit{TModel}(TModel, Dataset, FitOptions, IProgress{EpochResult})"/> saves its progress, and resumes from it (Keras'
/// <c>BackupAndRestore</c>). When the file exists as <c>Fit</c> starts, training continues after the epoch it holds,
/// and ends bit for bit where an uninterrupted run with the same options and thread count would have.
/// </summary>
/// <remarks>
/// A checkpoint is one safetensors file. It holds the model's tensors under their usual names (PyTorch can read
/// them) and, besides them, the optimizer's state and step count, the dropout and shuffle random streams, the
/// sample order, the history so far and the state of <see cref="EarlyStopping"/> (data augmentation needs no state:
/// each epoch's draws follow from <see cref="FitOptions.Seed"/> and the epoch). Each save replaces the file
/// atomically, so a process killed while saving leaves the previous checkpoint. The file is kept when training
/// ends: running <c>Fit</c> again with more epochs continues from it; delete it to start over.
/// </remarks>
public sealed class CheckpointOptions
{
    /// <summary>Checkpoints to and resumes from <paramref name="path"/>.</summary>
    public CheckpointOptions(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
    }

    /// <summary>The checkpoint file.</summary>
    public string Path { get; }

    /// <summary>Saves after every this many epochs, and after the last one. Default 1.</summary>
    public int EveryEpochs
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(EveryEpochs));
            field = value;
        }
    } = 1;
}

/// <summary>Writes and reads the checkpoints of <see cref="ModelTraining.Fit{TModel}(TModel, Dataset, FitOptions, IProgress{EpochResult})"/>.</summary>
internal static class Checkpoint
{
    private const string Format = "modelgen-checkpoint-1";

    /// <summary>Training progress as of the end of an epoch: what a checkpoint adds to the model's own tensors.</summary>
    internal sealed class Progress
    {
        public required int Epoch { get; init; }

        public required bool Stopped { get; init; }

        public required int[] Order { get; init; }

        public required SeededRandom ShuffleRandom { get; init; }

        public required IReadOnlyList<EpochResult> History { get; init; }
    }

    public static void Save(string path, ITrainableModel model, Optimizer optimizer, IList<TrainingCallback> callbacks, Progress progress)
    {
        var writer = new SafeTensorsWriter();
        SafeTensors.AddModel(writer, model);
        writer.AddMetadata("checkpoint", Format);
        writer.AddMetadata("epoch", progress.Epoch.ToString(CultureInfo.InvariantCulture));
        writer.AddMetadata("stopped", progress.Stopped ? "true" : "false");
        writer.AddMetadata("optimizer", optimizer.GetType().FullName!);
        writer.AddMetadata("optimizer_iterations", optimizer.Iterations.ToString(CultureInfo.InvariantCulture));

        var length = model.Parameters.Length;
        foreach (var name in optimizer.StateNames)
        {
            writer.AddSingles("optimizer." + name, [length], optimizer.StateBuffer(name, length));
        }

        Span<uint> state = stackalloc uint[4];
        progress.ShuffleRandom.GetState(state);
        writer.AddUInt32s("training.shuffle_random", [4], state);
        model.TrainingRandom.GetState(state);
        writer.AddUInt32s("training.dropout_random", [4], state);
        writer.AddInt32s("training.order", [progress.Order.Length], progress.Order);

        // One row per epoch: loss, validation loss, validation accuracy; NaN where the epoch had none.
        var history = new float[progress.History.Count * 3];
        for (var e = 0; e < progress.History.Count; e++)
        {
            var result = progress.History[e];
            (history[3 * e], history[(3 * e) + 1], history[(3 * e) + 2]) = (result.Loss, result.ValidationLoss ?? float.NaN, result.ValidationAccuracy ?? float.NaN);
        }

        writer.AddSingles("training.history", [progress.History.Count, 3], history);
        for (var c = 0; c < callbacks.Count; c++)
        {
            if (callbacks[c] is ICheckpointedCallback saved)
            {
                saved.Save(writer, $"callbacks.{c}");
            }
        }

        AtomicFile.Write(path, writer.WriteTo);
    }

    /// <summary>
    /// Checks the checkpoint at <paramref name="path"/> against the model, optimizer, callbacks and training set, and
    /// only then puts its state back into all of them.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is corrupt or was written by a different model, optimizer or dataset; nothing is changed.</exception>
    public static Progress Restore(string path, ITrainableModel model, Optimizer optimizer, IList<TrainingCallback> callbacks, int trainingCount)
    {
        var bytes = File.ReadAllBytes(path);
        var source = System.IO.Path.GetFileName(path);
        var parsed = SafeTensorsFile.Parse(bytes, source);
        if (!parsed.Metadata.TryGetValue("checkpoint", out var format) || format != Format)
        {
            throw SafeTensorsFile.Corrupt(source, $"it is not a {Format} checkpoint");
        }

        var modelType = model.GetType().FullName ?? model.GetType().Name;
        if (parsed.RequireMetadata("model", source) != modelType)
        {
            throw Mismatch(source, $"it was saved from {parsed.Metadata["model"]}, not {modelType}");
        }

        var parameters = SafeTensors.ReadModel(parsed, bytes, model, source);
        if (parsed.RequireMetadata("optimizer", source) != optimizer.GetType().FullName)
        {
            throw Mismatch(source, $"it was saved with the optimizer {parsed.Metadata["optimizer"]}, not {optimizer.GetType().FullName}");
        }

        var epoch = ParseCount(parsed.RequireMetadata("epoch", source), "epoch", source);
        var iterations = ParseCount(parsed.RequireMetadata("optimizer_iterations", source), "optimizer_iterations", source);
        var stopped = parsed.RequireMetadata("stopped", source) switch
        {
            "true" => true,
            "false" => false,
            var other => throw SafeTensorsFile.Corrupt(source, $"its 'stopped' metadata is '{other}'"),
        };

        var length = model.Parameters.Length;
        var optimizerState = new List<(string Name, float[] Values)>();
        foreach (var name in optimizer.StateNames)
        {
            optimizerState.Add((name, parsed.ReadSingles(bytes, "optimizer." + name, [length], source)));
        }

        var shuffleRandom = RandomState(parsed, bytes, "training.shuffle_random", source);
        var dropoutRandom = RandomState(parsed, bytes, "training.dropout_random", source);
        if (!parsed.Entries.TryGetValue("training.order", out var orderEntry) || orderEntry.Shape.Length != 1)
        {
            throw SafeTensorsFile.Corrupt(source, "it has no one-dimensional tensor 'training.order'");
        }

        if (orderEntry.Shape[0] != trainingCount)
        {
            throw Mismatch(source, $"it was saved while training on {orderEntry.Shape[0]} samples, not {trainingCount}");
        }

        var order = parsed.ReadInt32s(bytes, "training.order", "I32", [trainingCount], source);
        CheckPermutation(order, source);
        var history = ReadHistory(parsed, bytes, epoch, source);
        var callbackRestores = new List<Action>();
        for (var c = 0; c < callbacks.Count; c++)
        {
            if (callbacks[c] is ICheckpointedCallback saved)
            {
                callbackRestores.Add(saved.PrepareRestore(parsed, bytes, $"callbacks.{c}", model, source));
            }
        }

        // Everything checked: from here on nothing can fail halfway.
        SafeTensors.ApplyModel(model, parameters);
        model.TrainingRandom = dropoutRandom;
        optimizer.Iterations = iterations;
        foreach (var (name, values) in optimizerState)
        {
            values.CopyTo(optimizer.StateBuffer(name, length));
        }

        foreach (var restore in callbackRestores)
        {
            restore();
        }

        return new Progress { Epoch = (int)epoch, Stopped = stopped, Order = order, ShuffleRandom = shuffleRandom, History = history };
    }

    private static long ParseCount(string text, string key, string source) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= int.MaxValue
            ? value
            : throw SafeTensorsFile.Corrupt(source, $"its '{key}' metadata '{text}' is not a count");

    private static SeededRandom RandomState(SafeTensorsFile parsed, byte[] bytes, string name, string source)
    {
        var words = parsed.ReadInt32s(bytes, name, "U32", [4], source);
        try
        {
            return SeededRandom.FromState([(uint)words[0], (uint)words[1], (uint)words[2], (uint)words[3]]);
        }
        catch (ArgumentException error)
        {
            throw SafeTensorsFile.Corrupt(source, $"tensor '{name}' is not a generator state: {error.Message}");
        }
    }

    /// <summary>The saved sample order must be a permutation of the training indices, or batches would read outside the data.</summary>
    private static void CheckPermutation(int[] order, string source)
    {
        var seen = new bool[order.Length];
        foreach (var index in order)
        {
            if ((uint)index >= (uint)order.Length || seen[index])
            {
                throw SafeTensorsFile.Corrupt(source, "its sample order is not a permutation of the training samples");
            }

            seen[index] = true;
        }
    }

    private static List<EpochResult> ReadHistory(SafeTensorsFile parsed, byte[] bytes, long epochs, string source)
    {
        var rows = parsed.ReadSingles(bytes, "training.history", [(int)epochs, 3], source, allowNonFinite: true);
        var history = new List<EpochResult>((int)epochs);
        for (var e = 0; e < epochs; e++)
        {
            var (loss, validationLoss, validationAccuracy) = (rows[3 * e], rows[(3 * e) + 1], rows[(3 * e) + 2]);
            history.Add(new EpochResult(
                e + 1,
                loss,
                float.IsNaN(validationLoss) ? null : validationLoss,
                float.IsNaN(validationAccuracy) ? null : validationAccuracy));
        }

        return history;
    }

    private static InvalidDataException Mismatch(string source, string problem) =>
        new($"'{source}' cannot resume this training run: {problem}.");
}
