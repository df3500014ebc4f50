using System;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Multi-head self-attention against a plain double-precision reference that materializes the scores: forward,
/// backward, finite differences, decoding with a key/value cache, thread counts and allocations.
/// </summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class AttentionTests : IDisposable
{
    private readonly int _previous = KernelSettings.MaxThreads;

    public void Dispose() => KernelSettings.MaxThreads = _previous;

    public static TheoryData<int, int, int, int, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, int, bool>();
        foreach (var causal in new[] { false, true })
        {
            data.Add(1, 1, 3, 1, causal);    // T = 1, dₕ = 3
            data.Add(3, 7, 8, 1, causal);    // one head of 8
            data.Add(1, 7, 24, 3, causal);   // three heads of 8
            data.Add(3, 65, 9, 3, causal);   // T past one key tile, dₕ = 3
            data.Add(1, 65, 64, 2, causal);  // dₕ = 32
            data.Add(3, 130, 32, 1, causal); // three key tiles
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_and_backward_match_the_reference(int batch, int positions, int dim, int heads, bool causal)
    {
        var qkv = GemmTests.Random(batch * positions * 3 * dim, positions + dim);
        var outputGradient = GemmTests.Random(batch * positions * dim, 7);
        var (output, lse, gradient) = Run(qkv, outputGradient, batch, positions, dim, heads, causal);

        var reference = new Reference(qkv, batch, positions, dim, heads, causal);
        AssertClose(reference.Output, output, "output");
        AssertClose(reference.LogSumExp, lse, "log-sum-exp");
        AssertClose(reference.Backward(outputGradient), gradient, "gradient");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gradients_match_central_differences(bool causal)
    {
        const int batch = 2, positions = 5, dim = 6, heads = 2;
        var qkv = GemmTests.Random(batch * positions * 3 * dim, 11);
        var weights = GemmTests.Random(batch * positions * dim, 12);
        var (_, _, gradient) = Run(qkv, weights, batch, positions, dim, heads, causal);

        // L = Σ O ⊙ W in double precision, differentiated numerically at every input.
        var point = qkv.Select(v => (double)v).ToArray();
        double Loss() => new Reference(point, batch, positions, dim, heads, causal).Output.Select((o, i) => o * weights[i]).Sum();
        const double step = 1e-5;
        for (var i = 0; i < point.Length; i++)
        {
            var original = point[i];
            point[i] = original + step;
            var plus = Loss();
            point[i] = original - step;
            var minus = Loss();
            point[i] = original;
            var numeric = (plus - minus) / (2 * step);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-5 + (1e-4 * Math.Abs(numeric)), $"∂L/∂qkv[{i}] is {gradient[i]}, numerically {numeric}");
        }
    }

    [Theory]
    [InlineData(1, 7, 24, 3)]
    [InlineData(3, 70, 128, 4)]
    public void Decoding_with_a_cache_gives_the_forward_pass_floats(int batch, int positions, int dim, int heads)
    {
        var qkv = GemmTests.Random(batch * positions * 3 * dim, 5);
        var (output, _, _) = Run(qkv, null, batch, positions, dim, heads, causal: true);

        var keyCache = new float[Attention.KeyCacheLength(batch, dim, positions)];
        var valueCache = new float[Attention.ValueCacheLength(batch, dim, positions)];
        var step = new float[batch * 3 * dim];
        var stepOutput = new float[batch * dim];
        for (var t = 0; t < positions; t++)
        {
            for (var b = 0; b < batch; b++)
            {
                qkv.AsSpan(((b * positions) + t) * 3 * dim, 3 * dim).CopyTo(step.AsSpan(b * 3 * dim));
            }

            Attention.Decode(step, keyCache, valueCache, stepOutput, batch, dim, heads, t, positions);
            for (var b = 0; b < batch; b++)
            {
                Assert.Equal(output.AsSpan(((b * positions) + t) * dim, dim).ToArray(), stepOutput.AsSpan(b * dim, dim).ToArray());
            }
        }
    }

    [Fact]
    public void The_target_shape_gives_the_same_bits_on_one_thread_and_two()
    {
        const int batch = 32, positions = 64, dim = 128, heads = 4;
        var qkv = GemmTests.Random(batch * positions * 3 * dim, 3);
        var outputGradient = GemmTests.Random(batch * positions * dim, 4);
        KernelSettings.MaxThreads = 1;
        var one = Run(qkv, outputGradient, batch, positions, dim, heads, causal: true);
        KernelSettings.MaxThreads = 2;
        var two = Run(qkv, outputGradient, batch, positions, dim, heads, causal: true);
        Assert.Equal(one.Output, two.Output);
        Assert.Equal(one.LogSumExp, two.LogSumExp);
        Assert.Equal(one.Gradient, two.Gradient);
    }

    [Fact]
    public void Forward_backward_and_decode_allocate_nothing()
    {
        KernelSettings.MaxThreads = 2;
        const int batch = 8, positions = 64, dim = 128, heads = 4;
        var qkv = GemmTests.Random(batch * positions * 3 * dim, 3);
        var output = new float[batch * positions * dim];
        var lse = new float[Attention.LogSumExpLength(batch, positions, heads)];
        var workspace = new float[Attention.WorkspaceLength(batch, positions, dim, heads)];
        var gradient = new float[qkv.Length];
        var keyCache = new float[Attention.KeyCacheLength(batch, dim, positions)];
        var valueCache = new float[Attention.ValueCacheLength(batch, dim, positions)];
        var step = new float[batch * 3 * dim];
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            Attention.Forward(qkv, output, lse, workspace, batch, positions, dim, heads, causal: true);
            Attention.Backward(qkv, output, lse, output, gradient, workspace, batch, positions, dim, heads, causal: true);
            Attention.Decode(step, keyCache, valueCache, step.AsSpan(0, batch * dim), batch, dim, heads, 5, positions);
        }, warmUp: 10, measured: 10);
    }

    [Fact]
    public void Wrong_shapes_and_lengths_are_refused()
    {
        var qkv = new float[2 * 4 * 3 * 6];
        var output = new float[2 * 4 * 6];
        var lse = new float[2 * 2 * 4];
        var workspace = new float[Attention.WorkspaceLength(2, 4, 6, 2)];
        Assert.Contains("not a multiple of the 4 heads",
            Assert.Throws<ArgumentException>(() => Attention.Forward(qkv, output, lse, workspace, 2, 4, 6, 4, false)).Message);
        Assert.Throws<ArgumentException>(() => Attention.Forward(qkv, output.AsSpan(1), lse, workspace, 2, 4, 6, 2, false));
        Assert.Contains("Attention.WorkspaceLength",
            Assert.Throws<ArgumentException>(() => Attention.Forward(qkv, output, lse, workspace.AsSpan(1), 2, 4, 6, 2, false)).Message);
        Assert.ThrowsAny<ArgumentException>(() => Attention.Forward(qkv, output, lse, workspace, 0, 4, 6, 2, false));
        Assert.Throws<ArgumentException>(() => Attention.Backward(qkv, output, lse, output, new float[5], workspace, 2, 4, 6, 2, false));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            Attention.Decode(new float[36], new float[Attention.KeyCacheLength(2, 6, 4)], new float[48], new float[12], 2, 6, 2, 4, 4));
    }

    private static (float[] Output, float[] LogSumExp, float[] Gradient) Run(
        float[] qkv, float[]? outputGradient, int batch, int positions, int dim, int heads, bool causal)
    {
        var output = new float[batch * positions * dim];
        var lse = new float[Attention.LogSumExpLength(batch, positions, heads)];
        var workspace = new float[Attention.WorkspaceLength(batch, positions, dim, heads)];
        workspace.AsSpan().Fill(float.NaN);
        Attention.Forward(qkv, output, lse, workspace, batch, positions, dim, heads, causal);
        var gradient = new float[qkv.Length];
        if (outputGradient is not null)
        {
            gradient.AsSpan().Fill(float.NaN);
            Attention.Backward(qkv, output, lse, outputGradient, gradient, workspace, batch, positions, dim, heads, causal);
        }

        return (output, lse, gradient);
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6 + (2e-5 * Math.Abs(expected[i])), $"{what}[{i}] is {actual[i]}, expected {expected[i]}");
        }
    }

    /// <summary>Attention as written in the papers, in double precision, with the T × T probabilities stored.</summary>
    private sealed class Reference
    {
        private readonly double[] _qkv;
        private readonly double[][] _probabilities;
        private readonly int _batch, _positions, _dim, _heads, _size;

        public Reference(float[] qkv, int batch, int positions, int dim, int heads, bool causal)
            : this(qkv.Select(v => (double)v).ToArray(), batch, positions, dim, heads, causal)
        {
        }

        public Reference(double[] qkv, int batch, int positions, int dim, int heads, bool causal)
        {
            (_qkv, _batch, _positions, _dim, _heads, _size) = (qkv, batch, positions, dim, heads, dim / heads);
            Output = new double[batch * positions * dim];
            LogSumExp = new double[batch * heads * positions];
            _probabilities = new double[batch * heads][];
            for (var b = 0; b < batch; b++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var p = _probabilities[(b * heads) + h] = new double[positions * positions];
                    for (var i = 0; i < positions; i++)
                    {
                        var keys = causal ? i + 1 : positions;
                        var scores = Enumerable.Range(0, keys).Select(j => Dot(b, h, 0, i, 1, j) / Math.Sqrt(_size)).ToArray();
                        var max = scores.Max();
                        var sum = scores.Sum(s => Math.Exp(s - max));
                        LogSumExp[(((b * heads) + h) * positions) + i] = max + Math.Log(sum);
                        for (var j = 0; j < keys; j++)
                        {
                            p[(i * positions) + j] = Math.Exp(scores[j] - max) / sum;
                            for (var d = 0; d < _size; d++)
                            {
                                Output[(((b * positions) + i) * dim) + (h * _size) + d] += p[(i * positions) + j] * At(b, h, 2, j, d);
                            }
                        }
                    }
                }
            }
        }

        public double[] Output { get; }

        public double[] LogSumExp { get; }

        /// <summary>dV = Pᵀ·dO, dS = P ⊙ (dO·Vᵀ − rowsum(P ⊙ dO·Vᵀ)), dQ = dS·K/√dₕ, dK = dSᵀ·Q/√dₕ.</summary>
        public double[] Backward(float[] outputGradient)
        {
            var gradient = new double[_qkv.Length];
            var (t, scale) = (_positions, 1 / Math.Sqrt(_size));
            for (var b = 0; b < _batch; b++)
            {
                for (var h = 0; h < _heads; h++)
                {
                    var p = _probabilities[(b * _heads) + h];
                    for (var i = 0; i < t; i++)
                    {
                        double DO(int d) => outputGradient[(((b * t) + i) * _dim) + (h * _size) + d];
                        var dp = Enumerable.Range(0, t).Select(j => Enumerable.Range(0, _size).Sum(d => DO(d) * At(b, h, 2, j, d))).ToArray();
                        var rowSum = Enumerable.Range(0, t).Sum(j => p[(i * t) + j] * dp[j]);
                        for (var j = 0; j < t; j++)
                        {
                            var ds = p[(i * t) + j] * (dp[j] - rowSum) * scale;
                            for (var d = 0; d < _size; d++)
                            {
                                gradient[Index(b, h, 2, j, d)] += p[(i * t) + j] * DO(d);
                                gradient[Index(b, h, 0, i, d)] += ds * At(b, h, 1, j, d);
                                gradient[Index(b, h, 1, j, d)] += ds * At(b, h, 0, i, d);
                            }
                        }
                    }
                }
            }

            return gradient;
        }

        private int Index(int b, int h, int part, int position, int d) =>
            (((b * _positions) + position) * 3 * _dim) + (part * _dim) + (h * _size) + d;

        private double At(int b, int h, int part, int position, int d) => _qkv[Index(b, h, part, position, d)];

        private double Dot(int b, int h, int partA, int a, int partB, int c) =>
            Enumerable.Range(0, _size).Sum(d => At(b, h, partA, a, d) * At(b, h, partB, c, d));
    }
}
