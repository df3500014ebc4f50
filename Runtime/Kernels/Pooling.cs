using System;

namespace ModelGen.Kernels;

/// <summary>Max pooling over square windows of each channel, forward and backward, for a whole batch.</summary>
public static class Pooling
{
    /// <summary>
    /// output[n, p, c] = the largest value of channel c in the window at position p of sample n (channels-last), and
    /// <paramref name="argmax"/> the index within the sample of the input it came from: the first largest, in row
    /// order, on a tie. NaN never wins against a number. The window must not reach over the border.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch, or the window is padded.</exception>
    public static void MaxForward(ReadOnlySpan<float> input, Span<float> output, Span<int> argmax, in Window2D window, int batch)
    {
        CheckLengths(input.Length, output.Length, argmax.Length, window, batch);
        var (inputSize, positions, channels, kernel) = (window.InputSize, window.Positions, window.Channels, window.Kernel);
        for (var n = 0; n < batch; n++)
        {
            var sample = input.Slice(n * inputSize, inputSize);
            for (var p = 0; p < positions; p++)
            {
                var (top, left) = Convolution.WindowOrigin(window, p);
                var row = ((n * positions) + p) * channels;
                for (var c = 0; c < channels; c++)
                {
                    var best = window.InputIndex(c, top, left);
                    var largest = sample[best];
                    for (var kh = 0; kh < kernel; kh++)
                    {
                        for (var kw = 0; kw < kernel; kw++)
                        {
                            var index = window.InputIndex(c, top + kh, left + kw);
                            var value = sample[index];
                            if (value > largest || (float.IsNaN(largest) && !float.IsNaN(value)))
                            {
                                (largest, best) = (value, index);
                            }
                        }
                    }

                    output[row + c] = largest;
                    argmax[row + c] = best;
                }
            }
        }
    }

    /// <summary>
    /// dx (overwritten) = the gradient of <see cref="MaxForward"/>: each output's gradient added to the input
    /// <paramref name="argmax"/> names, zero elsewhere.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch, or an index lies outside its sample.</exception>
    public static void MaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx, in Window2D window, int batch)
    {
        CheckLengths(dx.Length, dy.Length, argmax.Length, window, batch);
        dx.Clear();
        var (inputSize, outputs) = (window.InputSize, window.Positions * window.Channels);
        for (var n = 0; n < batch; n++)
        {
            var sample = dx.Slice(n * inputSize, inputSize);
            for (var i = n * outputs; i < (n + 1) * outputs; i++)
            {
                var index = argmax[i];
                if ((uint)index >= (uint)inputSize)
                {
                    throw new ArgumentException($"Pooling index {index} lies outside a sample of {inputSize} values.", nameof(argmax));
                }

                sample[index] += dy[i];
            }
        }
    }

    private static void CheckLengths(int inputLength, int outputLength, int argmaxLength, in Window2D window, int batch)
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
        if (inputLength != (long)batch * window.InputSize || outputLength != outputs || argmaxLength != outputs)
        {
            throw new ArgumentException(
                $"Expected {batch} samples of {window.InputSize} inputs and {window.Positions * window.Channels} outputs and indices, " +
                $"but the spans hold {inputLength}, {outputLength} and {argmaxLength}.");
        }
    }
}
