using System;

namespace ModelGen.Kernels;

/// <summary>
/// The input gradient of a strided convolution on channels-last input, as stride² stride-1 convolutions of the output's
/// gradient, one per phase: no windows' gradient is written and nothing is added back into the image (no col2im).
/// </summary>
/// <remarks>
/// <para>
/// Input row h receives gradient through kernel rows kh ≡ (h + padTop) (mod stride) only: the rows of one residue
/// a (a phase) take kernel rows a, a + stride, a + 2·stride, … from consecutive output rows. So the gradient of the
/// input's rows of phase a and columns of phase b is the stride-1 correlation of dz with that phase's sub-kernel
/// (every stride-th kernel row and column from (a, b), turned half a turn, channels and filters swapped), which is
/// what <see cref="InputGradient"/> runs for stride 1. A phase's sub-kernel is padded with zero taps to a square (a
/// 3 × 3 kernel at stride 2 has phases of 2 × 2, 2 × 1, 1 × 2 and 1 × 1 taps: squares of 2, 2, 2 and 1), so that a
/// square window describes it.
/// </para>
/// <para>
/// Each phase's gradient is computed into scratch, a chunk of samples at a time, and copied to its rows and columns of
/// the input's gradient, a run of channels per position. A 3 × 3 kernel at stride 2 computes 13 taps for 9 (the zero
/// taps), against a product of depth = filters and col2im's adds for the windows' gradient.
/// </para>
/// </remarks>
public static unsafe partial class Convolution
{
    /// <summary>
    /// The fewest floats of scratch <see cref="InputGradient"/> needs for a strided geometry: a phase's sub-kernel and one
    /// sample's gradient of one phase; more lets it take more samples per product. For stride 1, the flipped kernel.
    /// </summary>
    public static int InputGradientScratch(in Window2D window, int filters)
    {
        window.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filters);
        if (window.Stride == 1)
        {
            return window.PatchSize * filters;
        }

