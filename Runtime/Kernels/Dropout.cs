using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>Inverted dropout: the training-time forward pass that draws a mask, and the backward pass that reuses it.</summary>
/// <remarks>
/// The mask needs one uniform number per value (16,384 per step for a 256-unit layer at batch 64), which one scalar
/// generator makes at about 4 ns each. So each call seeds eight xoshiro128** generators, one per lane of a 256-bit
/// vector, from eight draws of the caller's stream, and draws eight numbers per step. The mask is a function of the
/// caller's stream alone, the same on every processor (software vectors where 256-bit ones are not accelerated).
/// </remarks>
public static class Dropout
{
    /// <summary>
    /// y = x ⊙ mask, where each mask value is 0 with probability <paramref name="rate"/> and 1 / (1 − rate)
    /// otherwise, drawn from <paramref name="random"/>; the mask is kept for <see cref="Backward"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float rate, ref SeededRandom random)
    {
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must lie in [0, 1).");
        }

        Guard.Length(y, x.Length, nameof(y));
        Guard.Length(mask, x.Length, nameof(mask));
        var generator = new LaneGenerator(ref random);
        generator.Fill(x, y, mask, rate);
    }

    /// <summary>dx = dy ⊙ mask: the gradient flows only through the values the forward pass kept.</summary>
    public static void Backward(ReadOnlySpan<float> mask, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.Length(dy, mask.Length, nameof(dy));
        Guard.Length(dx, mask.Length, nameof(dx));
        TensorPrimitives.Multiply(dy, mask, dx);
    }

    /// <summary>Eight xoshiro128** generators side by side, one per lane.</summary>
    private readonly struct LaneGenerator
    {
        private readonly Vector256<uint> _s0, _s1, _s2, _s3;

        public LaneGenerator(ref SeededRandom random)
        {
            // A state word forced odd can never leave the generator's four words all zero.
            _s0 = Draw(ref random) | Vector256<uint>.One;
            _s1 = Draw(ref random);
            _s2 = Draw(ref random);
            _s3 = Draw(ref random);
        }

        /// <summary>
        /// mask = 0 where the next uniform number is below <paramref name="rate"/>, 1 / (1 − rate) elsewhere, eight
        /// values per step of the generators; y = x ⊙ mask. The state lives in locals for the whole loop: kept in the
        /// struct, the JIT stored and reloaded all four vectors every step, and a 64 × 256 mask took 24.2 µs instead of 11.6.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Fill(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float rate)
        {
            var (s0, s1, s2, s3) = (_s0, _s1, _s2, _s3);
            var threshold = Vector256.Create(rate);
            var kept = Vector256.Create(1f / (1f - rate));
            var length = mask.Length;
            ref var input = ref MemoryMarshal.GetReference(x);
            ref var output = ref MemoryMarshal.GetReference(y);
            ref var kept0 = ref MemoryMarshal.GetReference(mask);
            for (var i = 0; i < length; i += Vector256<float>.Count)
            {
                // xoshiro128** in every lane: the output from s1, then the state's linear step.
                var result = RotateLeft(s1 * 5u, 7) * 9u;
                var t = s1 << 9;
                s2 ^= s0;
                s3 ^= s1;
                s1 ^= s2;
                s0 ^= s3;
                s2 ^= t;
                s3 = RotateLeft(s3, 11);
                var uniform = Vector256.ConvertToSingle((result >> 8).AsInt32()) * (1f / (1 << 24));
                var values = Vector256.ConditionalSelect(Vector256.LessThan(uniform, threshold), Vector256<float>.Zero, kept);
                if (i + Vector256<float>.Count <= length)
                {
                    values.StoreUnsafe(ref kept0, (nuint)i);
                    (Vector256.LoadUnsafe(ref input, (nuint)i) * values).StoreUnsafe(ref output, (nuint)i);
                }
                else
                {
                    for (var j = i; j < length; j++)
                    {
                        var value = values.GetElement(j - i);
                        Unsafe.Add(ref kept0, j) = value;
                        Unsafe.Add(ref output, j) = Unsafe.Add(ref input, j) * value;
                    }
                }
            }
        }

        private static Vector256<uint> Draw(ref SeededRandom random) => Vector256.Create(
            random.NextUInt32(), random.NextUInt32(), random.NextUInt32(), random.NextUInt32(),
            random.NextUInt32(), random.NextUInt32(), random.NextUInt32(), random.NextUInt32());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> RotateLeft(Vector256<uint> value, int count) => (value << count) | (value >> (32 - count));
    }
}
