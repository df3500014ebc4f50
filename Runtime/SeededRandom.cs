using System;

namespace ModelGen;

/// <summary>
/// A small, fast generator (xoshiro128**, seeded through SplitMix64) whose sequence for a seed is fixed forever, on
/// every platform and runtime version: initial weights and shuffles are reproducible from their seeds.
/// </summary>
public struct SeededRandom
{
    private uint _s0, _s1, _s2, _s3;

    /// <summary>Starts the sequence for <paramref name="seed"/>.</summary>
    public SeededRandom(int seed)
    {
        var state = (ulong)(uint)seed;
        var a = SplitMix64(ref state);
        var b = SplitMix64(ref state);
        _s0 = (uint)a;
        _s1 = (uint)(a >> 32);
        _s2 = (uint)b;
        _s3 = (uint)(b >> 32);
    }

    /// <summary>
    /// Starts sequence number <paramref name="stream"/> of a family that <paramref name="seed"/> keys, for a purpose of
    /// its own (such as one epoch's data augmentation) that must not draw from, or shift, the seed's main sequence.
    /// Each (seed, stream) pair has its own fixed sequence; none starts where the plain constructor starts.
    /// </summary>
    internal SeededRandom(int seed, ulong stream)
    {
        // The stream number is scrambled into a 64-bit key (SplitMix64's step is a bijection, so streams get distinct
        // keys up to the one bit forced here) whose top bit is set: the state SplitMix64 then starts from is never a
        // plain seed's, whose top 32 bits are zero.
        var key = stream;
        var state = (ulong)(uint)seed ^ (SplitMix64(ref key) | (1UL << 63));
        var a = SplitMix64(ref state);
        var b = SplitMix64(ref state);
        _s0 = (uint)a;
        _s1 = (uint)(a >> 32);
        _s2 = (uint)b;
        _s3 = (uint)(b >> 32);
    }

    /// <summary>
    /// Continues the sequence from a state saved by <see cref="GetState"/> (four 32-bit words, not all zero), as a
    /// checkpoint does.
    /// </summary>
    public static SeededRandom FromState(ReadOnlySpan<uint> state)
    {
        if (state.Length != 4)
        {
            throw new ArgumentException($"A generator state is 4 words, not {state.Length}.", nameof(state));
        }

        if ((state[0] | state[1] | state[2] | state[3]) == 0)
        {
            throw new ArgumentException("An all-zero state would repeat zero forever; no seed produces it.", nameof(state));
        }

        var random = default(SeededRandom);
        (random._s0, random._s1, random._s2, random._s3) = (state[0], state[1], state[2], state[3]);
        return random;
    }

    /// <summary>Writes the generator's four state words to <paramref name="state"/>: <see cref="FromState"/> continues from them.</summary>
    public readonly void GetState(Span<uint> state)
    {
        if (state.Length != 4)
        {
            throw new ArgumentException($"A generator state is 4 words, not {state.Length}.", nameof(state));
        }

        (state[0], state[1], state[2], state[3]) = (_s0, _s1, _s2, _s3);
    }

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt32()
    {
        var result = uint.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 9;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = uint.RotateLeft(_s3, 11);
        return result;
    }

    /// <summary>A float uniform in [0, 1), with 24 random bits.</summary>
    public float NextSingle() => (NextUInt32() >> 8) * (1f / (1 << 24));

    /// <summary>A float uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public float NextSingle(float low, float high) => low + ((high - low) * NextSingle());

    /// <summary>An integer uniform in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    public int NextInt32(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        var range = (uint)maxExclusive;
        var product = (ulong)NextUInt32() * range;
        if ((uint)product < range)
        {
            var threshold = (0u - range) % range;
            while ((uint)product < threshold)
            {
                product = (ulong)NextUInt32() * range;
            }
        }

        return (int)(product >> 32);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt32(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
