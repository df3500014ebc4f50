using System;
using System.Runtime.CompilerServices;
using System.Numerics;

namespace ModelGen.Kernels;

/// <summary>
/// Max and average pooling over square windows of each channel, and global average pooling over each channel's every
/// position, forward and backward, for a whole batch.
/// </summary>
public static class Pooling
{
    /// <summary>
    /// output[n, p, c] = the largest value of channel c in the window at position p of sample n (channels-last), and
    /// <paramref name="argmax"/> the index within the sample of the input it came from: the first largest, in row
    /// order, on a tie. NaN never wins against a number. The window must not reach over the border.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch, or the window is padded.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MaxForward(ReadOnlySpan<float> input, Span<float> output, Span<int> argmax, in Window2D window, int batch)
    {
        CheckLengths(input.Length, output.Length, argmax.Length, window, batch);
        fixed (float* source = input, target = output)
        fixed (int* indices = argmax)
        {
            var job = new Convolution.SampleJob { Source = source, Target = target, Indices = indices, Window = window };
            WorkSplitter.RunIndependent(&MaxForwardPart, &job, batch, (long)input.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="MaxForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxForwardPart(void* context, int from, int to)
    {
        var job = (Convolution.SampleJob*)context;
        var window = job->Window;
        var (inputSize, positions, channels) = (window.InputSize, window.Positions, window.Channels);
        for (var n = from; n < to; n++)
        {
            var sample = new ReadOnlySpan<float>(job->Source + ((long)n * inputSize), inputSize);
            for (var p = 0; p < positions; p++)
            {
                var row = ((long)n * positions * channels) + (p * channels);
                var output = new Span<float>(job->Target + row, channels);
                var argmax = new Span<int>(job->Indices + row, channels);
                var (top, left) = Convolution.WindowOrigin(window, p);
                if (window.ChannelsLast)
                {
                    MaxChannelsLast(sample, output, argmax, window, top, left);
                }
                else
                {
                    MaxChannelsFirst(sample, output, argmax, window, top, left);
                }
            }
        }
    }

    /// <summary>
    /// One window over (h, w, c) input: the channels lie side by side, so a vector of channels is compared at a time,
    /// window element after window element (row order), keeping the first largest and its index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxChannelsLast(ReadOnlySpan<float> sample, Span<float> output, Span<int> argmax, in Window2D window, int top, int left)
    {
        var (channels, kernel, width) = (window.Channels, window.Kernel, window.Width);
        var first = ((top * width) + left) * channels;
        var c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lanes = Vector<int>.Count;
            var laneOffsets = Vector<int>.Indices; // the channel offsets of one vector of a window's values
            for (; c + lanes <= channels; c += lanes)
            {
                var largest = new Vector<float>(sample.Slice(first + c));
                var best = new Vector<int>(first + c) + laneOffsets;
                for (var kh = 0; kh < kernel; kh++)
                {
                    for (var kw = kh == 0 ? 1 : 0; kw < kernel; kw++)
                    {
                        var index = ((((top + kh) * width) + left + kw) * channels) + c;
                        var value = new Vector<float>(sample.Slice(index));
                        // value > largest, or largest is NaN and value is not: NaN never wins against a number.
                        var takes = Vector.GreaterThan(value, largest)
                            | Vector.AndNot(Vector.Equals(value, value), Vector.Equals(largest, largest));
                        largest = Vector.ConditionalSelect(takes, value, largest);
                        best = Vector.ConditionalSelect(takes, new Vector<int>(index) + laneOffsets, best);
                    }
                }

                largest.CopyTo(output.Slice(c));
                best.CopyTo(argmax.Slice(c));
            }
        }

        for (; c < channels; c++)
        {
            var (largest, best) = (sample[first + c], first + c);
            for (var kh = 0; kh < kernel; kh++)
            {
                for (var kw = 0; kw < kernel; kw++)
                {
                    var index = ((((top + kh) * width) + left + kw) * channels) + c;
                    (largest, best) = Larger(sample[index], index, largest, best);
                }
            }

            (output[c], argmax[c]) = (largest, best);
        }
    }

    /// <summary>One window over (c, h, w) input (a pooling layer straight on the model's input): channel by channel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxChannelsFirst(ReadOnlySpan<float> sample, Span<float> output, Span<int> argmax, in Window2D window, int top, int left)
    {
        var (kernel, height, width) = (window.Kernel, window.Height, window.Width);
        for (var c = 0; c < window.Channels; c++)
        {
            var first = (((c * height) + top) * width) + left;
            var (largest, best) = (sample[first], first);
            for (var kh = 0; kh < kernel; kh++)
            {
                var rowStart = first + (kh * width);
                for (var kw = 0; kw < kernel; kw++)
                {
                    (largest, best) = Larger(sample[rowStart + kw], rowStart + kw, largest, best);
                }
            }

            (output[c], argmax[c]) = (largest, best);
        }
    }

    /// <summary>The value and index kept after comparing one more: the later one only if strictly larger, or if the kept one is NaN and it is not.</summary>
    private static (float Value, int Index) Larger(float value, int index, float largest, int best) =>
        value > largest || (float.IsNaN(largest) && !float.IsNaN(value)) ? (value, index) : (largest, best);


    /// <summary>
    /// dx (overwritten) = the gradient of <see cref="MaxForward"/>: each output's gradient added to the input
    /// <paramref name="argmax"/> names, zero elsewhere.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch, or an index lies outside its sample.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx, in Window2D window, int batch)
    {
        CheckLengths(dx.Length, dy.Length, argmax.Length, window, batch);
        fixed (float* source = dy, target = dx)
        fixed (int* indices = argmax)
        {
            var job = new Convolution.SampleJob { Source = source, Target = target, Indices = indices, Window = window };
            WorkSplitter.RunIndependent(&MaxBackwardPart, &job, batch, (long)dx.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="MaxBackward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxBackwardPart(void* context, int from, int to)
    {
        var job = (Convolution.SampleJob*)context;
        var (inputSize, outputs) = (job->Window.InputSize, job->Window.Positions * job->Window.Channels);
        for (var n = from; n < to; n++)
        {
            var sample = new Span<float>(job->Target + ((long)n * inputSize), inputSize);
            sample.Clear();
            var dy = job->Source + ((long)n * outputs);
            var argmax = job->Indices + ((long)n * outputs);
            for (var i = 0; i < outputs; i++)
            {
                var index = argmax[i];
                if ((uint)index >= (uint)inputSize)
                {
                    throw new ArgumentException($"Pooling index {index} lies outside a sample of {inputSize} values.", "argmax");
                }

                sample[index] += dy[i];
            }
        }
    }

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
