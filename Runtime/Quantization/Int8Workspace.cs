using System;

namespace ModelGen.Quantization;

/// <summary>
/// The memory an <see cref="Int8Predictor"/> computes in: one float buffer that holds every intermediate value of a
/// batch, each at a fixed per-sample offset (values whose lifetimes do not overlap share one), and scratch arrays for
/// the quantized levels, their parameters, convolution windows and the float kernels' side outputs. Everything grows
/// to the largest batch seen and is then reused, so a warm predictor allocates nothing.
/// </summary>
internal sealed class Int8Workspace
{
    private readonly int[] _offsets;
    private readonly int[] _sizes;
    private readonly int _floatsPerSample;
    private AlignedBuffer _values;
    private int _capacity;

    /// <summary>A workspace for values of <paramref name="sizes"/> floats per sample at per-sample <paramref name="offsets"/>; value 0 is the model's input, never stored here.</summary>
    public Int8Workspace(int[] offsets, int[] sizes, int floatsPerSample)
    {
        _offsets = offsets;
        _sizes = sizes;
        _floatsPerSample = floatsPerSample;
        _capacity = 1;
        _values = new AlignedBuffer(floatsPerSample);
    }

    /// <summary>Quantized activations of the product being computed.</summary>
    public byte[] Levels = [];

    /// <summary>The activations' scale per row of the product (or one).</summary>
    public float[] RowScales = [];

    /// <summary>The activations' zero point per row of the product (or one).</summary>
    public int[] RowZeroPoints = [];

    /// <summary>A convolution's windows (im2col rows) for a few samples, while it is calibrated in float.</summary>
    public float[] Columns = [];

    /// <summary>A convolution's input images for a few samples, quantized, from which its windows of levels are built.</summary>
    public byte[] ImageLevels = [];

    /// <summary>Max pooling's index of each output's input (not needed at inference, but the kernel writes it).</summary>
    public int[] Indices = [];

    /// <summary>Layer normalization's normalized values (the kernel keeps them for backward).</summary>
    public float[] Normalized = [];

    /// <summary>Layer normalization's 1 / √(σ² + ε) per sample.</summary>
    public float[] Deviations = [];

    /// <summary>Grows the value buffer to hold <paramref name="batch"/> samples; once the largest batch has been seen this never allocates.</summary>
    public void EnsureCapacity(int batch)
    {
        if (batch > _capacity)
        {
            _values = new AlignedBuffer(checked(batch * _floatsPerSample));
            _capacity = batch;
        }
    }

    /// <summary>Value <paramref name="value"/> of a batch: <paramref name="input"/> for value 0, else its region of the buffer.</summary>
    public ReadOnlySpan<float> Read(int value, ReadOnlySpan<float> input, int batch) => value == 0 ? input : Write(value, batch);

    /// <summary>The region of value <paramref name="value"/> (not the input) for a batch.</summary>
    public Span<float> Write(int value, int batch) => _values.Span.Slice(_offsets[value] * batch, _sizes[value] * batch);

    /// <summary>The first <paramref name="length"/> elements of <paramref name="buffer"/>, replaced by a larger array first if it is shorter.</summary>
    public static Span<T> Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer.AsSpan(0, length);
    }
}
