using System;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// The per-row work of attention, written once over the vector widths (see <see cref="ISimd{TVector}"/>). Every
/// output element is computed by the same instructions in the same order whichever width runs it: a score is one lane's
/// chain of multiply-adds over the head dimension, and a weighted sum of values is one lane's chain over the keys.
/// </summary>
public static unsafe partial class Attention
{
    /// <summary>
    /// s[j] = scale · Σ_d q[d] · kᵀ[d·stride + j] for j in [0, <paramref name="count"/>): the scores of one query
    /// against keys stored transposed (one row per head dimension, keys side by side), vectorized along the keys so
    /// that no horizontal sum is needed. Whole vectors are computed, so up to the next multiple of the vector width
    /// lanes past <paramref name="count"/> are read and written (the callers pad both to <see cref="KeyPadding"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scores<TSimd, TVector>(float* q, float* keysT, nint stride, int count, int headSize, float scale, float* s)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var width = TSimd.Count;
        var end = (count + width - 1) / width * width;
        var j = 0;

        // Four vectors of keys at a time: four independent chains of multiply-adds hide the instruction's latency.
        for (; j + (4 * width) <= end; j += 4 * width)
        {
            TVector s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero;
            var row = keysT + j;
            for (var d = 0; d < headSize; d++, row += stride)
            {
                var qd = TSimd.Broadcast(q[d]);
                s0 = TSimd.MultiplyAdd(qd, TSimd.Load(row), s0);
                s1 = TSimd.MultiplyAdd(qd, TSimd.Load(row + width), s1);
                s2 = TSimd.MultiplyAdd(qd, TSimd.Load(row + (2 * width)), s2);
                s3 = TSimd.MultiplyAdd(qd, TSimd.Load(row + (3 * width)), s3);
            }

            var factor = TSimd.Broadcast(scale);
            TSimd.Store(TSimd.Multiply(s0, factor), s + j);
            TSimd.Store(TSimd.Multiply(s1, factor), s + j + width);
            TSimd.Store(TSimd.Multiply(s2, factor), s + j + (2 * width));
            TSimd.Store(TSimd.Multiply(s3, factor), s + j + (3 * width));
        }

