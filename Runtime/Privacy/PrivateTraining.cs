using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace ModelGen.Privacy;

/// <summary>
/// How <see cref="PrivateTraining.FitPrivately{TModel}"/> trains: DP-SGD (Abadi et al., 2016) with Poisson sampling, as
/// Opacus and TensorFlow Privacy implement it.
/// </summary>
public sealed record PrivateFitOptions
{
    /// <summary>Passes over the data: each is 1 / q steps, with q = <see cref="BatchSize"/> / the data's size.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>The expected batch size q·N: each step takes each sample with probability q, so batches vary about it.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>The update rule; it receives the noisy clipped mean gradient as if it were a batch's gradient.</summary>
    public required Optimizer Optimizer { get; init; }

    /// <summary>C: each sample's gradient is scaled down to at most this norm.</summary>
    public float ClipNorm { get; init; } = 1f;

    /// <summary>
    /// σ: the Gaussian noise added to the sum of clipped gradients has standard deviation σ·C. Null: the smallest σ that
    /// keeps all <see cref="Epochs"/> within <see cref="TargetEpsilon"/>, which must then be set.
    /// </summary>
    public double? NoiseMultiplier { get; init; }

    /// <summary>δ of the (ε, δ) guarantee reported; it should be below 1 / N (1e-5 for 60,000 samples).</summary>
    public double Delta { get; init; } = 1e-5;

    /// <summary>
    /// The privacy budget: training stops before an epoch whose steps would spend more than this ε (with a given σ), or σ
    /// is chosen to spend exactly it over all epochs (without one). Null: no budget.
    /// </summary>
    public double? TargetEpsilon { get; init; }

    /// <summary>Seeds the sampling and the noise: the same seed gives the same run.</summary>
    public int Seed { get; init; }
}

/// <summary>One epoch of private training: its mean loss and the privacy spent after it.</summary>
public readonly record struct PrivateEpoch(int Epoch, double Loss, PrivacySpent Privacy, TimeSpan Duration);

/// <summary>The epochs trained, the noise multiplier used and the privacy spent in all.</summary>
public sealed record PrivateTrainingHistory(IReadOnlyList<PrivateEpoch> Epochs, double NoiseMultiplier, double SampleRate, PrivacySpent Privacy);

/// <summary>
/// Differentially private training (DP-SGD): at each step every sample joins the batch with probability q (Poisson
/// sampling), the model's <see cref="ITrainableModel.TrainStepClipped"/> gives the mean of the batch's gradients each
/// clipped to norm C, turned into the clipped sum over the expected batch size q·N, Gaussian noise of standard deviation
/// σ·C / (q·N) is added to every parameter's gradient, and the optimizer steps. An <see cref="RdpAccountant"/> tracks
/// the privacy spent (Rényi DP of the subsampled Gaussian mechanism).
/// </summary>
/// <remarks>
/// Why Poisson sampling rather than shuffled batches: the accountant's bound is proven for it; shuffling and cutting
/// into fixed batches is what many runs do, but its guarantee is not the one the accountant reports. The noise is
/// drawn by the Marsaglia polar method from the seeded stream, in scalar code: the same seed gives the same noise on
/// every processor.
/// </remarks>
public static class PrivateTraining
{
    /// <summary>Trains with DP-SGD; see the type's remarks. <paramref name="progress"/> hears of each epoch as it ends.</summary>
    /// <exception cref="NotSupportedException">The model has batch normalization, which mixes samples.</exception>
    public static PrivateTrainingHistory FitPrivately<TModel>(this TModel model, Dataset data, PrivateFitOptions options, IProgress<PrivateEpoch>? progress = null)
        where TModel : ITrainableModel
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (data.FeatureSize != model.InputSize)
        {
            throw new ArgumentException($"The model takes {model.InputSize} features per sample, but the data holds {data.FeatureSize}.", nameof(data));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.BatchSize, data.Count);
        if (!(options.ClipNorm > 0f) || float.IsInfinity(options.ClipNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ClipNorm, "The clipping norm must be positive and finite.");
        }

        var sampleRate = (double)options.BatchSize / data.Count;
        var stepsPerEpoch = (int)Math.Round(1 / sampleRate);
        var sigma = options.NoiseMultiplier
            ?? RdpAccountant.NoiseMultiplierFor(
                options.TargetEpsilon ?? throw new ArgumentException("Give a noise multiplier, a target ε, or both.", nameof(options)),
                sampleRate, (long)stepsPerEpoch * options.Epochs, options.Delta);
        if (!(sigma >= 0) || double.IsInfinity(sigma))
        {
            throw new ArgumentOutOfRangeException(nameof(options), sigma, "The noise multiplier must be zero or positive and finite.");
        }

