using System;
using BenchmarkDotNet.Attributes;

namespace ModelGen.Benchmarks;

/// <summary>An MNIST-sized MLP: 784 → 128 (ReLU) → 10.</summary>
[Model]
[Input(784)]
[Dense(128, Activation.Relu)]
[Dense(10)]
public partial class MnistMlp;

/// <summary>
/// Inference and training of the generated dense code as it is today (vectorized row kernels, no GEMM yet): the
/// baseline later kernels are measured against. FLOP counts for the GFLOP/s column of docs/performance.md:
/// forward 2·(784·128 + 128·10) = 203,264 per sample; a training step adds ∂W for both layers and ∂x for the second,
/// 2·(784·128 + 2·128·10) = 205,824, so 409,088 per sample.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DenseMlpBenchmarks
{
    private const int BatchSize = 32;
    private readonly MnistMlp _model = new(seed: 1);
    private readonly Sgd _optimizer = new(0.001f);
    private readonly float[] _input = new float[MnistMlp.InputSize];
    private readonly float[] _output = new float[MnistMlp.OutputSize];
    private readonly float[] _batchInputs = new float[BatchSize * MnistMlp.InputSize];
    private readonly float[] _batchTargets = new float[BatchSize * MnistMlp.OutputSize];
    private readonly float[] _batchOutputs = new float[BatchSize * MnistMlp.OutputSize];

    /// <summary>Threads one large matrix product may use (<see cref="Kernels.KernelSettings.MaxThreads"/>).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Kernels.KernelSettings.MaxThreads = Threads;
        var random = new Random(1);
        foreach (var array in new[] { _input, _batchInputs, _batchTargets })
        {
            for (var i = 0; i < array.Length; i++)
            {
                array[i] = random.NextSingle();
            }
        }
    }

    [Benchmark(Description = "Predict, 1 sample")]
    public void PredictOne() => _model.Predict(_input, _output);

    [Benchmark(Description = "PredictBatch, 32 samples")]
    public void PredictBatch() => _model.PredictBatch(_batchInputs, _batchOutputs);

    [Benchmark(Description = "TrainStep + SGD, batch 32")]
    public float TrainStep()
    {
        var loss = _model.TrainStep(_batchInputs, _batchTargets);
        _optimizer.Step(_model.Parameters, _model.Gradients);
        return loss;
    }
}
