using System;
using System.Runtime.InteropServices;

namespace ModelGen;

/// <summary>
/// A float buffer whose first element sits on a 64-byte boundary (one cache line, one AVX-512 register). The array
/// lives on the pinned object heap, so the alignment found at construction holds for the buffer's lifetime.
/// </summary>
public sealed class AlignedBuffer
{
    private const int AlignmentBytes = 64;
    private readonly float[] _array;
    private readonly int _start;

    /// <summary>Allocates a zeroed buffer of <paramref name="length"/> floats.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        const int slack = (AlignmentBytes / sizeof(float)) - 1;
        _array = GC.AllocateArray<float>(length + slack, pinned: true);
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);
        var misalignment = (int)(address % AlignmentBytes);
        _start = misalignment == 0 ? 0 : (AlignmentBytes - misalignment) / sizeof(float);
        Length = length;
    }

    /// <summary>The number of floats.</summary>
    public int Length { get; }

    /// <summary>The buffer's contents.</summary>
    public Span<float> Span => _array.AsSpan(_start, Length);
}
