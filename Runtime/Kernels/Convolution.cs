using System;
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
    public static void ImageToColumns(ReadOnlySpan<float> input, Span<float> columns, in Window2D window, int batch)
    {
        CheckLengths(input.Length, columns.Length, window, batch, nameof(columns));
        var (inputSize, positions, patch, channels, kernel) = (window.InputSize, window.Positions, window.PatchSize, window.Channels, window.Kernel);
        for (var n = 0; n < batch; n++)
        {
            var sample = input.Slice(n * inputSize, inputSize);
            for (var p = 0; p < positions; p++)
            {
                var row = columns.Slice(((n * positions) + p) * patch, patch);
                var (top, left) = WindowOrigin(window, p);
                for (var kh = 0; kh < kernel; kh++)
                {
                    var h = top + kh;
                    var run = row.Slice(kh * kernel * channels, kernel * channels);
                    if ((uint)h >= (uint)window.Height)
                    {
                        run.Clear();
                        continue;
                    }

                    for (var kw = 0; kw < kernel; kw++)
                    {
                        var w = left + kw;
                        var values = run.Slice(kw * channels, channels);
                        if ((uint)w >= (uint)window.Width)
                        {
                            values.Clear();
                        }
                        else if (window.ChannelsLast)
                        {
                            sample.Slice(window.InputIndex(0, h, w), channels).CopyTo(values);
                        }
                        else
                        {
                            for (var c = 0; c < channels; c++)
                            {
                                values[c] = sample[window.InputIndex(c, h, w)];
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
                for (var kh = 0; kh < kernel; kh++)
                {
                    var h = top + kh;
                    if ((uint)h >= (uint)window.Height)
                    {
                        continue;
                    }

                    for (var kw = 0; kw < kernel; kw++)
                    {
                        var w = left + kw;
                        if ((uint)w >= (uint)window.Width)
                        {
                            continue;
                        }

                        var values = row.Slice(((kh * kernel) + kw) * channels, channels);
                        if (window.ChannelsLast)
                        {
                            var target = sample.Slice(window.InputIndex(0, h, w), channels);
                            TensorPrimitives.Add(target, values, target);
                        }
                        else
                        {
                            for (var c = 0; c < channels; c++)
                            {
                                sample[window.InputIndex(c, h, w)] += values[c];
                            }
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
