using System;
using System.Numerics.Tensors;
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

    /// <summary>y[i] += a · x[i] for i in [0, <paramref name="length"/>), vectorized along i with a one-lane tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd<TSimd, TVector>(float a, float* x, float* y, int length)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var i = 0;
        if (TSimd.Count > 1)
        {
            var factor = TSimd.Broadcast(a);
            for (; i + TSimd.Count <= length; i += TSimd.Count)
            {
                TSimd.Store(TSimd.MultiplyAdd(factor, TSimd.Load(x + i), TSimd.Load(y + i)), y + i);
            }
        }

        for (; i < length; i++)
        {
            y[i] = Simd1.MultiplyAdd(a, x[i], y[i]);
        }
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
        var result = new Span<float>(output, headSize);
        result.Clear();
        var max = float.NegativeInfinity;
        var sum = 0f;
        for (var first = 0; first < keys; first += KeyBlock)
        {
            var count = Math.Min(KeyBlock, keys - first);
            Scores<TSimd, TVector>(q, keysT + first, keyStride, count, headSize, scale, scores);
            var tile = new Span<float>(scores, count);
            var newMax = Math.Max(max, TensorPrimitives.Max(tile));
            if (first > 0 && newMax > max)
            {
                var rescale = MathF.Exp(max - newMax);
                sum *= rescale;
                TensorPrimitives.Multiply(result, rescale, result);
            }

            max = newMax;
            TensorPrimitives.Subtract(tile, max, tile);
            TensorPrimitives.Exp(tile, tile);
            sum += TensorPrimitives.Sum(tile);
            var value = values + (first * valueStride);
            for (var j = 0; j < count; j++, value += valueStride)
            {
                MultiplyAdd<TSimd, TVector>(scores[j], value, output, headSize);
            }
        }

        TensorPrimitives.Multiply(result, 1f / sum, result);
        return max + MathF.Log(sum);
    }

    /// <summary>
    /// One query row's share of the backward pass, tile by tile: recomputes the probabilities pⱼ = exp(sⱼ − lse) from
    /// the saved log-sum-exp, the gradient on them dpⱼ = dO·vⱼ, and dsⱼ = pⱼ·(dpⱼ − Δ)·scale with Δ = dO·O; then
    /// dvⱼ += pⱼ·dO, dq += dsⱼ·kⱼ, dkⱼ += dsⱼ·q. Keys are visited in order, so every sum has a fixed order.
    /// <paramref name="probabilities"/> and <paramref name="slopes"/> are scratch for one tile's p and ds,
    /// <see cref="KeyBlock"/> floats each.
    /// </summary>
    private static void BackwardRow<TSimd, TVector>(
        in HeadView head, int row, int keys, float logSumExp, float delta, float* outputGradient,
        float* probabilities, float* slopes)
        where TSimd : ISimd<TVector>
        where TVector : struct
    {
        var q = head.Queries + (row * head.RowStride);
        var dq = head.QueryGradients + (row * head.RowStride);
        new Span<float>(dq, head.HeadSize).Clear();
        for (var first = 0; first < keys; first += KeyBlock)
        {
            var count = Math.Min(KeyBlock, keys - first);
            Scores<TSimd, TVector>(q, head.KeysT + first, head.TransposedStride, count, head.HeadSize, head.Scale, probabilities);
            Scores<TSimd, TVector>(outputGradient, head.ValuesT + first, head.TransposedStride, count, head.HeadSize, 1f, slopes);
            var p = new Span<float>(probabilities, count);
            var ds = new Span<float>(slopes, count);
            TensorPrimitives.Subtract(p, logSumExp, p);
            TensorPrimitives.Exp(p, p);
            TensorPrimitives.Subtract(ds, delta, ds);
            TensorPrimitives.Multiply(ds, p, ds);
            TensorPrimitives.Multiply(ds, head.Scale, ds);
            for (var j = 0; j < count; j++)
            {
                var offset = (first + j) * head.RowStride;
                MultiplyAdd<TSimd, TVector>(probabilities[j], outputGradient, head.ValueGradients + offset, head.HeadSize);
                MultiplyAdd<TSimd, TVector>(slopes[j], head.Keys + offset, dq, head.HeadSize);
                MultiplyAdd<TSimd, TVector>(slopes[j], q, head.KeyGradients + offset, head.HeadSize);
            }
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
