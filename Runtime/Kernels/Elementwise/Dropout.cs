using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>Inverted dropout: the training-time forward pass that draws a mask, and the backward pass that reuses it.</summary>
/// <remarks>
/// The mask needs one uniform number per value (16,384 per step for a 256-unit layer at batch 64). Each is a hash of
/// the value's index under a key drawn once per call from the caller's stream (a counter-based generator): no state
/// runs from one value to the next, so eight or sixteen lanes hash at once with nothing to wait for, and any range of
/// the mask can be drawn on its own, by any thread, with the same bits. The mask is a function of the caller's stream
/// alone, the same on every processor (software vectors where 256-bit ones are not accelerated).
/// </remarks>
public static class Dropout
{
    /// <summary>
    /// y = x ⊙ mask, where each mask value is 0 with probability <paramref name="rate"/> and 1 / (1 − rate)
    /// otherwise, drawn from <paramref name="random"/> (two draws a call, whatever the length); the mask is kept for
    /// <see cref="Backward"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float rate, ref SeededRandom random)
    {
        CheckRate(rate);
        Guard.Length(y, x.Length, nameof(y));
        Guard.Length(mask, x.Length, nameof(mask));
        DropoutKey.Draw(rate, ref random).Fill(x, y, mask, 0);
    }

    /// <exception cref="ArgumentOutOfRangeException">The rate is not in [0, 1).</exception>
    internal static void CheckRate(float rate)
    {
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must lie in [0, 1).");
        }
    }

    /// <summary>dx = dy ⊙ mask: the gradient flows only through the values the forward pass kept.</summary>
    public static void Backward(ReadOnlySpan<float> mask, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.Length(dy, mask.Length, nameof(dy));
        Guard.Length(dx, mask.Length, nameof(dx));
        TensorPrimitives.Multiply(dy, mask, dx);
    }
}

/// <summary>
/// One call's dropout mask: value i is dropped when a hash of i under the call's two key words falls below the rate ×
/// 2³². The hash is MurmurHash3's 32-bit finalizer applied to a Weyl sequence (i · golden ratio + first key word), with
/// the second key word mixed in between its two rounds. Any range of the mask can be filled on its own (a matrix
/// product fills each part of its result where it computes it: <see cref="Gemm.MultiplyDropout"/>).
/// </summary>
internal readonly struct DropoutKey
{
    private readonly uint _first, _second, _threshold;
    private readonly float _kept;

    private DropoutKey(uint first, uint second, float rate)
    {
        (_first, _second) = (first, second);
        _threshold = (uint)Math.Ceiling(rate * 4294967296.0);
        _kept = 1f / (1f - rate);
    }

    /// <summary>The next call's key: two draws from the caller's stream.</summary>
    public static DropoutKey Draw(float rate, ref SeededRandom random) => new(random.NextUInt32(), random.NextUInt32(), rate);

    /// <summary>
    /// mask = 0 or 1 / (1 − rate), and y = x ⊙ mask, over spans that begin at index <paramref name="offset"/> of the
    /// whole mask (indices wrap at 2³²).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fill(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, long offset)
    {
        var (firstKey, secondKey, threshold) = (Vector256.Create(_first), Vector256.Create(_second), Vector256.Create(_threshold));
        var kept = Vector256.Create(_kept);
        var index = Vector256.Create((uint)offset) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var step = Vector256.Create((uint)Vector256<uint>.Count);
        var length = mask.Length;
        ref var input = ref MemoryMarshal.GetReference(x);
        ref var output = ref MemoryMarshal.GetReference(y);
        ref var values = ref MemoryMarshal.GetReference(mask);
        var i = 0;
        for (; i + Vector256<float>.Count <= length; i += Vector256<float>.Count)
        {
            var dropped = Vector256.LessThan(Hash(index, firstKey, secondKey), threshold).AsSingle();
            var scale = Vector256.ConditionalSelect(dropped, Vector256<float>.Zero, kept);
            scale.StoreUnsafe(ref values, (nuint)i);
            (Vector256.LoadUnsafe(ref input, (nuint)i) * scale).StoreUnsafe(ref output, (nuint)i);
            index += step;
        }

        if (i < length)
        {
            var dropped = Vector256.LessThan(Hash(index, firstKey, secondKey), threshold);
            for (var lane = 0; i < length; i++, lane++)
            {
                var scale = dropped.GetElement(lane) != 0 ? 0f : _kept;
                Unsafe.Add(ref values, i) = scale;
                Unsafe.Add(ref output, i) = Unsafe.Add(ref input, i) * scale;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Hash(Vector256<uint> index, Vector256<uint> firstKey, Vector256<uint> secondKey)
    {
        var h = (index * 0x9E3779B9u) + firstKey;
        h = (h ^ (h >> 16)) * 0x85EBCA6Bu;
        h ^= secondKey;
        h = (h ^ (h >> 13)) * 0xC2B2AE35u;
        return h ^ (h >> 16);
    }
}
