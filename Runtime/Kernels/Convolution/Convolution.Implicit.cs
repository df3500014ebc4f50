using System;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// Convolutions as an implicit GEMM: the products of im2col, with the window matrix never written. The product's A
/// packing reads each panel of windows straight from the images (zeros where a window reaches over the border), so
/// the packed panels, and so every sum and its bits, are those of <see cref="ImageToColumns"/> followed by the product.
/// </summary>
public static unsafe partial class Convolution
{
    /// <summary>
    /// output[n, p, f] = act(bias[f] + Σₖ window(n, p)[k] · weights[k, f]) without the windows' buffer. Weights are
    /// [kernel² × channels, filters] row-major, outputs channels-last; any input layout. A stride-1 convolution on
    /// channels-last input reads its windows in place from a zero-padded copy of each sample (Convolution.InPlace.cs),
    /// summing each kernel row's values in turn; any other, or one whose padded sample does not fit the packing buffers,
    /// packs them from the images and gives the bits of <see cref="ImageToColumns"/> and <see cref="Gemm.Multiply"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch.</exception>
    public static void Forward(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, in Window2D window, int batch,
        GemmActivation activation = GemmActivation.None)
    {
        var filters = Filters(weights.Length, window);
        if (InPlaceApplies(input, weights, bias, output, window, filters, batch, activation))
        {
            fixed (float* x = input, w = weights, b = bias, y = output)
            {
                if (TryInPlace(x, w, bias.IsEmpty ? null : b, y, window, filters, batch, activation == GemmActivation.Relu))
                {
                    return;
                }
            }
        }

        Gemm.ComputeWindows(Gemm.Tuning, input, window, batch, transposeA: false, weights, output, filters, accumulate: false, bias, activation);
    }

    /// <summary>
    /// weightGradient = Σₙ Σₚ window(n, p) ⊗ outputGradient[n, p] (overwritten). A stride-1 convolution on channels-last
    /// input reads its windows in place, as <see cref="Forward"/> does, each value of ∂W summed over the samples in order
    /// (<paramref name="chunk"/> is then unused). Otherwise, as windowsᵀ·∂Y products over the windows read from the images:
    /// the sum is taken <paramref name="chunk"/> samples at a time, each chunk one product (its positions summed in that
    /// product's depth blocks) added to the chunks before it in order, which is what <see cref="ImageToColumns"/> and
    /// <see cref="Gemm.MultiplyTransposedA"/> / <see cref="Gemm.MultiplyAddTransposedA"/> over chunks of windows compute,
    /// with their bits. Either way ∂Y's rows are read once per block of positions and reused for every window value.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch.</exception>
    public static void WeightGradient(ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, Span<float> weightGradient, in Window2D window, int batch, int chunk)
    {
        var filters = Filters(weightGradient.Length, window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunk);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (input.Length != (long)batch * window.InputSize || outputGradient.Length != (long)batch * window.Positions * filters)
        {
            throw new ArgumentException(
                $"Expected {batch} samples of {window.InputSize} inputs and {window.Positions} × {filters} output gradients, but the spans hold {input.Length} and {outputGradient.Length} floats.");
        }

        fixed (float* x = input, dz = outputGradient, dw = weightGradient)
        {
            if (TryWeightGradientInPlace(x, dz, dw, window, filters, batch))
            {
                return;
            }
        }

        for (var start = 0; start < batch; start += chunk)
        {
            var count = Math.Min(chunk, batch - start);
            var rows = window.Positions * filters;
            Gemm.ComputeWindows(
                Gemm.Tuning, input.Slice(start * window.InputSize, count * window.InputSize), window, count, transposeA: true,
                outputGradient.Slice(start * rows, count * rows), weightGradient, filters, accumulate: start > 0);
        }
    }

    /// <summary>
    /// Whether <see cref="InputGradient"/> serves this geometry: a channels-last input, where the input's gradient is
    /// itself a convolution of the output's gradient (for stride 1), or stride² of them (Convolution.Strided.cs).
    /// </summary>
    public static bool HasImplicitInputGradient(in Window2D window) => window.ChannelsLast;

