using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// Multi-head scaled dot-product self-attention over sequences, row-major [batch, positions, features]. The input is
/// one packed buffer [B, T, 3·D] (what a Dense D → 3·D layer produces): queries in columns 0 … D − 1, keys in
/// D … 2·D − 1, values in 2·D … 3·D − 1, and within each part head h owns the dₕ = D / H columns h·dₕ … (h+1)·dₕ − 1
/// (PyTorch's order). Per sample and head, with Q, K, V [T × dₕ]:
/// <code>
/// S = Q·Kᵀ / √dₕ + M,   P = softmax(S) by rows,   O = P·V
/// </code>
/// where M is 0, or −∞ above the diagonal when causal (a position sees itself and earlier positions only). The heads'
/// outputs are concatenated into [B, T, D]. The T × T matrices are never stored: the forward pass keeps each row's
/// log-sum-exp of S (B·H·T floats, [B, H, T]), and the backward pass recomputes P tile by tile from it, as
/// FlashAttention does.
/// </summary>
/// <remarks>
/// Work is split over the (sample, head) pairs in at most <see cref="WorkSplitter.ReductionParts"/> parts cut by the
/// shape alone; each pair is computed whole by one thread with its own slice of the workspace, so the results are
/// the same bits for every thread count. Scores are vectorized along the keys (from a transposed copy of the head's
/// keys), weighted sums along the head dimension; see Attention.Rows.cs.
/// </remarks>
public static unsafe partial class Attention
{
    /// <summary>Keys per tile of the fused softmax.</summary>
    internal const int KeyBlock = 64;

    /// <summary>Transposed keys and values are padded to a multiple of this many positions (the widest vector's floats).</summary>
    internal const int KeyPadding = 16;

    /// <summary>Workspace floats <see cref="Forward"/> and <see cref="Backward"/> need for this shape.</summary>
    public static int WorkspaceLength(int batch, int positions, int dim, int heads)
    {
        var headSize = HeadSize(batch, positions, dim, heads);
        return checked(Parts(batch, heads) * PartLength(positions, headSize));
    }

    /// <summary>Floats of the log-sum-exp the forward pass saves for the backward pass: B·H·T, laid out [B, H, T].</summary>
    public static int LogSumExpLength(int batch, int positions, int heads) => checked(batch * heads * positions);

    /// <summary>
    /// Forward pass: <paramref name="output"/> [B, T, D] = the heads' softmax(Q·Kᵀ/√dₕ + M)·V concatenated, and
    /// <paramref name="logSumExp"/> [B, H, T] = log Σⱼ exp(Sᵢⱼ) of each row of scores (masked entries excluded).
    /// <paramref name="qkv"/> is [B, T, 3·D] (queries, keys, values); <paramref name="workspace"/> at least
    /// <see cref="WorkspaceLength"/> floats, overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, D is not a multiple of H, or a span's length does not fit the shape.</exception>
    public static void Forward(
        ReadOnlySpan<float> qkv, Span<float> output, Span<float> logSumExp, Span<float> workspace,
        int batch, int positions, int dim, int heads, bool causal)
    {
        var headSize = CheckShape(qkv, output, workspace, batch, positions, dim, heads);
        Guard.Length(logSumExp, LogSumExpLength(batch, positions, heads), nameof(logSumExp));
        fixed (float* input = qkv, result = output, lse = logSumExp, scratch = workspace)
        {
            var job = new Job(input, result, lse, scratch, batch, positions, dim, heads, headSize, causal);
            Split(&RunParts<ForwardPass>, &job);
        }
    }

    /// <summary>
    /// Backward pass: from the forward pass's input, output and log-sum-exp and the gradient dO on the output, writes
    /// <paramref name="qkvGradient"/> [B, T, 3·D] = (dQ | dK | dV), per head with Pᵢⱼ = exp(Sᵢⱼ − lseᵢ) and
    /// Δᵢ = Σ_d dOᵢ_d·Oᵢ_d (= Σⱼ Pᵢⱼ·dPᵢⱼ):
    /// <code>
    /// dV = Pᵀ·dO,   dP = dO·Vᵀ,   dS = P ⊙ (dP − Δ) / √dₕ,   dQ = dS·K,   dK = dSᵀ·Q
    /// </code>
    /// <paramref name="workspace"/> holds at least <see cref="WorkspaceLength"/> floats, overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, D is not a multiple of H, or a span's length does not fit the shape.</exception>
    public static void Backward(
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> outputGradient,
        Span<float> qkvGradient, Span<float> workspace, int batch, int positions, int dim, int heads, bool causal)
    {
        var headSize = CheckShape(qkv, output, workspace, batch, positions, dim, heads);
        Guard.Length(logSumExp, LogSumExpLength(batch, positions, heads), nameof(logSumExp));
        Guard.Length(outputGradient, output.Length, nameof(outputGradient));
        Guard.Length(qkvGradient, qkv.Length, nameof(qkvGradient));
        fixed (float* input = qkv, result = output, lse = logSumExp, scratch = workspace, dOut = outputGradient, dIn = qkvGradient)
        {
            var job = new Job(input, result, lse, scratch, batch, positions, dim, heads, headSize, causal)
            {
                OutputGradient = dOut,
                InputGradient = dIn,
            };
            Split(&RunParts<BackwardPass>, &job);
        }
    }

