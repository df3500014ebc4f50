using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>
/// The data movement around a convolution computed as one matrix product (im2col): each window of the input becomes a
/// row of a [batch × positions, kernel² × channels] matrix, so that the convolution of the whole batch is that matrix
/// times the kernels [kernel² × channels, filters], with the bias and activation fused in as for a dense layer, and its
/// backward is the same two products a dense layer has, plus <see cref="ColumnsToImage"/> for the input gradient.
/// </summary>
public static class Convolution
{
    /// <summary>
    /// Writes every window of every sample as a row of <paramref name="columns"/>: row n·positions + p holds the window
    /// at output position p of sample n, in (kernel row, kernel column, channel) order, zeros where it reaches over the
    /// border. Each sample's output positions go row by row.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ImageToColumns(ReadOnlySpan<float> input, Span<float> columns, in Window2D window, int batch)
    {
        CheckLengths(input.Length, columns.Length, window, batch, nameof(columns));
        var (inputSize, positions, patch) = (window.InputSize, window.Positions, window.PatchSize);
        for (var n = 0; n < batch; n++)
        {
            var sample = input.Slice(n * inputSize, inputSize);
            var rows = columns.Slice(n * positions * patch, positions * patch);
            if (window.ChannelsLast)
            {
                CopyWindowsChannelsLast(sample, rows, window);
            }
            else
            {
                CopyWindowsChannelsFirst(sample, rows, window);
            }
        }
    }

    /// <summary>
    /// One sample's windows from (h, w, c) input: the part of a kernel row that lies inside the input is one run of
    /// values (its columns' channels side by side), copied at once; what lies over the border is zeroed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyWindowsChannelsLast(ReadOnlySpan<float> sample, Span<float> rows, in Window2D window)
    {
        var (channels, kernel, patch) = (window.Channels, window.Kernel, window.PatchSize);
        for (var p = 0; p < window.Positions; p++)
        {
            var row = rows.Slice(p * patch, patch);
            var (top, left) = WindowOrigin(window, p);
            var (from, to) = (Math.Max(0, -left), Math.Min(kernel, window.Width - left)); // kernel columns inside the input
            for (var kh = 0; kh < kernel; kh++)
            {
                var run = row.Slice(kh * kernel * channels, kernel * channels);
                var h = top + kh;
                if ((uint)h >= (uint)window.Height)
                {
                    run.Clear();
                    continue;
                }

                run.Slice(0, from * channels).Clear();
                sample.Slice(((h * window.Width) + left + from) * channels, (to - from) * channels).CopyTo(run.Slice(from * channels));
                run.Slice(to * channels).Clear();
            }
        }
    }

    /// <summary>
    /// One sample's windows from (c, h, w) input (a convolution on the model's input), one row of window positions at
    /// a time: for each kernel offset (c, kh, kw) the values the positions take lie along one input row, read in turn
    /// and written a window row apart, while that row of windows (a few KiB) stays in L1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void CopyWindowsChannelsFirst(ReadOnlySpan<float> sample, Span<float> rows, in Window2D window)
    {
        var (channels, kernel, patch, height, width, stride) = (window.Channels, window.Kernel, window.PatchSize, window.Height, window.Width, window.Stride);
        var outputWidth = window.OutputWidth;
        fixed (float* input = sample, output = rows)
        {
            for (var oh = 0; oh < window.OutputHeight; oh++)
            {
                var windows = output + ((long)oh * outputWidth * patch);
                var top = (oh * stride) - window.PadTop;
                for (var c = 0; c < channels; c++)
                {
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        var h = top + kh;
                        var line = input + (((c * height) + h) * width);
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            var target = windows + (((kh * kernel) + kw) * channels) + c;
                            // Positions whose column w = ow·stride − padLeft + kw lies inside the input: [first, end).
                            var shift = kw - window.PadLeft;
                            var (first, end) = (uint)h < (uint)height
                                ? (Math.Min(outputWidth, Math.Max(0, (-shift + stride - 1) / stride)), Math.Min(outputWidth, Math.Max(0, (width - shift + stride - 1) / stride)))
                                : (0, 0);
                            var ow = 0;
                            for (; ow < first; ow++)
                            {
                                target[ow * patch] = 0f;
                            }

                            for (; ow < end; ow++)
                            {
                                target[ow * patch] = line[(ow * stride) + shift];
                            }

                            for (; ow < outputWidth; ow++)
                            {
                                target[ow * patch] = 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="ImageToColumns"/>: <paramref name="input"/> (overwritten) gets, for each of its values,
    /// the sum of the entries of <paramref name="columns"/> that were copied from it. This turns the gradient of the
    /// windows into the gradient of the input. Padding entries are dropped.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnsToImage(ReadOnlySpan<float> columns, Span<float> input, in Window2D window, int batch)
    {
        CheckLengths(input.Length, columns.Length, window, batch, nameof(columns));
        input.Clear();
        var (inputSize, positions, patch, channels, kernel) = (window.InputSize, window.Positions, window.PatchSize, window.Channels, window.Kernel);
        for (var n = 0; n < batch; n++)
        {
            var sample = input.Slice(n * inputSize, inputSize);
            for (var p = 0; p < positions; p++)
            {
                var row = columns.Slice(((n * positions) + p) * patch, patch);
                var (top, left) = WindowOrigin(window, p);
                var (from, to) = (Math.Max(0, -left), Math.Min(kernel, window.Width - left));
                for (var kh = 0; kh < kernel; kh++)
                {
                    var h = top + kh;
                    if ((uint)h >= (uint)window.Height || from >= to)
                    {
                        continue;
                    }

                    if (window.ChannelsLast)
                    {
                        // The kernel row's columns inside the input are one run in both: added at once.
                        var target = sample.Slice(((h * window.Width) + left + from) * channels, (to - from) * channels);
                        TensorPrimitives.Add(target, row.Slice(((kh * kernel) + from) * channels, (to - from) * channels), target);
                        continue;
                    }

                    for (var kw = from; kw < to; kw++)
                    {
                        var values = row.Slice(((kh * kernel) + kw) * channels, channels);
                        for (var c = 0; c < channels; c++)
                        {
                            sample[window.InputIndex(c, h, left + kw)] += values[c];
                        }
                    }
                }
            }
        }
    }

    /// <summary>The input row and column (possibly negative, in the padding) where the window at position <paramref name="p"/> starts.</summary>
    internal static (int Top, int Left) WindowOrigin(in Window2D window, int p)
    {
        var (oh, ow) = Math.DivRem(p, window.OutputWidth);
        return ((oh * window.Stride) - window.PadTop, (ow * window.Stride) - window.PadLeft);
    }

    private static void CheckLengths(int inputLength, int columnsLength, in Window2D window, int batch, string columnsName)
    {
        window.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (inputLength != (long)batch * window.InputSize)
        {
            throw new ArgumentException($"Expected {batch} samples of {window.InputSize} floats, but the input span holds {inputLength}.", "input");
        }

        if (columnsLength != (long)batch * window.Positions * window.PatchSize)
        {
            throw new ArgumentException(
                $"Expected {batch} × {window.Positions} windows of {window.PatchSize} floats, but the span holds {columnsLength}.", columnsName);
        }
    }
}
