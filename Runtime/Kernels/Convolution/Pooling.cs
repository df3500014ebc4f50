using System;
using System.Runtime.CompilerServices;
using System.Numerics;

namespace ModelGen.Kernels;

/// <summary>
/// Max and average pooling over square windows of each channel, and global average pooling over each channel's every
/// position, forward and backward, for a whole batch.
/// </summary>
public static partial class Pooling
{
    /// <summary>
    /// output[n, p, c] = the mean of channel c over the window at position p of sample n (channels-last): the window's
    /// values added in row order, then multiplied by 1 / kernel². The window must not reach over the border.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch, or the window is padded.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AverageForward(ReadOnlySpan<float> input, Span<float> output, in Window2D window, int batch)
    {
        CheckLengths(input.Length, output.Length, argmaxLength: null, window, batch);
        fixed (float* source = input, target = output)
        {
            var job = new Convolution.SampleJob { Source = source, Target = target, Window = window };
            WorkSplitter.RunIndependent(&AverageForwardPart, &job, batch, (long)input.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="AverageForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AverageForwardPart(void* context, int from, int to)
    {
        var job = (Convolution.SampleJob*)context;
        var window = job->Window;
        var (inputSize, positions, channels, kernel) = (window.InputSize, window.Positions, window.Channels, window.Kernel);
        var scale = 1f / (kernel * kernel);
        for (var n = from; n < to; n++)
        {
            var sample = new ReadOnlySpan<float>(job->Source + ((long)n * inputSize), inputSize);
            for (var p = 0; p < positions; p++)
            {
                var output = new Span<float>(job->Target + ((long)n * positions * channels) + (p * channels), channels);
                var (top, left) = Convolution.WindowOrigin(window, p);
                var c = 0;
                if (window.ChannelsLast && Vector.IsHardwareAccelerated)
                {
                    // A vector of channels at a time, window value after window value: each lane adds in the scalar order.
                    for (; c + Vector<float>.Count <= channels; c += Vector<float>.Count)
                    {
                        var sum = Vector<float>.Zero;
                        for (var kh = 0; kh < kernel; kh++)
                        {
                            for (var kw = 0; kw < kernel; kw++)
                            {
                                sum += new Vector<float>(sample.Slice(window.InputIndex(c, top + kh, left + kw)));
                            }
                        }

                        (sum * scale).CopyTo(output.Slice(c));
                    }
                }

                for (; c < channels; c++)
                {
                    var sum = 0f;
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            sum += sample[window.InputIndex(c, top + kh, left + kw)];
                        }
                    }

                    output[c] = sum * scale;
                }
            }
        }
    }

    /// <summary>
    /// dx (overwritten) = the gradient of <see cref="AverageForward"/>: each output's gradient times 1 / kernel² added to
    /// every input of its window (position after position, so overlapping windows add in one order).
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch, or the window is padded.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AverageBackward(ReadOnlySpan<float> dy, Span<float> dx, in Window2D window, int batch)
    {
        CheckLengths(dx.Length, dy.Length, argmaxLength: null, window, batch);
        fixed (float* source = dy, target = dx)
        {
            var job = new Convolution.SampleJob { Source = source, Target = target, Window = window };
            WorkSplitter.RunIndependent(&AverageBackwardPart, &job, batch, (long)dx.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="AverageBackward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AverageBackwardPart(void* context, int from, int to)
    {
        var job = (Convolution.SampleJob*)context;
        var window = job->Window;
        var (inputSize, positions, channels, kernel) = (window.InputSize, window.Positions, window.Channels, window.Kernel);
        var scale = 1f / (kernel * kernel);
        for (var n = from; n < to; n++)
        {
            var sample = new Span<float>(job->Target + ((long)n * inputSize), inputSize);
            sample.Clear();
            for (var p = 0; p < positions; p++)
            {
                var dy = new ReadOnlySpan<float>(job->Source + ((long)n * positions * channels) + (p * channels), channels);
                var (top, left) = Convolution.WindowOrigin(window, p);
                var c = 0;
                if (window.ChannelsLast && Vector.IsHardwareAccelerated)
                {
                    for (; c + Vector<float>.Count <= channels; c += Vector<float>.Count)
                    {
                        var share = new Vector<float>(dy.Slice(c)) * scale;
                        for (var kh = 0; kh < kernel; kh++)
                        {
                            for (var kw = 0; kw < kernel; kw++)
                            {
                                var at = sample.Slice(window.InputIndex(c, top + kh, left + kw));
                                (new Vector<float>(at) + share).CopyTo(at);
                            }
                        }
                    }
                }

                for (; c < channels; c++)
                {
                    var share = dy[c] * scale;
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            sample[window.InputIndex(c, top + kh, left + kw)] += share;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// output[n, c] = the mean of channel c over the <paramref name="positions"/> of sample n, whose values lie
    /// channels-last ([positions × channels]) or channels-first ([channels × positions]): added in position order,
    /// then multiplied by 1 / positions.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the sizes and the batch.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAverageForward(ReadOnlySpan<float> input, Span<float> output, int channels, int positions, bool channelsLast, int batch)
    {
        CheckGlobalLengths(input.Length, output.Length, channels, positions, batch);
        var scale = 1f / positions;
        var size = channels * positions;
        for (var n = 0; n < batch; n++)
        {
            var sample = input.Slice(n * size, size);
            var means = output.Slice(n * channels, channels);
            if (channelsLast)
            {
                // Column sums add each column's rows in order, whatever the vector width.
                means.Clear();
                Reductions.AddColumnSums(sample, means);
            }
            else
            {
                for (var c = 0; c < channels; c++)
                {
                    var sum = 0f;
                    foreach (var value in sample.Slice(c * positions, positions))
                    {
                        sum += value;
                    }

                    means[c] = sum;
                }
            }

            for (var c = 0; c < channels; c++)
            {
                means[c] *= scale;
            }
        }
    }

    /// <summary>dx (overwritten) = the gradient of <see cref="GlobalAverageForward"/>: dy[n, c] / positions at every position of channel c.</summary>
    /// <exception cref="ArgumentException">A span's length does not match the sizes and the batch.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAverageBackward(ReadOnlySpan<float> dy, Span<float> dx, int channels, int positions, bool channelsLast, int batch)
    {
        CheckGlobalLengths(dx.Length, dy.Length, channels, positions, batch);
        var scale = 1f / positions;
        var size = channels * positions;
        for (var n = 0; n < batch; n++)
        {
            var sample = dx.Slice(n * size, size);
            var gradient = dy.Slice(n * channels, channels);
            if (channelsLast)
            {
                var first = sample.Slice(0, channels);
                System.Numerics.Tensors.TensorPrimitives.Multiply(gradient, scale, first);
                for (var p = 1; p < positions; p++)
                {
                    first.CopyTo(sample.Slice(p * channels, channels));
                }
            }
            else
            {
                for (var c = 0; c < channels; c++)
                {
                    sample.Slice(c * positions, positions).Fill(gradient[c] * scale);
                }
            }
        }
    }

    private static void CheckGlobalLengths(int inputLength, int outputLength, int channels, int positions, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positions);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (inputLength != (long)batch * channels * positions || outputLength != (long)batch * channels)
        {
            throw new ArgumentException(
                $"Expected {batch} samples of {channels} × {positions} inputs and {channels} outputs, but the spans hold {inputLength} and {outputLength}.");
        }
    }

    /// <summary>Checks the geometry (unpadded windows inside the input) and the lengths; <paramref name="argmaxLength"/> is null for average pooling, which keeps no indices.</summary>
    private static void CheckLengths(int inputLength, int outputLength, int? argmaxLength, in Window2D window, int batch)
    {
        window.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (window.PadTop != 0 || window.PadLeft != 0
            || ((window.OutputHeight - 1) * window.Stride) + window.Kernel > window.Height
            || ((window.OutputWidth - 1) * window.Stride) + window.Kernel > window.Width)
        {
            throw new ArgumentException($"Pooling windows must lie inside the input: {window}.", nameof(window));
        }

        var outputs = (long)batch * window.Positions * window.Channels;
        if (inputLength != (long)batch * window.InputSize || outputLength != outputs || (argmaxLength is { } indices && indices != outputs))
        {
            throw new ArgumentException(argmaxLength is { } held
                ? $"Expected {batch} samples of {window.InputSize} inputs and {window.Positions * window.Channels} outputs and indices, but the spans hold {inputLength}, {outputLength} and {held}."
                : $"Expected {batch} samples of {window.InputSize} inputs and {window.Positions * window.Channels} outputs, but the spans hold {inputLength} and {outputLength}.");
        }
    }
}