    /// <summary>Floats of the key cache for <see cref="Decode"/>: [B, H, dₕ, P′], each head's keys transposed, P′ = <paramref name="maxPositions"/> rounded up to 16.</summary>
    public static int KeyCacheLength(int batch, int dim, int maxPositions) => checked(batch * dim * Padded(maxPositions));

    /// <summary>Floats of the value cache for <see cref="Decode"/>: [B, H, P, dₕ].</summary>
    public static int ValueCacheLength(int batch, int dim, int maxPositions) => checked(batch * dim * maxPositions);

    /// <summary>
    /// One step of causal generation: appends the keys and values of position t = <paramref name="position"/> (from
    /// <paramref name="qkv"/>, [B, 3·D] packed as in <see cref="Forward"/>) to the caches, which hold positions 0 … t − 1
    /// from earlier steps, and writes position t's attention output [B, D]. The floats are exactly those
    /// <see cref="Forward"/> with <c>causal</c> writes for position t of the whole sequence: the same row kernel reads
    /// the same keys and values in the same order.
    /// <paramref name="keyCache"/> holds <see cref="KeyCacheLength"/> floats ([B, H, dₕ, P′]) and
    /// <paramref name="valueCache"/> <see cref="ValueCacheLength"/> ([B, H, P, dₕ]), with P = <paramref name="maxPositions"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, the position is outside [0, <paramref name="maxPositions"/>), or a span's length does not fit.</exception>
    public static void Decode(
        ReadOnlySpan<float> qkv, Span<float> keyCache, Span<float> valueCache, Span<float> output,
        int batch, int dim, int heads, int position, int maxPositions)
    {
        var headSize = HeadSize(batch, maxPositions, dim, heads);
        if ((uint)position >= (uint)maxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"The position must lie in [0, {maxPositions}).");
        }