        var side = PhaseSide(window);
        return (side * side * filters * window.Channels) + PhaseSampleSize(window);
    }

    /// <summary>
    /// <see cref="InputGradient"/> for stride &gt; 1 on channels-last input: each phase's stride-1 convolution of dz,
    /// a chunk of samples at a time, copied into its rows and columns (the samples split over the threads); the inputs no
    /// window reads (a stride over the kernel, rows past the last window) are cleared first.
    /// </summary>
    private static void StridedInputGradient(
        ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> weights, Span<float> inputGradient, in Window2D window, int filters, int batch, Span<float> scratch)
    {
        var (stride, kernel, channels) = (window.Stride, window.Kernel, window.Channels);
        var largest = PhaseSide(window);
        var kernelLength = largest * largest * filters * channels;
        var chunk = Math.Min(batch, (scratch.Length - kernelLength) / PhaseSampleSize(window));
        var outputs = (long)window.Positions * filters;
        if (!PhasesCoverEveryInput(window))
        {
            inputGradient.Clear();
        }

        for (var a = 0; a < Math.Min(stride, kernel); a++)
        {
            for (var b = 0; b < Math.Min(stride, kernel); b++)
            {
                var (side, (firstRow, rows, padTop), (firstColumn, columns, padLeft)) = Phase(window, a, b);
                if (rows <= 0 || columns <= 0)
                {
                    continue;
                }

                var subKernel = scratch[..(side * side * filters * channels)];
                PhaseKernel(weights, subKernel, window, filters, a, b, side);
                var phase = new Window2D(filters, window.OutputHeight, window.OutputWidth, side, Stride: 1, padTop, padLeft, rows, columns, ChannelsLast: true);
                for (var start = 0; start < batch; start += chunk)
                {
                    var count = Math.Min(chunk, batch - start);
                    var dz = outputGradient.Slice((int)(start * outputs), (int)(count * outputs));
                    var gradient = scratch.Slice(kernelLength, count * rows * columns * channels);
                    fixed (float* source = dz, w = subKernel, target = gradient, dx = inputGradient)
                    {
                        if (!TryInPlace(source, w, null, target, phase, channels, count, relu: false))
                        {
                            Gemm.ComputeWindows(Gemm.Tuning, dz, phase, count, transposeA: false, subKernel, gradient, channels, accumulate: false);
                        }

                        var copy = new PhaseCopy
                        {
                            Source = target, Target = dx + ((long)start * window.InputSize), Window = window, Rows = rows, Columns = columns,
                            FirstRow = firstRow, FirstColumn = firstColumn,
                        };
                        WorkSplitter.RunIndependent(&CopyPhase, &copy, count, (long)count * rows * columns * channels);
                    }
                }
            }
        }
    }

    /// <summary>One phase's gradient of a chunk of samples and where it goes.</summary>
    private struct PhaseCopy
    {
        public float* Source;
        public float* Target;
        public Window2D Window;
        public int Rows;
        public int Columns;
        public int FirstRow;
        public int FirstColumn;
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of a phase's gradient copied to their rows and columns, a run of channels per position.</summary>
    private static void CopyPhase(void* context, int from, int to)
    {
        var job = (PhaseCopy*)context;
        var window = job->Window;
        var (channels, stride) = (window.Channels, window.Stride);
        for (var n = from; n < to; n++)
        {
            var source = job->Source + ((long)n * job->Rows * job->Columns * channels);
            var sample = job->Target + ((long)n * window.InputSize);
            for (var u = 0; u < job->Rows; u++)
            {
                var row = sample + ((((job->FirstRow + (u * stride)) * window.Width) + job->FirstColumn) * channels);
                for (var v = 0; v < job->Columns; v++, source += channels)
                {
                    new ReadOnlySpan<float>(source, channels).CopyTo(new Span<float>(row + (v * stride * channels), channels));
                }
            }
        }
    }

    /// <summary>Whether the phases' rows and columns, as <see cref="StridedInputGradient"/> computes them, hold every input.</summary>
    private static bool PhasesCoverEveryInput(in Window2D window)
    {
        if (window.Stride > window.Kernel)
        {
            return false;
        }

        for (var a = 0; a < window.Stride; a++)
        {
            for (var b = 0; b < window.Stride; b++)
            {
                var (_, (firstRow, rows, _), (firstColumn, columns, _)) = Phase(window, a, b);
                if (firstRow + (rows * window.Stride) < window.Height || firstColumn + (columns * window.Stride) < window.Width)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Phase (<paramref name="a"/>, <paramref name="b"/>): its square sub-kernel's side, and its rows' and columns' <see cref="Phase(int, int, int, int, int, int)"/>.</summary>
    private static (int Side, (int First, int Count, int Pad) Rows, (int First, int Count, int Pad) Columns) Phase(in Window2D window, int a, int b)
    {
        var (stride, kernel) = (window.Stride, window.Kernel);
        var side = Math.Max(PhaseSide(a, window.PadTop, kernel, stride), PhaseSide(b, window.PadLeft, kernel, stride));
        return (side, Phase(a, window.PadTop, window.Height, window.OutputHeight, stride, side), Phase(b, window.PadLeft, window.Width, window.OutputWidth, stride, side));
    }

    /// <summary>
    /// Phase <paramref name="a"/> along one axis: its first input row (rows first, first + stride, … below
    /// <paramref name="length"/>), how many rows a window of the phase's convolution reaches (0 if none), and that
    /// convolution's padding before dz (side − 1 − δ, where row first + stride·u reads output rows u + δ − j for kernel
    /// row a + stride·j).
    /// </summary>
    private static (int First, int Count, int Pad) Phase(int a, int pad, int length, int outputLength, int stride, int side)
    {
        var first = (((a - pad) % stride) + stride) % stride;
        var delta = (first + pad - a) / stride;
        var padding = side - 1 - delta;
        var count = first < length ? (length - first + stride - 1) / stride : 0;
        return (first, Math.Min(count, outputLength + padding), padding);
    }

    /// <summary>The largest side of the phases' square sub-kernels (<see cref="PhaseSide(int, int, int, int)"/>).</summary>
    private static int PhaseSide(in Window2D window)
    {
        var side = 1;
        for (var a = 0; a < Math.Min(window.Stride, window.Kernel); a++)
        {
            side = Math.Max(side, Math.Max(PhaseSide(a, window.PadTop, window.Kernel, window.Stride), PhaseSide(a, window.PadLeft, window.Kernel, window.Stride)));
        }

        return side;
    }

    /// <summary>
    /// The taps phase <paramref name="a"/> needs along one axis: its ⌈(kernel − a) / stride⌉ kernel rows, or more where
    /// its first row reads an output row further on than that less one (its padding would be negative): the extra taps
    /// are zeros. A phase's square sub-kernel takes the larger of its two axes' (the other axis's extra taps are zeros).
    /// </summary>
    private static int PhaseSide(int a, int pad, int kernel, int stride)
    {
        var first = (((a - pad) % stride) + stride) % stride;
        return Math.Max((kernel - a + stride - 1) / stride, ((first + pad - a) / stride) + 1);
    }

    /// <summary>One sample's gradient of the largest phase, the floats of scratch each sample of a chunk takes.</summary>
    private static int PhaseSampleSize(in Window2D window) =>
        ((window.Height + window.Stride - 1) / window.Stride) * ((window.Width + window.Stride - 1) / window.Stride) * window.Channels;

    /// <summary>
    /// The sub-kernel of phase (<paramref name="a"/>, <paramref name="b"/>), [T² × filters, channels]:
    /// subKernel[(t, t′, f), c] = weights[(a + stride·(T − 1 − t), b + stride·(T − 1 − t′), c), f], zero past the kernel.
    /// </summary>
    private static void PhaseKernel(ReadOnlySpan<float> weights, Span<float> subKernel, in Window2D window, int filters, int a, int b, int side)
    {
        var (stride, kernel, channels) = (window.Stride, window.Kernel, window.Channels);
        var block = filters * channels;
        for (var t = 0; t < side; t++)
        {
            for (var u = 0; u < side; u++)
            {
                var target = subKernel.Slice(((t * side) + u) * block, block);
                var (kh, kw) = (a + (stride * (side - 1 - t)), b + (stride * (side - 1 - u)));
                if (kh >= kernel || kw >= kernel)
                {
                    target.Clear();
                    continue;
                }

                var source = weights.Slice(((kh * kernel) + kw) * block, block);
                for (var c = 0; c < channels; c++)
                {
                    for (var f = 0; f < filters; f++)
                    {
                        target[(f * channels) + c] = source[(c * filters) + f];
                    }
                }
            }
        }
    }
}
