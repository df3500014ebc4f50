using System;
using System.Globalization;
using ModelGen;

// Usage: ModelGen.ResumeProbe <checkpoint> <weights-out> <epochs>
// Trains ProbeModel with a checkpoint after every epoch (resuming from it when it exists), prints "epoch N" as each
// epoch ends, and saves the final weights. A test kills this process mid-run and starts it again.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: ModelGen.ResumeProbe <checkpoint> <weights-out> <epochs>");
    return 2;
}

var random = new SeededRandom(17);
const int count = 3000;
var features = new float[count * ProbeModel.InputSize];
var labels = new int[count];
for (var i = 0; i < count; i++)
{
    labels[i] = random.NextInt32(ProbeModel.OutputSize);
    for (var j = 0; j < ProbeModel.InputSize; j++)
    {
        features[(i * ProbeModel.InputSize) + j] = random.NextSingle(-1f, 1f) + (j % ProbeModel.OutputSize == labels[i] ? 0.5f : 0f);
    }
}

var model = new ProbeModel(seed: 1);
var options = new FitOptions
{
    Epochs = int.Parse(args[2], CultureInfo.InvariantCulture),
    BatchSize = 32,
    Seed = 3,
    ValidationSplit = 0.1f,
    Optimizer = new Adam(1e-3f) { Schedule = new CosineDecay(2000) },
    Checkpoint = new CheckpointOptions(args[0]),
};
model.Fit(Dataset.FromLabels(features, ProbeModel.InputSize, labels), options, new EpochPrinter());
model.Save(args[1]);
Console.WriteLine("done");
return 0;

/// <summary>Large enough that an epoch takes tens of milliseconds, so a kill lands inside training or a save.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(256)]
[Dense(256, Activation.Relu)]
[BatchNorm]
[Dropout(0.2f)]
[Dense(10)]
public partial class ProbeModel;

/// <summary>Prints each epoch as it ends, on the training thread, so the parent sees it at once.</summary>
internal sealed class EpochPrinter : IProgress<EpochResult>
{
    public void Report(EpochResult value) => Console.WriteLine($"epoch {value.Epoch}");
}
