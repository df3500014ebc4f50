using System;
using System.Globalization;
using ModelGen.Privacy;

namespace ModelGen.Samples.FashionMnist;

/// <summary>
/// The sample's differentially private run (<c>--dp</c>): DP-SGD on a tanh MLP (or, with <c>--model cnn</c>, the small
/// tanh CNN of Papernot et al.) within a privacy budget of (ε, δ = 10⁻⁵), ending with the test accuracy and the ε spent.
/// </summary>
internal static class PrivateRun
{
    /// <summary>The expected batch size: each step takes each training image with probability 2048 / 60,000.</summary>
    public const int BatchSize = 2048;

    /// <summary>C: large enough for the typical clipped gradient to keep its direction, small enough to bound each image's part.</summary>
    public const float ClipNorm = 0.1f;

    public const double Delta = 1e-5;

    public static int Run(SampleOptions options, FashionData data)
    {
        ITrainableModel model = options.Model == "cnn" ? new FashionPrivateCnn(options.Seed) : new FashionPrivateMlp(options.Seed);
        var epochs = options.Epochs ?? 40;
        var fit = new PrivateFitOptions
        {
            Epochs = epochs,
            BatchSize = BatchSize,
            // SGD with momentum at a large rate, as Papernot et al. and Tramèr and Boneh train these models: the clipped
            // mean gradient is at most C = 0.1 long, so the step is at most 0.4.
            Optimizer = new Sgd(options.LearningRate ?? 4f, momentum: 0.9f),
            ClipNorm = ClipNorm,
            TargetEpsilon = options.Epsilon,
            Delta = Delta,
            Seed = options.Seed,
        };

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"DP-SGD: {model.GetType().Name}, {epochs} epochs of Poisson batches of about {BatchSize}, gradients clipped to {ClipNorm}, within ε = {options.Epsilon} at δ = {Delta:G}."));
        var history = model.FitPrivately(data.Train, fit, new Progress());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Noise multiplier σ = {history.NoiseMultiplier:F3} at sample rate q = {history.SampleRate:F4}: ({history.Privacy.Epsilon:F2}, {Delta:G})-DP (Rényi order {history.Privacy.Order:G})."));

        var test = model.Evaluate(data.Test);
        Console.WriteLine();
        Console.Write(test.Report!.ToString(FashionData.Classes));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test_loss={test.Loss:F4}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test_accuracy={test.Accuracy:F4} epsilon={history.Privacy.Epsilon:F2}"));
        return 0;
    }

    /// <summary>Prints each epoch as it ends: its loss, the ε spent so far, and its time.</summary>
    private sealed class Progress : IProgress<PrivateEpoch>
    {
        public void Report(PrivateEpoch value) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {value.Epoch,2}: loss {value.Loss:F4}, ε = {value.Privacy.Epsilon:F2} ({value.Duration.TotalSeconds:F1} s)"));
    }
}