    /// <summary>
    /// inputGradient[n, h, w, c] = Σ over the windows that read input (h, w, c) of outputGradient[n, p, f]·W[(kh, kw, c), f]
    /// (overwritten), for a convolution on channels-last input. For stride 1 it is the convolution of the output's
    /// gradient with the kernel turned half a turn and its channels and filters swapped, run as an implicit GEMM over the
    /// gradient's windows; for a larger stride, one such convolution per phase of the input's rows and columns. No
    /// windows' gradient is written, and nothing is added back into the image (no col2im). <paramref name="scratch"/>
    /// takes the turned kernel and, for a stride over 1, a chunk of samples' gradient of one phase: at least
    /// <see cref="InputGradientScratch"/> floats.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The geometry is not one <see cref="HasImplicitInputGradient"/> serves, the scratch is too short, or a span's
    /// length does not match the geometry and the batch.
    /// </exception>
    public static void InputGradient(
        ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> weights, Span<float> inputGradient, in Window2D window, int batch, Span<float> scratch)
    {
        var filters = Filters(weights.Length, window);
        if (!HasImplicitInputGradient(window))
        {
            throw new ArgumentException($"The input gradient is a convolution only on channels-last input, not for {window}.", nameof(window));
        }

        var needed = InputGradientScratch(window, filters);
        if (scratch.Length < needed)
        {
            throw new ArgumentException($"Expected scratch of at least {needed} floats for the turned kernel and a phase's gradient, but the span holds {scratch.Length}.", nameof(scratch));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (outputGradient.Length != (long)batch * window.Positions * filters || inputGradient.Length != (long)batch * window.InputSize)
        {
            throw new ArgumentException(
                $"Expected {batch} × {window.Positions} × {filters} output gradients and {batch} × {window.InputSize} input gradients, but the spans hold {outputGradient.Length} and {inputGradient.Length} floats.");
        }

        if (window.Stride > 1)
        {
            StridedInputGradient(outputGradient, weights, inputGradient, window, filters, batch, scratch);
            return;
        }

        var flipped = scratch[..weights.Length];
        FlipKernel(weights, flipped, window.Kernel * window.Kernel, window.Channels, filters);
        var transposed = new Window2D(
            filters, window.OutputHeight, window.OutputWidth, window.Kernel, Stride: 1, window.Kernel - 1 - window.PadTop, window.Kernel - 1 - window.PadLeft,
            window.Height, window.Width, ChannelsLast: true);
        if (InPlaceApplies(outputGradient, flipped, default, inputGradient, transposed, window.Channels, batch, GemmActivation.None))
        {
            fixed (float* dz = outputGradient, w = flipped, dx = inputGradient)
            {
                if (TryInPlace(dz, w, null, dx, transposed, window.Channels, batch, relu: false))
                {
                    return;
                }
            }
        }

        Gemm.ComputeWindows(Gemm.Tuning, outputGradient, transposed, batch, transposeA: false, flipped, inputGradient, window.Channels, accumulate: false);
    }

    /// <summary>
    /// flipped[(s′, f), c] = weights[(s, c), f] with s = spots − 1 − s′: the kernel's spots in reverse order (a half turn
    /// of the square), each spot's [channels × filters] block transposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FlipKernel(ReadOnlySpan<float> weights, Span<float> flipped, int spots, int channels, int filters)
    {
        var block = channels * filters;
        for (var s = 0; s < spots; s++)
        {
            var source = weights.Slice((spots - 1 - s) * block, block);
            var target = flipped.Slice(s * block, block);
            for (var c = 0; c < channels; c++)
            {
                for (var f = 0; f < filters; f++)
                {
                    target[(f * channels) + c] = source[(c * filters) + f];
                }
            }
        }
    }

    /// <summary>
    /// Whether the spans and the activation are whole for a convolution read in place (Convolution.InPlace.cs decides
    /// whether the geometry is one): wrong lengths are left to the implicit product, which says what it expected.
    /// </summary>
    private static bool InPlaceApplies(
        ReadOnlySpan<float> input, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> output, in Window2D window, int filters, int batch, GemmActivation activation) =>
        batch > 0 && activation is (GemmActivation.None or GemmActivation.Relu)
        && input.Length == (long)batch * window.InputSize && output.Length == (long)batch * window.Positions * filters
        && weights.Length == window.PatchSize * filters && (bias.IsEmpty || bias.Length == filters);

    /// <summary>The filters a weight matrix of <paramref name="length"/> floats holds: whole rows of a window's values each.</summary>
    private static int Filters(int length, in Window2D window)
    {
        window.Validate();
        if (length == 0 || length % window.PatchSize != 0)
        {
            throw new ArgumentException($"Expected [{window.PatchSize} × filters] weights, but the span holds {length} floats.", "weights");
        }

        return length / window.PatchSize;
    }

    /// <summary>Entry (row, column) of the window matrix of <paramref name="images"/>: value <paramref name="column"/> of window <paramref name="row"/>, 0 in the padding.</summary>
    internal static float WindowValue(float* images, in Window2D window, int row, int column)
    {
        var (n, p) = Math.DivRem(row, window.Positions);
        var (top, left) = WindowOrigin(window, p);
        var (kh, rest) = Math.DivRem(column, window.Kernel * window.Channels);
        var (kw, c) = Math.DivRem(rest, window.Channels);
        var (h, w) = (top + kh, left + kw);
        return (uint)h < (uint)window.Height && (uint)w < (uint)window.Width
            ? images[((long)n * window.InputSize) + window.InputIndex(c, h, w)]
            : 0f;
    }

    /// <summary>
    /// Values [<paramref name="first"/>, first + <paramref name="count"/>) of window <paramref name="row"/> of
    /// <paramref name="images"/> to <paramref name="destination"/>, as <see cref="ImageToColumns"/> writes them: from
    /// (h, w, c) input, the part of each kernel row inside the image is one run, copied at once, zeros beside it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CopyWindowValues(float* images, in Window2D window, int row, int first, int count, float* destination)
    {
        if (!window.ChannelsLast)
        {
            for (var i = 0; i < count; i++)
            {
                destination[i] = WindowValue(images, window, row, first + i);
            }

            return;
        }

        var (n, p) = Math.DivRem(row, window.Positions);
        var (top, left) = WindowOrigin(window, p);
        var (from, to) = ColumnsInside(window, left);
        var (channels, kernelRow) = (window.Channels, window.Kernel * window.Channels);
        var sample = images + ((long)n * window.InputSize);
        var (k, end) = (first, first + count);
        while (k < end)
        {
            var kh = k / kernelRow;
            var (rowStart, rowEnd) = (kh * kernelRow, Math.Min(end, (kh + 1) * kernelRow));
            var h = top + kh;
            // The run of this kernel row inside the image, clipped to [k, rowEnd): empty above or below the image.
            var inside = (uint)h < (uint)window.Height && from < to;
            var runFrom = inside ? Math.Clamp(rowStart + (from * channels), k, rowEnd) : rowEnd;
            var runTo = inside ? Math.Clamp(rowStart + (to * channels), runFrom, rowEnd) : rowEnd;
            if (runFrom > k)
            {
                new Span<float>(destination + (k - first), runFrom - k).Clear();
            }

            if (runTo > runFrom)
            {
                Buffer.MemoryCopy(
                    sample + ((((long)h * window.Width) + left) * channels) + (runFrom - rowStart), destination + (runFrom - first),
                    (long)(runTo - runFrom) * sizeof(float), (long)(runTo - runFrom) * sizeof(float));
            }

            if (rowEnd > runTo)
            {
                new Span<float>(destination + (runTo - first), rowEnd - runTo).Clear();
            }

            k = rowEnd;
        }
    }
}
