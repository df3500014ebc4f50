using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// A first convolution computed straight from the model's own (channels-first) input, with no im2col: each sample is
/// copied once into a zero-padded image on the stack, and every output reads its window's few values from there.
/// </summary>
/// <remarks>
/// <para>
/// For a first layer the windows are short (K = kernel² × channels: 9 for a 3 × 3 kernel over one channel), so the
/// im2col matrix is mostly its own traffic: writing it took longer than the product that reads it (for the Fashion
/// CNN's first layer at batch 64, 912 µs against 532 µs, and the weight gradient built it again; docs/performance.md).
/// These kernels read the windows in place instead.
/// </para>
/// <para>
/// <see cref="DirectForward"/> sums each output exactly as im2col and <see cref="Gemm.Multiply"/> do (from the bias,
/// one multiply-add per window value in (kernel row, kernel column, channel) order, then ReLU as it is stored), so it
/// gives their bits on every vector path. <see cref="DirectWeightGradient"/> sums each sample's positions from zero in
/// position order, adds the samples of each of at most eight parts fixed by the batch size, then the parts in order:
/// the same bits on one thread or two, and on every vector width.
/// </para>
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>The most values a window may hold (kernel² × channels) for the direct kernels: beyond, a product pays for im2col.</summary>
    public const int MaxDirectPatch = 32;

    /// <summary>The most floats a zero-padded sample may take (32 KiB, on the stack) for the direct kernels.</summary>
    public const int MaxDirectPaddedSample = 8192;

    /// <summary>Positions computed together: eight independent multiply-add chains, enough to keep both FMA pipes busy.</summary>
    private const int DirectPositions = 8;

    /// <summary>
    /// Whether <see cref="DirectForward"/> and <see cref="DirectWeightGradient"/> take this geometry: a channels-first
    /// input (the model's own), windows of at most <see cref="MaxDirectPatch"/> values, and a padded sample of at most
    /// <see cref="MaxDirectPaddedSample"/> floats. The generator uses them for such a layer when it needs no input gradient.
    /// </summary>
    public static bool ComputesDirectly(in Window2D window) =>
        !window.ChannelsLast && window.PatchSize <= MaxDirectPatch && PaddedSize(window) <= MaxDirectPaddedSample;

    /// <summary>
    /// output[n, p, f] = act(bias[f] + Σ window(n, p)[k] · weights[k, f]), outputs channels-last, weights
    /// [kernel² × channels, filters] row-major: the convolution <see cref="ImageToColumns"/> and
    /// <see cref="Gemm.Multiply"/> compute, with the same bits.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry, or the geometry is not one <see cref="ComputesDirectly"/> takes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectForward(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, in Window2D window, int batch,
        GemmActivation activation = GemmActivation.None)
    {
        var filters = CheckDirect(input.Length, weights.Length, output.Length, window, batch, nameof(output));
        Guard.Length(bias, bias.IsEmpty ? 0 : filters, nameof(bias));
        if (activation is not (GemmActivation.None or GemmActivation.Relu))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }

        fixed (float* source = input, w = weights, b = bias, target = output)
        {
            var job = new DirectJob
            {
                Input = source, Weights = w, Bias = bias.IsEmpty ? null : b, Output = target, Window = window, Filters = filters,
                Relu = activation == GemmActivation.Relu, Batch = batch,
            };
            delegate*<void*, int, int, void> part = DirectPath(filters) switch
            {
                GemmPath.Vector512 => &DirectForwardPart<Vector512<float>, Simd512>,
                GemmPath.Vector256 => &DirectForwardPart<Vector256<float>, Simd256>,
                GemmPath.Vector128 => &DirectForwardPart<Vector128<float>, Simd128>,
                _ => &DirectForwardPart<float, Simd1>,
            };
            WorkSplitter.RunIndependent(part, &job, batch, (long)output.Length);
        }
    }

    /// <summary>
    /// weightGradient (overwritten) = Σ over samples and positions of window(n, p) ⊗ outputGradient[n, p]: the weight
    /// gradient of <see cref="DirectForward"/>, [kernel² × channels, filters], from outputs' gradients stored as it writes outputs.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry, or the geometry is not one <see cref="ComputesDirectly"/> takes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DirectWeightGradient(ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, Span<float> weightGradient, in Window2D window, int batch)
    {
        var filters = CheckDirect(input.Length, weightGradient.Length, outputGradient.Length, window, batch, nameof(outputGradient));
        // Parts of equal size fixed by the batch alone (the last may be shorter), none empty.
        var partSize = (batch + WorkSplitter.ReductionParts - 1) / WorkSplitter.ReductionParts;
        var parts = (batch + partSize - 1) / partSize;
        var tile = window.PatchSize * filters;
        fixed (float* source = input, gradient = outputGradient, target = weightGradient)
        {
            var job = new DirectJob
            {
                Input = source, Gradient = gradient, Window = window, Filters = filters, Batch = batch, PartSize = partSize,
                Partials = PackingBuffers.ForCurrentThread().Partials((long)parts * tile),
            };
            WorkSplitter.RunIndependent(DirectGradientPart(filters), &job, parts, input.Length);
            Reductions.AddInOrder(job.Partials, parts, tile, new Span<float>(target, tile));
        }
    }

    /// <summary>
    /// inputGradient (overwritten) = the input gradient of <see cref="DirectForward"/>: each window value's gradient,
    /// Σ_f outputGradient[n, p, f] · weights[k, f], added to the input value it was read from (padding takes none).
    /// The generator calls it for a first convolution only when an input gradient is asked for (saliency), never in
    /// training, so it is written for clarity: one sample at a time, one window value at a time.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry.</exception>
    public static void DirectInputGradient(ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> weights, Span<float> inputGradient, in Window2D window, int batch)
    {
        var filters = CheckDirect(inputGradient.Length, weights.Length, outputGradient.Length, window, batch, nameof(outputGradient));
        inputGradient.Clear();
        var (inputSize, positions) = (window.InputSize, window.Positions);
        for (var n = 0; n < batch; n++)
        {
            var dx = inputGradient.Slice(n * inputSize, inputSize);
            for (var p = 0; p < positions; p++)
            {
                var dy = outputGradient.Slice(((n * positions) + p) * filters, filters);
                var (top, left) = WindowOrigin(window, p);
                var k = 0;
                for (var kh = 0; kh < window.Kernel; kh++)
                {
                    for (var kw = 0; kw < window.Kernel; kw++)
                    {
                        for (var c = 0; c < window.Channels; c++, k++)
                        {
                            var (h, w) = (top + kh, left + kw);
                            if ((uint)h < (uint)window.Height && (uint)w < (uint)window.Width)
                            {
                                dx[window.InputIndex(c, h, w)] += Blas.Dot(dy, weights.Slice(k * filters, filters));
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The widest accelerated vector whose width divides the filters (the lanes then need no padding); otherwise one
    /// lane at a time (<see cref="Simd1"/>), whose multiply-adds are fused exactly when the vectors' are, so the sums
    /// stay the product's: its edge tiles' on vector hardware, its scalar loops without.
    /// </summary>
    private static GemmPath DirectPath(int filters) => GemmTuning.Default.Path switch
    {
        GemmPath.Vector512 when filters % Vector512<float>.Count == 0 => GemmPath.Vector512,
        GemmPath.Vector512 or GemmPath.Vector256 when filters % Vector256<float>.Count == 0 => GemmPath.Vector256,
        GemmPath.Vector512 or GemmPath.Vector256 or GemmPath.Vector128 when filters % Vector128<float>.Count == 0 => GemmPath.Vector128,
        _ => GemmPath.Scalar,
    };

    /// <summary>What the direct kernels' parts share.</summary>
    internal struct DirectJob
    {
        public float* Input;
        public float* Weights;
        public float* Bias;
        public float* Output;
        public float* Gradient;
        public float* Partials;
        public float* PooledGradient;
        public int* PoolIndices;
        public float* PoolGate;
        public Window2D Pool;
        public bool PoolBias;
        public Window2D Window;
        public int Filters;
        public int Batch;
        public int PartSize;
        public bool Relu;
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="DirectForward"/>, eight positions at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectForwardPart<TVector, TSimd>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var job = (DirectJob*)context;
        var window = job->Window;
        var (patch, positions, filters) = (window.PatchSize, window.Positions, job->Filters);
        var padded = stackalloc float[PaddedSize(window)];
        var offsets = stackalloc int[patch];
        var origins = stackalloc int[RoundUp(positions)];
        WindowLayout(window, offsets, origins);
        for (var n = from; n < to; n++)
        {
            Pad(job->Input + ((long)n * window.InputSize), padded, window);
            var output = job->Output + ((long)n * positions * filters);
            for (var q = 0; q < positions; q += DirectPositions)
            {
                // The last group may run past the sample's positions (their origins repeat the last one): not stored.
                var valid = Math.Min(DirectPositions, positions - q);
                for (var f = 0; f < filters; f += TSimd.Count)
                {
                    EightOutputs<TVector, TSimd>(job, padded, offsets, origins + q, f, output + ((long)q * filters) + f, filters, valid);
                }
            }
        }
    }

    /// <summary>
    /// Eight outputs of the vector of filters from <paramref name="f"/> on, their windows starting at
    /// <paramref name="origins"/>[0..8) in the padded sample: each an accumulator started from the bias and given one
    /// multiply-add per window value in im2col's order (eight chains, enough to keep both FMA pipes busy), then stored
    /// <paramref name="stride"/> floats apart (the first <paramref name="valid"/>), ReLU as they are stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EightOutputs<TVector, TSimd>(DirectJob* job, float* padded, int* offsets, int* origins, int f, float* destination, long stride, int valid)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var (patch, filters, relu) = (job->Window.PatchSize, job->Filters, job->Relu);
        int o0 = origins[0], o1 = origins[1], o2 = origins[2], o3 = origins[3], o4 = origins[4], o5 = origins[5], o6 = origins[6], o7 = origins[7];
        var start = job->Bias == null ? TSimd.Zero : TSimd.Load(job->Bias + f);
        TVector a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start, a6 = start, a7 = start;
        var w = job->Weights + f;
        for (var k = 0; k < patch; k++)
        {
            var wk = TSimd.Load(w + (k * filters));
            var x = padded + offsets[k];
            a0 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o0]), wk, a0);
            a1 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o1]), wk, a1);
            a2 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o2]), wk, a2);
            a3 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o3]), wk, a3);
            a4 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o4]), wk, a4);
            a5 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o5]), wk, a5);
            a6 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o6]), wk, a6);
            a7 = TSimd.MultiplyAdd(TSimd.Broadcast(x[o7]), wk, a7);
        }

        Tile.Store<TVector, TSimd>(destination, a0, accumulate: false, relu);
        StoreIf<TVector, TSimd>(valid > 1, destination + stride, a1, relu);
        StoreIf<TVector, TSimd>(valid > 2, destination + (2 * stride), a2, relu);
        StoreIf<TVector, TSimd>(valid > 3, destination + (3 * stride), a3, relu);
        StoreIf<TVector, TSimd>(valid > 4, destination + (4 * stride), a4, relu);
        StoreIf<TVector, TSimd>(valid > 5, destination + (5 * stride), a5, relu);
        StoreIf<TVector, TSimd>(valid > 6, destination + (6 * stride), a6, relu);
        StoreIf<TVector, TSimd>(valid > 7, destination + (7 * stride), a7, relu);
    }

    /// <summary>The weight gradient's parts for the widest vector whose width divides the filters.</summary>
    private static delegate*<void*, int, int, void> DirectGradientPart(int filters) => DirectPath(filters) switch
    {
        GemmPath.Vector512 => &DirectGradientPart<Vector512<float>, Simd512>,
        GemmPath.Vector256 => &DirectGradientPart<Vector256<float>, Simd256>,
        GemmPath.Vector128 => &DirectGradientPart<Vector128<float>, Simd128>,
        _ => &DirectGradientPart<float, Simd1>,
    };

    /// <summary>
    /// The parts [<paramref name="from"/>, <paramref name="to"/>) of <see cref="DirectWeightGradient"/>: for each sample,
    /// nine window values and a vector of filters at a time, Σₚ x_k(p) · dz(p) over the sample's positions, one chain per
    /// weight from zero in position order, the nine sums held in registers; each sample's tile is then added to its
    /// part's sum. Each position's gradient is loaded once for nine multiply-adds, where a window value at a time would
    /// load it once per multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectGradientPart<TVector, TSimd>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        const int Block = 9;
        var job = (DirectJob*)context;
        var window = job->Window;
        var (patch, positions, filters) = (window.PatchSize, window.Positions, job->Filters);
        // With the pooling layer's gradient, the tile may end with the bias gradient's row.
        var tileLength = (patch + (job->PoolBias ? 1 : 0)) * filters;
        var padded = stackalloc float[PaddedSize(window)];
        var blocks = (patch + Block - 1) / Block;
        var offsets = stackalloc int[blocks * Block];
        var origins = stackalloc int[RoundUp(positions)];
        var sample = stackalloc float[tileLength];
        WindowLayout(window, offsets, origins);
        for (var k = patch; k < blocks * Block; k++)
        {
            offsets[k] = offsets[0]; // a last block's missing values: summed like the others, never stored
        }

        for (var part = from; part < to; part++)
        {
            var partSums = job->Partials + ((long)part * tileLength);
            var (first, end) = PartSamples(job, part);
            for (var n = first; n < end; n++)
            {
                Pad(job->Input + ((long)n * window.InputSize), padded, window);
                var gradient = job->Gradient + ((long)n * positions * filters);
                if (job->PooledGradient != null)
                {
                    // The sample's output gradient from the pooling layer's, into this thread's buffer: it stays in L2.
                    var pooled = (long)n * job->Pool.Positions * filters;
                    var gate = job->PoolGate == null ? null : job->PoolGate + pooled;
                    gradient = PackingBuffers.ForCurrentThread().Sample((long)positions * filters);
                    Pooling.MaxBackwardSample(job->PooledGradient + pooled, job->PoolIndices + pooled, gate, gradient, job->Pool);
                    if (job->PoolBias)
                    {
                        PooledBiasGradient<TVector, TSimd>(job->PooledGradient + pooled, gate, job->Pool.Positions, filters, sample + (patch * filters));
                    }
                }

                for (var kb = 0; kb < patch; kb += Block)
                {
                    var k = offsets + kb;
                    int k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
                    for (var f = 0; f < filters; f += TSimd.Count)
                    {
                        TVector s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero, s4 = TSimd.Zero;
                        TVector s5 = TSimd.Zero, s6 = TSimd.Zero, s7 = TSimd.Zero, s8 = TSimd.Zero;
                        var g = gradient + f;
                        for (var q = 0; q < positions; q++, g += filters)
                        {
                            var dz = TSimd.Load(g);
                            var x = padded + origins[q];
                            s0 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k0]), dz, s0);
                            s1 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k1]), dz, s1);
                            s2 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k2]), dz, s2);
                            s3 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k3]), dz, s3);
                            s4 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k4]), dz, s4);
                            s5 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k5]), dz, s5);
                            s6 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k6]), dz, s6);
                            s7 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k7]), dz, s7);
                            s8 = TSimd.MultiplyAdd(TSimd.Broadcast(x[k8]), dz, s8);
                        }

                        var row = sample + (kb * filters) + f;
                        var valid = patch - kb;
                        TSimd.Store(s0, row);
                        StoreIf<TVector, TSimd>(valid > 1, row + filters, s1, relu: false);
                        StoreIf<TVector, TSimd>(valid > 2, row + (2 * filters), s2, relu: false);
                        StoreIf<TVector, TSimd>(valid > 3, row + (3 * filters), s3, relu: false);
                        StoreIf<TVector, TSimd>(valid > 4, row + (4 * filters), s4, relu: false);
                        StoreIf<TVector, TSimd>(valid > 5, row + (5 * filters), s5, relu: false);
                        StoreIf<TVector, TSimd>(valid > 6, row + (6 * filters), s6, relu: false);
                        StoreIf<TVector, TSimd>(valid > 7, row + (7 * filters), s7, relu: false);
                        StoreIf<TVector, TSimd>(valid > 8, row + (8 * filters), s8, relu: false);
                    }
                }

                AddSample(partSums, sample, tileLength, n == first);
            }
        }
    }

    /// <summary>
    /// One sample's bias gradient from its pooled gradient: Σ over the pooled positions of dy where the gate is &gt; 0
    /// (all of dy without one), a vector of filters at a time, in position order; every output gradient the pooling
    /// layer makes is one of these values or zero, so this is the sum over the convolution's outputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PooledBiasGradient<TVector, TSimd>(float* dy, float* gate, int positions, int filters, float* sums)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        for (var f = 0; f < filters; f += TSimd.Count)
        {
            var sum = TSimd.Zero;
            for (var q = 0; q < positions; q++)
            {
                var value = TSimd.Load(dy + ((long)q * filters) + f);
                sum = TSimd.Add(sum, gate == null ? value : TSimd.KeepWherePositive(value, TSimd.Load(gate + ((long)q * filters) + f)));
            }

            TSimd.Store(sum, sums + f);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreIf<TVector, TSimd>(bool valid, float* row, TVector value, bool relu)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        if (valid)
        {
            Tile.Store<TVector, TSimd>(row, value, accumulate: false, relu);
        }
    }

    /// <summary>A part's sum of samples: the first copied, the others added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddSample(float* sums, float* sample, int length, bool first)
    {
        if (first)
        {
            new ReadOnlySpan<float>(sample, length).CopyTo(new Span<float>(sums, length));
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(sums, length), new ReadOnlySpan<float>(sample, length), new Span<float>(sums, length));
        }
    }

    /// <summary>The samples [First, End) of a part: the batch cut into parts of equal size, the last shorter.</summary>
    private static (int First, int End) PartSamples(DirectJob* job, int part) =>
        (part * job->PartSize, Math.Min(job->Batch, (part + 1) * job->PartSize));

    /// <summary>
    /// Where each window value lies from its window's top-left corner in the padded sample (<paramref name="offsets"/>,
    /// in (kernel row, kernel column, channel) order), and where each position's window starts
    /// (<paramref name="origins"/>, padded to a whole group by repeating the last).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WindowLayout(in Window2D window, int* offsets, int* origins)
    {
        var (height, width) = (PaddedHeight(window), PaddedWidth(window));
        var k = 0;
        for (var kh = 0; kh < window.Kernel; kh++)
        {
            for (var kw = 0; kw < window.Kernel; kw++)
            {
                for (var c = 0; c < window.Channels; c++)
                {
                    offsets[k++] = (((c * height) + kh) * width) + kw;
                }
            }
        }

        var positions = window.Positions;
        for (var q = 0; q < RoundUp(positions); q++)
        {
            var (oh, ow) = Math.DivRem(Math.Min(q, positions - 1), window.OutputWidth);
            origins[q] = (oh * window.Stride * width) + (ow * window.Stride);
        }
    }

    /// <summary>Copies one (c, h, w) sample into the zero-padded image the windows read: every row and column a window reaches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pad(float* sample, float* padded, in Window2D window)
    {
        var (height, width) = (PaddedHeight(window), PaddedWidth(window));
        new Span<float>(padded, window.Channels * height * width).Clear();
        var rows = Math.Min(window.Height, height - window.PadTop);
        var columns = Math.Min(window.Width, width - window.PadLeft);
        for (var c = 0; c < window.Channels; c++)
        {
            for (var h = 0; h < rows; h++)
            {
                var source = new ReadOnlySpan<float>(sample + (((c * window.Height) + h) * window.Width), columns);
                source.CopyTo(new Span<float>(padded + (((c * height) + h + window.PadTop) * width) + window.PadLeft, columns));
            }
        }
    }

    private static int PaddedHeight(in Window2D window) => ((window.OutputHeight - 1) * window.Stride) + window.Kernel;

    private static int PaddedWidth(in Window2D window) => ((window.OutputWidth - 1) * window.Stride) + window.Kernel;

    private static int PaddedSize(in Window2D window) => window.Channels * PaddedHeight(window) * PaddedWidth(window);

    private static int RoundUp(int positions) => (positions + DirectPositions - 1) / DirectPositions * DirectPositions;

    /// <summary>Checks the lengths and the geometry; returns the filters (the weights' columns).</summary>
    private static int CheckDirect(int inputLength, int weightLength, int outputLength, in Window2D window, int batch, string outputName)
    {
        window.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (!ComputesDirectly(window))
        {
            throw new ArgumentException(
                $"The direct kernels take a channels-first input, windows of at most {MaxDirectPatch} values and padded samples of at most {MaxDirectPaddedSample} floats: {window}.",
                nameof(window));
        }

        var filters = weightLength / window.PatchSize;
        if (filters == 0 || weightLength != filters * window.PatchSize || inputLength != (long)batch * window.InputSize
            || outputLength != (long)batch * window.Positions * filters)
        {
            throw new ArgumentException(
                $"Expected {batch} samples of {window.InputSize} inputs, weights of {window.PatchSize} rows and {batch} × {window.Positions} rows of as many " +
                $"filters as the weights have columns, but the spans hold {inputLength}, {weightLength} and {outputLength}.",
                outputName);
        }

        return filters;
    }
}
