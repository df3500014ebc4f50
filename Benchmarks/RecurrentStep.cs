using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>
/// A training step of a two-layer LSTM (B = 32, T = 64; 128 → 256 → 256, whole sequences): both layers' forward, then
/// their backward through time, on one thread and on two, interleaved; and the same step's matrix products alone
/// (the same <see cref="Gemm"/> calls, shapes and order), so that the element-wise cells' share shows. GFLOP/s count
/// the products' FLOPs only; the one-core FMA peak is measured in the same run.
/// </summary>
internal static class RecurrentStep
{
    private const int Batch = 32;
    private const int Steps = 64;
    private const int Hidden = 256;
    private const int Width = 4 * Hidden;

    public static void Run(int rounds)
    {
        var previousThreads = KernelSettings.MaxThreads;
        var random = new Random(1);
        var layers = new[] { new Layer(random, 128), new Layer(random, Hidden) };
        var input = Scaled(Measurements.RandomValues(random, Batch * Steps * 128));
        var outputGradient = Scaled(Measurements.RandomValues(random, Batch * Steps * Hidden));

        void Step()
        {
            layers[0].Forward(input);
            layers[1].Forward(layers[0].Output);
            layers[1].Backward(layers[0].Output, outputGradient);
            layers[0].Backward(input, layers[1].InputGradient);
        }

        void Products()
        {
            layers[0].Products(input);
            layers[1].Products(layers[0].Output);
        }

        var flops = layers[0].Flops + layers[1].Flops;
        var times = Measurements.MedianOnOneAndTwoThreads([Step, Products], rounds, warmUp: 2);
        var peak = Measurements.Median(Enumerable.Range(0, 5).Select(_ =>
        {
            var start = Stopwatch.GetTimestamp();
            return FmaPeak.Run(500_000) / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
        }));
        KernelSettings.MaxThreads = previousThreads;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"2-layer LSTM training step, B={Batch} T={Steps} I=128,256 H={Hidden}: {flops / 1e9:F2} GFLOP of products; medians of {rounds} rounds; FMA peak {peak:F0} GFLOP/s on one core (median of 5)"));
        string[] names = ["forward + backward", "its products alone"];
        for (var c = 0; c < names.Length; c++)
        {
            var (one, two) = times[c];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {names[c],-20} 1 thread {one / 1000:F1} ms ({flops / one / 1e3:F1} GFLOP/s)   2 threads {two / 1000:F1} ms ({flops / two / 1e3:F1} GFLOP/s)"));
        }
    }

    private static float[] Scaled(float[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (2 * values[i]) - 1;
        }

        return values;
    }

    /// <summary>One LSTM layer's parameters, gradients and buffers.</summary>
    private sealed class Layer
    {
        private readonly RecurrentShape _shape;
        private readonly float[] _weightIh, _weightHh, _biasIh, _biasHh;
        private readonly float[] _gradientIh, _gradientHh, _gradientBiasIh, _gradientBiasHh;
        private readonly float[] _workspace, _scratch;

        public Layer(Random random, int inputs)
        {
            _shape = new RecurrentShape(Batch, Steps, inputs, Hidden);
            float[] Weights(int length) => Array.ConvertAll(Scaled(Measurements.RandomValues(random, length)), v => v / MathF.Sqrt(Hidden));
            (_weightIh, _weightHh, _biasIh, _biasHh) = (Weights(Width * inputs), Weights(Width * Hidden), Weights(Width), Weights(Width));
            (_gradientIh, _gradientHh, _gradientBiasIh, _gradientBiasHh) = (new float[Width * inputs], new float[Width * Hidden], new float[Width], new float[Width]);
            _workspace = new float[Recurrent.LstmWorkspaceLength(_shape)];
            _scratch = new float[Batch * Steps * Width];
            Output = new float[Batch * Steps * Hidden];
            InputGradient = new float[Batch * Steps * inputs];
        }

        public float[] Output { get; }

        public float[] InputGradient { get; }

        /// <summary>FLOPs of the products of forward and backward: input projection, T recurrent products, T − 1 for ∂h, ∂X, ∂W_ih, ∂W_hh.</summary>
        public double Flops => 2.0 * Width * (((double)Batch * Steps * _shape.Inputs * 3) + ((double)Batch * Hidden * ((2 * Steps) - 1)) + ((double)Batch * Steps * Hidden));

        private RecurrentWeights Weights => new(_weightIh, _weightHh, _biasIh, _biasHh);

        public void Forward(float[] input) =>
            Recurrent.LstmForward(_shape, input, Weights, Output, RecurrentOutput.Sequence, _workspace);

        public void Backward(float[] input, float[] outputGradient) =>
            Recurrent.LstmBackward(_shape, input, Weights, outputGradient, RecurrentOutput.Sequence, _workspace, InputGradient,
                new RecurrentGradients(_gradientIh, _gradientHh, _gradientBiasIh, _gradientBiasHh));

        /// <summary>The products forward and backward make, with their shapes, on stand-in operands.</summary>
        public void Products(float[] input)
        {
            var rows = Batch * Steps;
            var step = _scratch.AsSpan(0, Batch * Width);
            var hidden = Output.AsSpan(0, Batch * Hidden);
            Gemm.Compute(input, false, _weightIh, true, _scratch, rows, Width, _shape.Inputs, accumulate: false, _biasIh);
            for (var t = 0; t < Steps; t++)
            {
                Gemm.Compute(hidden, false, _weightHh, true, step, Batch, Width, Hidden, accumulate: false, _biasHh);
            }

            for (var t = 1; t < Steps; t++)
            {
                Gemm.Compute(step, false, _weightHh, false, hidden, Batch, Hidden, Width, accumulate: false);
            }

            Gemm.Multiply(_scratch, _weightIh, InputGradient, rows, _shape.Inputs, Width);
            Gemm.MultiplyAddTransposedA(_scratch, input, _gradientIh, Width, _shape.Inputs, rows);
            Gemm.MultiplyAddTransposedA(_scratch, Output, _gradientHh, Width, Hidden, rows);
        }
    }
}