        for (; j < end; j += width)
        {
            var s0 = TSimd.Zero;
            var row = keysT + j;
            for (var d = 0; d < headSize; d++, row += stride)
            {
                s0 = TSimd.MultiplyAdd(TSimd.Broadcast(q[d]), TSimd.Load(row), s0);
            }

            TSimd.Store(TSimd.Multiply(s0, TSimd.Broadcast(scale)), s + j);
        }
    }

    /// <summary>y[i] ·= a for i in [0, <paramref name="length"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale<TSimd, TVector>(float a, float* y, int length)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var i = 0;
        if (TSimd.Count > 1)
        {
            var factor = TSimd.Broadcast(a);
            for (; i + TSimd.Count <= length; i += TSimd.Count)
            {
                TSimd.Store(TSimd.Multiply(TSimd.Load(y + i), factor), y + i);
            }
        }

        for (; i < length; i++)
        {
            y[i] *= a;
        }
    }

    /// <summary>
    /// y[i] += Σⱼ w[j·weightStride] · rows[j·stride + i] for i in [0, <paramref name="length"/>), j in
    /// [0, <paramref name="count"/>): a weighted sum of rows, each lane's sum kept in a register and taken over j in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddWeightedRows<TSimd, TVector>(float* weights, nint weightStride, float* rows, nint stride, int count, float* y, int length)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var width = TSimd.Count;
        var i = 0;
        for (; width > 1 && i + (2 * width) <= length; i += 2 * width)
        {
            TVector y0 = TSimd.Load(y + i), y1 = TSimd.Load(y + i + width);
            var row = rows + i;
            for (var j = 0; j < count; j++, row += stride)
            {
                var w = TSimd.Broadcast(weights[j * weightStride]);
                y0 = TSimd.MultiplyAdd(w, TSimd.Load(row), y0);
                y1 = TSimd.MultiplyAdd(w, TSimd.Load(row + width), y1);
            }

            TSimd.Store(y0, y + i);
            TSimd.Store(y1, y + i + width);
        }

        for (; width > 1 && i + width <= length; i += width)
        {
            var y0 = TSimd.Load(y + i);
            var row = rows + i;
            for (var j = 0; j < count; j++, row += stride)
            {
                y0 = TSimd.MultiplyAdd(TSimd.Broadcast(weights[j * weightStride]), TSimd.Load(row), y0);
            }

            TSimd.Store(y0, y + i);
        }

        for (; i < length; i++)
        {
            var y0 = y[i];
            var row = rows + i;
            for (var j = 0; j < count; j++, row += stride)
            {
                y0 = Simd1.MultiplyAdd(weights[j * weightStride], *row, y0);
            }

            y[i] = y0;
        }
    }

    /// <summary>
    /// The softmax step of one tile of <paramref name="count"/> scores: m' = max(<paramref name="max"/>, max s), then
    /// s ← exp(s − m') in place; returns Σ exp(s − m'). Lanes from <paramref name="count"/> to the next whole vector are
    /// set to −∞ first (so they add nothing), whatever they held.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Exponentiate<TSimd, TVector>(float* scores, int count, ref float max)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var width = TSimd.Count;
        var end = (count + width - 1) / width * width;
        for (var j = count; j < end; j++)
        {
            scores[j] = float.NegativeInfinity;
        }

        var largest = TSimd.Load(scores);
        for (var j = width; j < end; j += width)
        {
            largest = TSimd.Max(largest, TSimd.Load(scores + j));
        }

        max = Math.Max(max, TSimd.MaxAcross(largest));
        var shift = TSimd.Broadcast(max);
        var sum = TSimd.Zero;
        for (var j = 0; j < end; j += width)
        {
            var p = TSimd.Exp(TSimd.Subtract(TSimd.Load(scores + j), shift));
            TSimd.Store(p, scores + j);
            sum = TSimd.Add(sum, p);
        }

        return TSimd.Sum(sum);
    }

    /// <summary>
    /// One query's attention over keys 0 … <paramref name="keys"/> − 1, tile by tile of <see cref="KeyBlock"/> keys with
    /// the softmax fused (FlashAttention's running maximum m and sum ℓ): per tile, the scores s, m' = max(m, max s), the
    /// sum and output so far scaled by exp(m − m'), then ℓ += Σ exp(s − m') and o += Σⱼ exp(sⱼ − m')·vⱼ. Finally
    /// o /= ℓ. Writes the head's output row and returns the log-sum-exp m + log ℓ of the scores.
    /// <paramref name="scores"/> is scratch for one tile's scores, <see cref="KeyBlock"/> floats.
    /// </summary>
    private static float AttendRow<TSimd, TVector>(
        float* q, float* keysT, nint keyStride, float* values, nint valueStride, int keys, int headSize, float scale,
        float* scores, float* output)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        new Span<float>(output, headSize).Clear();
        var max = float.NegativeInfinity;
        var sum = 0f;
        for (var first = 0; first < keys; first += KeyBlock)
        {
            var count = Math.Min(KeyBlock, keys - first);
            Scores<TSimd, TVector>(q, keysT + first, keyStride, count, headSize, scale, scores);
            var previous = max;
            var tileSum = Exponentiate<TSimd, TVector>(scores, count, ref max);
            if (first > 0 && max > previous)
            {
                var rescale = MathF.Exp(previous - max);
                sum *= rescale;
                Scale<TSimd, TVector>(rescale, output, headSize);
            }

            sum += tileSum;
            AddWeightedRows<TSimd, TVector>(scores, 1, values + (first * valueStride), valueStride, count, output, headSize);
        }

        Scale<TSimd, TVector>(1f / sum, output, headSize);
        return max + MathF.Log(sum);
    }

    /// <summary>
    /// One tile of keys [<paramref name="first"/>, first + <paramref name="count"/>) of a head's backward pass. For each
    /// query row i that sees one of them, recomputes the probabilities Pᵢⱼ = exp(Sᵢⱼ − lseᵢ) from the saved log-sum-exp,
    /// the gradient on them dPᵢⱼ = dOᵢ·vⱼ, dSᵢⱼ = Pᵢⱼ·(dPᵢⱼ − Δᵢ)·scale with Δᵢ = dOᵢ·Oᵢ, and adds dqᵢ += Σⱼ dSᵢⱼ·kⱼ;
    /// it keeps the tile's P and dS (a row of <see cref="KeyBlock"/> per query) and then sums, key by key,
    /// dvⱼ = Σᵢ Pᵢⱼ·dOᵢ and dkⱼ = Σᵢ dSᵢⱼ·qᵢ over the rows in order.
    /// </summary>
    private static void BackwardTile<TSimd, TVector>(
        in HeadView head, int first, int count, int positions, bool causal, float* logSumExp, float* deltas,
        float* outputGradient, nint outputStride)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var scale = TSimd.Broadcast(head.Scale);
        for (var i = causal ? first : 0; i < positions; i++)
        {
            var keys = causal ? Math.Min(count, i + 1 - first) : count;
            var p = head.Probabilities + (i * KeyBlock);
            var ds = head.Slopes + (i * KeyBlock);
            var q = head.Queries + (i * head.RowStride);
            var dO = outputGradient + (i * outputStride);
            Scores<TSimd, TVector>(q, head.KeysT + first, head.TransposedStride, keys, head.HeadSize, head.Scale, p);
            Scores<TSimd, TVector>(dO, head.ValuesT + first, head.TransposedStride, keys, head.HeadSize, 1f, ds);
            var (shift, offset) = (TSimd.Broadcast(logSumExp[i]), TSimd.Broadcast(deltas[i]));

            // Whole vectors: the lanes past the keys come from the zero padding of the transposed keys and values.
            for (var j = 0; j < keys; j += TSimd.Count)
            {
                var probability = TSimd.Exp(TSimd.Subtract(TSimd.Load(p + j), shift));
                TSimd.Store(probability, p + j);
                TSimd.Store(TSimd.Multiply(TSimd.Multiply(probability, TSimd.Subtract(TSimd.Load(ds + j), offset)), scale), ds + j);
            }

            AddWeightedRows<TSimd, TVector>(
                ds, 1, head.Keys + (first * head.RowStride), head.RowStride, keys, head.QueryGradients + (i * head.RowStride), head.HeadSize);
        }

        for (var j = 0; j < count; j++)
        {
            var key = first + j;
            var from = causal ? key : 0;
            var offset = key * head.RowStride;
            AddWeightedRows<TSimd, TVector>(
                head.Probabilities + (from * KeyBlock) + j, KeyBlock, outputGradient + (from * outputStride), outputStride,
                positions - from, head.ValueGradients + offset, head.HeadSize);
            AddWeightedRows<TSimd, TVector>(
                head.Slopes + (from * KeyBlock) + j, KeyBlock, head.Queries + (from * head.RowStride), head.RowStride,
                positions - from, head.KeyGradients + offset, head.HeadSize);
        }
    }

    /// <summary>
    /// kᵀ[d·stride + j] = k[j·rowStride + d] for the <paramref name="rows"/> keys (or values) of one head; the padding
    /// columns up to <paramref name="stride"/> are zeroed, so that whole vectors read only finite values.
    /// </summary>
    private static void Transpose(float* source, nint rowStride, int rows, int headSize, float* destination, nint stride)
    {
        for (var d = 0; d < headSize; d++)
        {
            var column = source + d;
            var target = destination + (d * stride);
            for (var j = 0; j < rows; j++, column += rowStride)
            {
                target[j] = *column;
            }

            new Span<float>(target + rows, (int)(stride - rows)).Clear();
        }
    }
}
