using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// A first convolution and the 2 × 2 max pooling after it in one pass: each group of two pooling windows' eight
/// convolution outputs is computed as <see cref="DirectForward"/> computes them, then pooled while still in registers
/// and L1, so the convolution's own outputs (four times the pooled values) are never written to memory nor read back.
/// </summary>
public static unsafe partial class Convolution
{
    /// <summary>
    /// Whether <see cref="DirectForwardMaxPool"/> takes this convolution and pooling: a convolution the direct kernels
    /// take, and 2 × 2 max pooling at stride 2 over all its outputs' channels.
    /// </summary>
    public static bool PoolsDirectly(in Window2D window, in Window2D pool, int filters) =>
        ComputesDirectly(window) && pool.ChannelsLast && pool.Kernel == 2 && pool.Stride == 2 && pool.PadTop == 0 && pool.PadLeft == 0
        && pool.Channels == filters && pool.Height == window.OutputHeight && pool.Width == window.OutputWidth
        && pool.OutputHeight == window.OutputHeight / 2 && pool.OutputWidth == window.OutputWidth / 2 && pool.OutputHeight > 0 && pool.OutputWidth > 0;

    /// <summary>
    /// pooled, argmax = <see cref="Pooling.MaxForward"/> of <see cref="DirectForward"/>'s outputs, bit for bit, without
    /// those outputs: each is summed as the direct kernel sums it (from the bias, one multiply-add per window value, then
    /// ReLU), and each window keeps its first largest value (NaN never wins) and that value's index in the convolution's
    /// (h, w, c) outputs. Rows and columns no pooling window covers are not computed.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry, or the geometry is not one <see cref="PoolsDirectly"/> takes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectForwardMaxPool(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> pooled, Span<int> argmax, in Window2D window, in Window2D pool,
        int batch, GemmActivation activation = GemmActivation.None)
    {
        window.Validate();
        pool.Validate();
        // The convolution's outputs are never stored: their length is the one the direct kernels check for.
        var filters = CheckDirect(input.Length, weights.Length, batch * window.Positions * (weights.Length / window.PatchSize), window, batch, nameof(weights));
        if (!PoolsDirectly(window, pool, filters))
        {
            throw new ArgumentException($"The fused kernel pools 2 × 2 windows at stride 2 over all {filters} filters of {window}, not {pool}.", nameof(pool));
        }

        Guard.Length(bias, bias.IsEmpty ? 0 : filters, nameof(bias));
        if (pooled.Length != batch * pool.Positions * filters || argmax.Length != pooled.Length)
        {
            throw new ArgumentException(
                $"Expected {batch} × {pool.Positions} × {filters} pooled values and as many indices, but the spans hold {pooled.Length} and {argmax.Length}.", nameof(pooled));
        }

        if (activation is not (GemmActivation.None or GemmActivation.Relu))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }

        fixed (float* source = input, w = weights, b = bias, target = pooled)
        fixed (int* indices = argmax)
        {
            var job = new DirectPoolJob
            {
                Direct = new DirectJob
                {
                    Input = source, Weights = w, Bias = bias.IsEmpty ? null : b, Output = target, Window = window, Filters = filters,
                    Relu = activation == GemmActivation.Relu, Batch = batch,
                },
                Indices = indices,
                Pool = pool,
            };
            delegate*<void*, int, int, void> part = DirectPath(filters) switch
            {
                GemmPath.Vector512 => &DirectPoolPart<Vector512<float>, Simd512>,
                GemmPath.Vector256 => &DirectPoolPart<Vector256<float>, Simd256>,
                GemmPath.Vector128 => &DirectPoolPart<Vector128<float>, Simd128>,
                _ => &DirectPoolPart<float, Simd1>,
            };
            WorkSplitter.RunIndependent(part, &job, batch, (long)batch * window.Positions * filters);
        }
    }

    /// <summary>
    /// Whether <see cref="DirectWeightGradientMaxPool"/> takes this convolution and max pooling: a convolution the direct
    /// kernels take, and pooling windows inside its outputs over all their channels.
    /// </summary>
    public static bool PoolsGradientDirectly(in Window2D window, in Window2D pool, int filters) =>
        ComputesDirectly(window) && pool.ChannelsLast && pool.PadTop == 0 && pool.PadLeft == 0 && pool.Channels == filters
        && pool.Height == window.OutputHeight && pool.Width == window.OutputWidth
        && ((pool.OutputHeight - 1) * pool.Stride) + pool.Kernel <= pool.Height && ((pool.OutputWidth - 1) * pool.Stride) + pool.Kernel <= pool.Width;

    /// <summary>
    /// weightGradient = <see cref="DirectWeightGradient"/> of the output gradient that <see cref="Pooling.MaxBackward"/>
    /// makes of <paramref name="pooledGradient"/> (with its <paramref name="gate"/>, if any), bit for bit, without that
    /// gradient for the whole batch: each sample's is expanded into a buffer of the thread that sums it (kept by the
    /// thread once grown), and summed from there while it is in L2, instead of being written for every sample (four
    /// times the pooled values for 2 × 2 windows) and read back. With a <paramref name="biasGradient"/>, also the sum
    /// of that output gradient over every sample and position, taken from the pooled values it is made of (each
    /// sample's in position order, then the samples as the weight gradient's are).
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry, or the geometry is not one <see cref="PoolsGradientDirectly"/> takes.</exception>
    public static void DirectWeightGradientMaxPool(
        ReadOnlySpan<float> input, ReadOnlySpan<float> pooledGradient, ReadOnlySpan<int> argmax, ReadOnlySpan<float> gate, Span<float> weightGradient,
        Span<float> biasGradient, in Window2D window, in Window2D pool, int batch)
    {
        window.Validate();
        pool.Validate();
        var filters = CheckDirect(input.Length, weightGradient.Length, batch * window.Positions * (weightGradient.Length / window.PatchSize), window, batch, nameof(weightGradient));
        if (!PoolsGradientDirectly(window, pool, filters))
        {
            throw new ArgumentException($"The fused weight gradient takes max pooling over all {filters} filters of {window}, not {pool}.", nameof(pool));
        }

        var outputs = batch * pool.Positions * filters;
        if (pooledGradient.Length != outputs || argmax.Length != outputs || !(gate.IsEmpty || gate.Length == outputs))
        {
            throw new ArgumentException(
                $"Expected {batch} × {pool.Positions} × {filters} pooled gradients, indices and (if any) gates, but the spans hold {pooledGradient.Length}, {argmax.Length} and {gate.Length}.",
                nameof(pooledGradient));
        }

        Guard.Length(biasGradient, biasGradient.IsEmpty ? 0 : filters, nameof(biasGradient));
        var partSize = (batch + WorkSplitter.ReductionParts - 1) / WorkSplitter.ReductionParts;
        var parts = (batch + partSize - 1) / partSize;
        var weights = window.PatchSize * filters;
        var tile = weights + biasGradient.Length; // each part's ∂W, then its ∂b
        fixed (float* source = input, gradient = pooledGradient, gates = gate)
        fixed (int* indices = argmax)
        {
            var job = new DirectJob
            {
                Input = source, Window = window, Filters = filters, Batch = batch, PartSize = partSize,
                Partials = PackingBuffers.ForCurrentThread().Partials((long)parts * tile),
                PooledGradient = gradient, PoolIndices = indices, PoolGate = gate.IsEmpty ? null : gates, Pool = pool, PoolBias = !biasGradient.IsEmpty,
            };
            WorkSplitter.RunIndependent(DirectGradientPart(filters), &job, parts, input.Length);
            Reductions.AddInOrder(job.Partials, parts, tile, weightGradient);
            if (!biasGradient.IsEmpty)
            {
                Reductions.AddInOrder(job.Partials + weights, parts, tile, biasGradient);
            }
        }
    }

    /// <summary>What the fused kernel's parts share: the direct kernel's job, the indices and the pooling windows.</summary>
    private struct DirectPoolJob
    {
        public DirectJob Direct;
        public int* Indices;
        public Window2D Pool;
    }

    /// <summary>
    /// Samples [<paramref name="from"/>, <paramref name="to"/>): two pooling windows side by side at a time (a last odd
    /// one computed twice, kept once), their eight outputs in eight chains, a vector of filters at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectPoolPart<TVector, TSimd>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var job = (DirectPoolJob*)context;
        var window = job->Direct.Window;
        var pool = job->Pool;
        var filters = job->Direct.Filters;
        var padded = stackalloc float[PaddedSize(window)];
        var offsets = stackalloc int[window.PatchSize];
        var origins = stackalloc int[RoundUp(window.Positions)];
        var outputs = stackalloc float[DirectPositions * TSimd.Count]; // the group's eight outputs of one vector of filters
        var positions = stackalloc int[DirectPositions];
        var windows = stackalloc int[DirectPositions]; // where the group's eight windows start in the padded sample
        WindowLayout(window, offsets, origins);
        var perSample = pool.Positions * filters;
        for (var n = from; n < to; n++)
        {
            Pad(job->Direct.Input + ((long)n * window.InputSize), padded, window);
            var pooled = job->Direct.Output + ((long)n * perSample);
            var indices = job->Indices + ((long)n * perSample);
            for (var ph = 0; ph < pool.OutputHeight; ph++)
            {
                for (var pw = 0; pw < pool.OutputWidth; pw += 2)
                {
                    var second = Math.Min(pw + 1, pool.OutputWidth - 1);
                    // Each window's outputs in its row order: (2ph, 2pw), (2ph, 2pw + 1), (2ph + 1, 2pw), (2ph + 1, 2pw + 1).
                    for (var j = 0; j < DirectPositions; j++)
                    {
                        var column = (2 * (j < 4 ? pw : second)) + (j & 1);
                        positions[j] = ((2 * ph) + ((j >> 1) & 1)) * window.OutputWidth + column;
                        windows[j] = origins[positions[j]];
                    }

                    for (var f = 0; f < filters; f += TSimd.Count)
                    {
                        var count = TSimd.Count;
                        EightOutputs<TVector, TSimd>(&job->Direct, padded, offsets, windows, f, outputs, count, DirectPositions);
                        var at = ((ph * pool.OutputWidth) + pw) * filters;
                        PoolFour(outputs, positions, count, f, filters, pooled + at + f, indices + at + f);
                        if (second != pw)
                        {
                            PoolFour(outputs + (4 * count), positions + 4, count, f, filters, pooled + at + filters + f, indices + at + filters + f);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// One pooling window of a vector of <paramref name="count"/> filters from <paramref name="f"/> on: its four outputs
    /// (<paramref name="values"/>, <paramref name="count"/> apart, in the window's row order) reduced to the first
    /// largest, NaN never winning, as <see cref="Pooling.MaxForward"/> reduces them; the index is the output's within the sample.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PoolFour(float* values, int* positions, int count, int f, int filters, float* pooled, int* argmax)
    {
        var c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<float>.Count <= count; c += Vector<float>.Count)
            {
                var largest = Vector.Load(values + c);
                var best = new Vector<int>((positions[0] * filters) + f + c) + Vector<int>.Indices;
                for (var j = 1; j < 4; j++)
                {
                    var value = Vector.Load(values + (j * count) + c);
                    var takes = Vector.GreaterThan(value, largest) | Vector.AndNot(Vector.Equals(value, value), Vector.Equals(largest, largest));
                    largest = Vector.ConditionalSelect(takes, value, largest);
                    best = Vector.ConditionalSelect(takes, new Vector<int>((positions[j] * filters) + f + c) + Vector<int>.Indices, best);
                }

                Vector.Store(largest, pooled + c);
                Vector.Store(best, argmax + c);
            }
        }

        for (; c < count; c++)
        {
            var (largest, best) = (values[c], (positions[0] * filters) + f + c);
            for (var j = 1; j < 4; j++)
            {
                (largest, best) = Pooling.Larger(values[(j * count) + c], (positions[j] * filters) + f + c, largest, best);
            }

            (pooled[c], argmax[c]) = (largest, best);
        }
    }
}