        Guard.Length(qkv, checked(batch * 3 * dim), nameof(qkv));
        Guard.Length(output, checked(batch * dim), nameof(output));
        Guard.Length(keyCache, KeyCacheLength(batch, dim, maxPositions), nameof(keyCache));
        Guard.Length(valueCache, ValueCacheLength(batch, dim, maxPositions), nameof(valueCache));
        fixed (float* input = qkv, result = output, keys = keyCache, values = valueCache)
        {
            var job = new Job(input, result, null, null, batch, 1, dim, heads, headSize, causal: true)
            {
                KeyCache = keys,
                ValueCache = values,
                Position = position,
                MaxPositions = maxPositions,
            };
            // A single position is too little work to split between threads.
            RunParts<DecodePass>(&job, 0, Parts(batch, heads));
        }
    }

    /// <summary>
    /// Workspace floats of one part: the head's keys and values transposed (dₕ × T′ each), the backward pass's
    /// probabilities and their gradients for one tile of keys (T′ × <see cref="KeyBlock"/> each) and Δ (T′).
    /// </summary>
    private static int PartLength(int positions, int headSize) => checked(Padded(positions) * ((2 * headSize) + (2 * KeyBlock) + 1));

    private static int Padded(int positions) => checked((positions + KeyPadding - 1) / KeyPadding * KeyPadding);

    private static int Parts(int batch, int heads) => (int)Math.Min((long)batch * heads, WorkSplitter.ReductionParts);

    private static int HeadSize(int batch, int positions, int dim, int heads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positions);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        if (dim % heads != 0)
        {
            throw new ArgumentException($"The model dimension {dim} is not a multiple of the {heads} heads.", nameof(heads));
        }

        return dim / heads;
    }

    private static int CheckShape(
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> output, ReadOnlySpan<float> workspace, int batch, int positions, int dim, int heads)
    {
        var headSize = HeadSize(batch, positions, dim, heads);
        Guard.Length(qkv, checked(batch * positions * 3 * dim), nameof(qkv));
        Guard.Length(output, checked(batch * positions * dim), nameof(output));
        var needed = WorkspaceLength(batch, positions, dim, heads);
        if (workspace.Length < needed)
        {
            throw new ArgumentException(
                $"The workspace holds {workspace.Length} floats, but attention over this shape needs {needed} (Attention.WorkspaceLength).",
                nameof(workspace));
        }

        return headSize;
    }

    /// <summary>Runs the parts of a pass, split over the kernel threads when the pass is large enough.</summary>
    private static void Split(delegate*<void*, int, int, void> body, Job* job)
    {
        var work = (long)job->Batch * job->Dim * job->Positions * job->Positions;
        WorkSplitter.RunIndependent(body, job, Parts(job->Batch, job->Heads), work);
    }

    /// <summary>Parts [from, to): each a fixed range of the (sample, head) pairs with its own slice of the workspace.</summary>
    private static void RunParts<TPass>(void* context, int from, int to)
        where TPass : IHeadPass
    {
        var job = (Job*)context;
        var pairs = job->Batch * job->Heads;
        var parts = Parts(job->Batch, job->Heads);
        var partLength = PartLength(job->Positions, job->HeadSize);
        for (var part = from; part < to; part++)
        {
            var workspace = job->Workspace is null ? null : job->Workspace + ((long)part * partLength);
            var last = (int)((long)(part + 1) * pairs / parts);
            for (var pair = (int)((long)part * pairs / parts); pair < last; pair++)
            {
                if (Vector512.IsHardwareAccelerated)
                {
                    TPass.Run<Simd512, Vector512<float>>(job, pair, workspace);
                }
                else if (Vector256.IsHardwareAccelerated)
                {
                    TPass.Run<Simd256, Vector256<float>>(job, pair, workspace);
                }
                else if (Vector128.IsHardwareAccelerated)
                {
                    TPass.Run<Simd128, Vector128<float>>(job, pair, workspace);
                }
                else
                {
                    TPass.Run<Simd1, float>(job, pair, workspace);
                }
            }
        }
    }

    /// <summary>One (sample, head) pair's share of a pass, at one vector width.</summary>
    private interface IHeadPass
    {
        static abstract void Run<TSimd, TVector>(Job* job, int pair, float* workspace)
            where TSimd : ISimd<TVector>
            where TVector : struct;
    }

    private readonly struct ForwardPass : IHeadPass
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run<TSimd, TVector>(Job* job, int pair, float* workspace)
            where TSimd : ISimd<TVector>
            where TVector : struct
        {
            var head = new HeadView(job, pair, workspace);
            var positions = job->Positions;
            Transpose(head.Keys, head.RowStride, positions, head.HeadSize, head.KeysT, head.TransposedStride);
            var scores = stackalloc float[KeyBlock];
            var lse = job->LogSumExp + ((long)pair * positions);
            var output = job->Output + ((long)(pair / job->Heads) * positions * job->Dim) + ((pair % job->Heads) * head.HeadSize);
            for (var i = 0; i < positions; i++, output += job->Dim)
            {
                lse[i] = AttendRow<TSimd, TVector>(
                    head.Queries + (i * head.RowStride), head.KeysT, head.TransposedStride, head.Values, head.RowStride,
                    job->Causal ? i + 1 : positions, head.HeadSize, head.Scale, scores, output);
            }
        }
    }

    private readonly struct BackwardPass : IHeadPass
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run<TSimd, TVector>(Job* job, int pair, float* workspace)
            where TSimd : ISimd<TVector>
            where TVector : struct
        {
            var head = new HeadView(job, pair, workspace);
            var positions = job->Positions;
            Transpose(head.Keys, head.RowStride, positions, head.HeadSize, head.KeysT, head.TransposedStride);
            Transpose(head.Values, head.RowStride, positions, head.HeadSize, head.ValuesT, head.TransposedStride);
            var offset = ((long)(pair / job->Heads) * positions * job->Dim) + ((pair % job->Heads) * head.HeadSize);
            var output = job->Output + offset;
            var outputGradient = job->OutputGradient + offset;
            for (var i = 0; i < positions; i++)
            {
                new Span<float>(head.QueryGradients + (i * head.RowStride), head.HeadSize).Clear();
                new Span<float>(head.KeyGradients + (i * head.RowStride), head.HeadSize).Clear();
                new Span<float>(head.ValueGradients + (i * head.RowStride), head.HeadSize).Clear();
                head.Deltas[i] = TensorPrimitives.Dot(
                    new ReadOnlySpan<float>(outputGradient + (i * job->Dim), head.HeadSize), new ReadOnlySpan<float>(output + (i * job->Dim), head.HeadSize));
            }

            var lse = job->LogSumExp + ((long)pair * positions);
            for (var first = 0; first < positions; first += KeyBlock)
            {
                BackwardTile<TSimd, TVector>(
                    head, first, Math.Min(KeyBlock, positions - first), positions, job->Causal, lse, head.Deltas, outputGradient, job->Dim);
            }
        }
    }

    private readonly struct DecodePass : IHeadPass
    {
        public static void Run<TSimd, TVector>(Job* job, int pair, float* workspace)
            where TSimd : ISimd<TVector>
            where TVector : struct
        {
            // The input holds one position per sample: the view's rows are the samples' packed q | k | v.
            var head = new HeadView(job, pair, workspace: null);
            var keyStride = Padded(job->MaxPositions);
            var keysT = job->KeyCache + ((long)pair * head.HeadSize * keyStride);
            var values = job->ValueCache + ((long)pair * job->MaxPositions * head.HeadSize);
            for (var d = 0; d < head.HeadSize; d++)
            {
                keysT[(d * keyStride) + job->Position] = head.Keys[d];
            }

            new ReadOnlySpan<float>(head.Values, head.HeadSize).CopyTo(new Span<float>(values + (job->Position * head.HeadSize), head.HeadSize));
            var scores = stackalloc float[KeyBlock];
            var output = job->Output + ((long)(pair / job->Heads) * job->Dim) + ((pair % job->Heads) * head.HeadSize);
            AttendRow<TSimd, TVector>(head.Queries, keysT, keyStride, values, head.HeadSize, job->Position + 1, head.HeadSize, head.Scale, scores, output);
        }
    }

    /// <summary>A pass's arguments, on the caller's stack for the helper threads to read.</summary>
    private struct Job(float* input, float* output, float* logSumExp, float* workspace, int batch, int positions, int dim, int heads, int headSize, bool causal)
    {
        public readonly float* Input = input;
        public readonly float* Output = output;
        public readonly float* LogSumExp = logSumExp;
        public readonly float* Workspace = workspace;
        public readonly int Batch = batch;
        public readonly int Positions = positions;
        public readonly int Dim = dim;
        public readonly int Heads = heads;
        public readonly int HeadSize = headSize;
        public readonly bool Causal = causal;
        public float* OutputGradient;
        public float* InputGradient;
        public float* KeyCache;
        public float* ValueCache;
        public int Position;
        public int MaxPositions;
    }

    /// <summary>Where one (sample, head) pair's queries, keys, values, their gradients and its transposed copies lie.</summary>
    private readonly struct HeadView
    {
        public readonly float* Queries;
        public readonly float* Keys;
        public readonly float* Values;
        public readonly float* QueryGradients;
        public readonly float* KeyGradients;
        public readonly float* ValueGradients;
        public readonly float* KeysT;
        public readonly float* ValuesT;
        public readonly float* Probabilities;
        public readonly float* Slopes;
        public readonly float* Deltas;
        public readonly nint RowStride;
        public readonly nint TransposedStride;
        public readonly int HeadSize;
        public readonly float Scale;

        public HeadView(Job* job, int pair, float* workspace)
        {
            HeadSize = job->HeadSize;
            Scale = 1f / MathF.Sqrt(HeadSize);
            RowStride = 3 * job->Dim;
            TransposedStride = Padded(job->Positions);
            var offset = ((long)(pair / job->Heads) * job->Positions * RowStride) + ((pair % job->Heads) * HeadSize);
            Queries = job->Input + offset;
            Keys = Queries + job->Dim;
            Values = Keys + job->Dim;
            if (job->InputGradient is not null)
            {
                QueryGradients = job->InputGradient + offset;
                KeyGradients = QueryGradients + job->Dim;
                ValueGradients = KeyGradients + job->Dim;
            }

            KeysT = workspace;
            ValuesT = KeysT + (HeadSize * TransposedStride);
            Probabilities = ValuesT + (HeadSize * TransposedStride);
            Slopes = Probabilities + (KeyBlock * TransposedStride);
            Deltas = Slopes + (KeyBlock * TransposedStride);
        }
    }
}