        var accountant = new RdpAccountant();
        var random = new SeededRandom(options.Seed);
        var (featureSize, targetSize) = (data.FeatureSize, data.TargetSize);
        // Room for a batch well above its mean: a Poisson batch beyond it (about 10⁻¹⁵ likely) grows the buffers.
        var capacity = options.BatchSize + (int)(8 * Math.Sqrt(options.BatchSize)) + 8;
        var (inputs, targets, norms, rows) = (new float[capacity * featureSize], new float[capacity * targetSize], new float[capacity], new int[capacity]);
        var expected = (float)(sampleRate * data.Count);
        var deviation = (float)(sigma * options.ClipNorm / expected);

        var epochs = new List<PrivateEpoch>();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            if (options.TargetEpsilon is { } budget && options.NoiseMultiplier is not null
                && RdpAccountant.Epsilon(sigma, sampleRate, accountant.Steps + stepsPerEpoch, options.Delta).Epsilon > budget)
            {
                break; // another epoch would spend more than the budget
            }

            var watch = Stopwatch.StartNew();
            var (lossSum, samples) = (0.0, 0L);
            for (var step = 0; step < stepsPerEpoch; step++)
            {
                // Poisson sampling: each sample joins with probability q, drawn from the seeded stream.
                var count = 0;
                for (var n = 0; n < data.Count; n++)
                {
                    if (random.NextSingle() < sampleRate)
                    {
                        if (count == rows.Length)
                        {
                            Array.Resize(ref rows, 2 * rows.Length);
                            Array.Resize(ref inputs, rows.Length * featureSize);
                            Array.Resize(ref targets, rows.Length * targetSize);
                            Array.Resize(ref norms, rows.Length);
                        }

                        rows[count++] = n;
                    }
                }

                var gradients = model.Gradients;
                if (count == 0)
                {
                    gradients.Clear(); // an empty batch: the step is noise alone
                }
                else
                {
                    var batch = rows.AsSpan(0, count);
                    Kernels.RowGather.Gather(data.Features, featureSize, batch, inputs.AsSpan(0, count * featureSize));
                    Kernels.RowGather.Gather(data.Targets, targetSize, batch, targets.AsSpan(0, count * targetSize));

                    var loss = model.TrainStepClipped(inputs.AsSpan(0, count * featureSize), targets.AsSpan(0, count * targetSize), options.ClipNorm, norms.AsSpan(0, count));
                    lossSum += (double)loss * count;
                    samples += count;
                    // The clipped mean over this batch, as the clipped sum over the expected batch size.
                    var scale = count / expected;
                    foreach (ref var g in gradients)
                    {
                        g *= scale;
                    }
                }

                var tensors = model.ParameterTensors;
                for (var t = 0; t < tensors.Count; t++)
                {
                    if (!tensors[t].InState)
                    {
                        AddGaussianNoise(tensors[t].Slice(gradients), deviation, ref random);
                    }
                }

                options.Optimizer.Step(model.Parameters, gradients);
                accountant.Step(sigma, sampleRate);
            }

            var result = new PrivateEpoch(epoch, samples == 0 ? double.NaN : lossSum / samples, accountant.GetEpsilon(options.Delta), watch.Elapsed);
            epochs.Add(result);
            progress?.Report(result);
        }

        return new PrivateTrainingHistory(epochs, sigma, sampleRate, accountant.GetEpsilon(options.Delta));
    }

    /// <summary>Adds N(0, deviation²) to each value (Marsaglia's polar method: two draws per accepted pair, no trigonometry).</summary>
    internal static void AddGaussianNoise(Span<float> values, float deviation, ref SeededRandom random)
    {
        if (deviation == 0f)
        {
            return;
        }

        for (var i = 0; i < values.Length; i += 2)
        {
            float u, v, s;
            do
            {
                u = (2f * random.NextSingle()) - 1f;
                v = (2f * random.NextSingle()) - 1f;
                s = (u * u) + (v * v);
            }
            while (s >= 1f || s == 0f);

            var factor = deviation * MathF.Sqrt(-2f * MathF.Log(s) / s);
            values[i] += u * factor;
            if (i + 1 < values.Length)
            {
                values[i + 1] += v * factor;
            }
        }
    }
}
