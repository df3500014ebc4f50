using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>Max pooling: each window's largest value and where it was, and the gradient routed back to it.</summary>
public static partial class Pooling
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
            var sample = job->Source + ((long)n * inputSize);
            var outputs = (long)n * positions * channels;
            if (window.ChannelsLast)
            {
                MaxChannelsLast(sample, job->Target + outputs, job->Indices + outputs, window);
                continue;
            }

            for (var p = 0; p < positions; p++)
            {
                var row = outputs + (p * channels);
                var (top, left) = Convolution.WindowOrigin(window, p);
                MaxChannelsFirst(
                    new ReadOnlySpan<float>(sample, inputSize), new Span<float>(job->Target + row, channels), new Span<int>(job->Indices + row, channels), window, top, left);
            }
        }
    }

    /// <summary>
    /// One sample of (h, w, c) input: the channels lie side by side, so a vector of channels is compared at a time,
    /// window element after window element (row order), keeping the first largest and its index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxChannelsLast(float* sample, float* output, int* argmax, in Window2D window)
    {
        var (channels, kernel, width, stride) = (window.Channels, window.Kernel, window.Width, window.Stride);
        var lanes = Vector.IsHardwareAccelerated ? Vector<float>.Count : int.MaxValue;
        for (var oh = 0; oh < window.OutputHeight; oh++)
        {
            for (var ow = 0; ow < window.OutputWidth; ow++, output += channels, argmax += channels)
            {
                var first = (((oh * stride * width) + (ow * stride)) * channels);
                var c = 0;
                for (; c + lanes <= channels; c += lanes)
                {
                    var largest = Vector.Load(sample + first + c);
                    var best = new Vector<int>(first + c) + Vector<int>.Indices;
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = kh == 0 ? 1 : 0; kw < kernel; kw++)
                        {
                            var index = first + (((kh * width) + kw) * channels) + c;
                            var value = Vector.Load(sample + index);
                            // value > largest, or largest is NaN and value is not: NaN never wins against a number.
                            var takes = Vector.GreaterThan(value, largest)
                                | Vector.AndNot(Vector.Equals(value, value), Vector.Equals(largest, largest));
                            largest = Vector.ConditionalSelect(takes, value, largest);
                            best = Vector.ConditionalSelect(takes, new Vector<int>(index) + Vector<int>.Indices, best);
                        }
                    }

                    Vector.Store(largest, output + c);
                    Vector.Store(best, argmax + c);
                }

                for (; c < channels; c++)
                {
                    var (largest, best) = (sample[first + c], first + c);
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            var index = first + (((kh * width) + kw) * channels) + c;
                            (largest, best) = Larger(sample[index], index, largest, best);
                        }
                    }

                    (output[c], argmax[c]) = (largest, best);
                }
            }
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
    internal static (float Value, int Index) Larger(float value, int index, float largest, int best) =>
        value > largest || (float.IsNaN(largest) && !float.IsNaN(value)) ? (value, index) : (largest, best);

    /// <summary>
    /// dx (overwritten) = the gradient of <see cref="MaxForward"/>: each output's gradient added to the input
    /// <paramref name="argmax"/> names, zero elsewhere. With a <paramref name="gate"/> (the pooled outputs of a ReLU
    /// layer below), an output's gradient is passed on only where its gate value is &gt; 0: since each pooled value is the
    /// ReLU output it came from, this is that layer's derivative [y &gt; 0], applied here to the fewer pooled values.
    /// </summary>
    /// <remarks>
    /// Windows that tile the input (stride = kernel, channels-last) write each input once, its output's gradient or
    /// zero, a vector of channels at a time; other windows clear the sample and add each gradient where it belongs.
    /// </remarks>
    /// <exception cref="ArgumentException">
    /// A span's length does not match the geometry and the batch, or an index lies outside its sample (or, for
    /// windows that tile the input, outside its window).
    /// </exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx, in Window2D window, int batch, ReadOnlySpan<float> gate = default)
    {
        CheckLengths(dx.Length, dy.Length, argmax.Length, window, batch);
        if (!gate.IsEmpty)
        {
            Guard.Length(gate, dy.Length, nameof(gate));
        }

        fixed (float* source = dy, target = dx, gates = gate)
        fixed (int* indices = argmax)
        {
            var job = new Convolution.SampleJob { Source = source, Target = target, Indices = indices, Gate = gates, Window = window };
            WorkSplitter.RunIndependent(&MaxBackwardPart, &job, batch, (long)dx.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="MaxBackward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxBackwardPart(void* context, int from, int to)
    {
        var job = (Convolution.SampleJob*)context;
        var window = job->Window;
        var (inputSize, outputs) = (window.InputSize, window.Positions * window.Channels);
        for (var n = from; n < to; n++)
        {
            var gate = job->Gate == null ? null : job->Gate + ((long)n * outputs);
            MaxBackwardSample(job->Source + ((long)n * outputs), job->Indices + ((long)n * outputs), gate, job->Target + ((long)n * inputSize), window);
        }
    }

    /// <summary>
    /// One sample of <see cref="MaxBackward"/> (<paramref name="gate"/> may be null), into <paramref name="dx"/>, which
    /// it overwrites: the fused first-convolution weight gradient expands each sample's gradient with it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxBackwardSample(float* dy, int* argmax, float* gate, float* dx, in Window2D window)
    {
        var (inputSize, outputs) = (window.InputSize, window.Positions * window.Channels);
        var tiles = window.ChannelsLast && window.Stride == window.Kernel;
        var covers = window.OutputHeight * window.Kernel == window.Height && window.OutputWidth * window.Kernel == window.Width;
        if (!tiles || !covers)
        {
            new Span<float>(dx, inputSize).Clear();
        }

        if (tiles)
        {
            WriteTiles(dy, argmax, gate, dx, window);
            return;
        }

        for (var i = 0; i < outputs; i++)
        {
            var index = argmax[i];
            if ((uint)index >= (uint)inputSize)
            {
                throw OutsideSample(index, inputSize);
            }

            dx[index] += gate == null || gate[i] > 0 ? dy[i] : 0;
        }
    }

    /// <summary>
    /// One sample's gradient when the windows tile the input (stride = kernel, channels-last): every input under a
    /// window is written once, its window's gradient where the index names it, zero elsewhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WriteTiles(float* dy, int* argmax, float* gate, float* dx, in Window2D window)
    {
        var (channels, kernel, width) = (window.Channels, window.Kernel, window.Width);
        var lanes = Vector.IsHardwareAccelerated ? Vector<float>.Count : int.MaxValue;
        for (var oh = 0; oh < window.OutputHeight; oh++)
        {
            for (var ow = 0; ow < window.OutputWidth; ow++, dy += channels, argmax += channels, gate = gate == null ? null : gate + channels)
            {
                var first = ((oh * kernel * width) + (ow * kernel)) * channels;
                var c = 0;
                for (; c + lanes <= channels; c += lanes)
                {
                    var gradient = Vector.Load(dy + c);
                    if (gate != null)
                    {
                        gradient = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(gate + c), Vector<float>.Zero), gradient, Vector<float>.Zero);
                    }

                    var best = Vector.Load(argmax + c);
                    var found = Vector<int>.Zero;
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            var index = first + (((kh * width) + kw) * channels) + c;
                            var hit = Vector.Equals(best, new Vector<int>(index) + Vector<int>.Indices);
                            found |= hit;
                            Vector.Store(Vector.ConditionalSelect(hit, gradient, Vector<float>.Zero), dx + index);
                        }
                    }

                    if (!Vector.EqualsAll(found, Vector<int>.AllBitsSet))
                    {
                        throw OutsideWindow(argmax, c, lanes, first, window);
                    }
                }

                for (; c < channels; c++)
                {
                    var gradient = gate == null || gate[c] > 0 ? dy[c] : 0;
                    var found = false;
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            var index = first + (((kh * width) + kw) * channels) + c;
                            var hit = argmax[c] == index;
                            found |= hit;
                            dx[index] = hit ? gradient : 0;
                        }
                    }

                    if (!found)
                    {
                        throw OutsideWindow(argmax, c, 1, first, window);
                    }
                }
            }
        }
    }

    /// <summary>The error for the first of <paramref name="count"/> indices from channel <paramref name="c"/> on that does not lie in its window.</summary>
    private static unsafe ArgumentException OutsideWindow(int* argmax, int c, int count, int first, in Window2D window)
    {
        var (channels, kernel, width) = (window.Channels, window.Kernel, window.Width);
        for (var lane = 0; lane < count; lane++)
        {
            var index = argmax[c + lane];
            if ((uint)index >= (uint)window.InputSize)
            {
                return OutsideSample(index, window.InputSize);
            }

            var (row, column) = Math.DivRem(index / channels, width);
            var (top, left) = Math.DivRem(first / channels, width);
            if (index % channels != c + lane || row < top || row >= top + kernel || column < left || column >= left + kernel)
            {
                return new ArgumentException($"Pooling index {index} lies outside its window of channel {c + lane} at ({top}, {left}).", "argmax");
            }
        }

        return new ArgumentException("Pooling indices lie outside their windows.", "argmax");
    }

    private static ArgumentException OutsideSample(int index, int inputSize) =>
        new($"Pooling index {index} lies outside a sample of {inputSize} values.", "argmax");
}
