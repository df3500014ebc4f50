using System;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>
/// The data movement around a convolution computed as a matrix product (im2col): each window of the input becomes a
/// row of a [samples × positions, kernel² × channels] matrix, so that the convolution of those samples is that matrix
/// times the kernels [kernel² × channels, filters], with the bias and activation fused in as for a dense layer, and its
/// backward is the same two products a dense layer has, plus <see cref="ColumnsToImage"/> for the input gradient. The
/// generated code passes a few samples at a time, so that their windows stay in L2.
/// </summary>
public static partial class Convolution
{
    /// <summary>
    /// Writes every window of every sample as a row of <paramref name="columns"/>: row n·positions + p holds the window
    /// at output position p of sample n, in (kernel row, kernel column, channel) order, zeros where it reaches over the
    /// border. Each sample's output positions go row by row.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch.</exception>
    public static void ImageToColumns(ReadOnlySpan<float> input, Span<float> columns, in Window2D window, int batch) =>
        Windows(input, columns, window, batch, 0f);

    /// <summary>
    /// <see cref="ImageToColumns"/> over quantized levels, with
    /// <paramref name="padding"/> (the zero point's level) where a window reaches over the border: quantizing an image and
    /// then building its windows gives the bytes that building the windows and quantizing them gives, for a ninth of the
    /// quantizing (3 × 3 kernels) and a quarter of the bytes moved.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry and the batch.</exception>
    internal static void LevelsToColumns(ReadOnlySpan<byte> input, Span<byte> columns, in Window2D window, int batch, byte padding) =>
        Windows(input, columns, window, batch, padding);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Windows<T>(ReadOnlySpan<T> input, Span<T> columns, in Window2D window, int batch, T padding)
        where T : unmanaged
    {
        CheckLengths(input.Length, columns.Length, window, batch, nameof(columns));
        fixed (T* source = input, target = columns)
        {
            var job = new WindowJob<T> { Source = source, Target = target, Window = window, Padding = padding };
            WorkSplitter.RunIndependent(&WindowsPart<T>, &job, batch, (long)columns.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="Windows{T}"/>.</summary>
    private static unsafe void WindowsPart<T>(void* context, int from, int to)
        where T : unmanaged
    {
        var job = (WindowJob<T>*)context;
        var window = job->Window;
        var (inputSize, rowsPerSample) = (window.InputSize, window.Positions * window.PatchSize);
        for (var n = from; n < to; n++)
        {
            var sample = new ReadOnlySpan<T>(job->Source + ((long)n * inputSize), inputSize);
            var rows = new Span<T>(job->Target + ((long)n * rowsPerSample), rowsPerSample);
            if (window.ChannelsLast)
            {
                CopyWindowsChannelsLast(sample, rows, window, job->Padding);
            }
            else
            {
                CopyWindowsChannelsFirst(sample, rows, window, job->Padding);
            }
        }
    }

    /// <summary>What <see cref="Windows{T}"/> hands the kernel threads, on the caller's stack.</summary>
    private unsafe struct WindowJob<T>
        where T : unmanaged
    {
        public T* Source;
        public T* Target;
        public Window2D Window;
        public T Padding;
    }

    /// <summary>The pointers and geometry a pass over a batch's samples needs, on the caller's stack.</summary>
    internal unsafe struct SampleJob
    {
        public float* Source;
        public float* Target;
        public int* Indices;
        public float* Gate;
        public Window2D Window;
    }

    /// <summary>
    /// One sample's windows from (h, w, c) input: the part of a kernel row that lies inside the input is one run of
    /// values (its columns' channels side by side), copied at once; what lies over the border is the padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyWindowsChannelsLast<T>(ReadOnlySpan<T> sample, Span<T> rows, in Window2D window, T padding)
        where T : unmanaged
    {
        var (channels, kernel, patch) = (window.Channels, window.Kernel, window.PatchSize);
        for (var p = 0; p < window.Positions; p++)
        {
            var row = rows.Slice(p * patch, patch);
            var (top, left) = WindowOrigin(window, p);
            var (from, to) = ColumnsInside(window, left);
            for (var kh = 0; kh < kernel; kh++)
            {
                var run = row.Slice(kh * kernel * channels, kernel * channels);
                var h = top + kh;
                if ((uint)h >= (uint)window.Height)
                {
                    run.Fill(padding);
                    continue;
                }

                run.Slice(0, from * channels).Fill(padding);
                sample.Slice(((h * window.Width) + left + from) * channels, (to - from) * channels).CopyTo(run.Slice(from * channels));
                run.Slice(to * channels).Fill(padding);
            }
        }
    }

    /// <summary>
    /// One sample's windows from (c, h, w) input (a convolution on the model's input), one row of window positions at
    /// a time: for each kernel offset (c, kh, kw) the values the positions take lie along one input row, read in turn
    /// and written a window row apart, while that row of windows (a few KiB) stays in L1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void CopyWindowsChannelsFirst<T>(ReadOnlySpan<T> sample, Span<T> rows, in Window2D window, T padding)
        where T : unmanaged
    {
        var (channels, kernel, patch, height, width, stride) = (window.Channels, window.Kernel, window.PatchSize, window.Height, window.Width, window.Stride);
        var outputWidth = window.OutputWidth;
        fixed (T* input = sample, output = rows)
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
                                target[ow * patch] = padding;
                            }

                            for (; ow < end; ow++)
                            {
                                target[ow * patch] = line[(ow * stride) + shift];
                            }

                            for (; ow < outputWidth; ow++)
                            {
                                target[ow * patch] = padding;
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
    public static unsafe void ColumnsToImage(ReadOnlySpan<float> columns, Span<float> input, in Window2D window, int batch)
    {
        CheckLengths(input.Length, columns.Length, window, batch, nameof(columns));
        fixed (float* source = columns, target = input)
        {
            var job = new SampleJob { Source = source, Target = target, Window = window };
            WorkSplitter.RunIndependent(&ColumnsToImagePart, &job, batch, (long)columns.Length);
        }
    }

    /// <summary>Samples [<paramref name="from"/>, <paramref name="to"/>) of <see cref="ColumnsToImage"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ColumnsToImagePart(void* context, int from, int to)
    {
        var job = (SampleJob*)context;
        var window = job->Window;
        var (inputSize, positions, patch, channels, kernel) = (window.InputSize, window.Positions, window.PatchSize, window.Channels, window.Kernel);
        for (var n = from; n < to; n++)
        {
            var sample = new Span<float>(job->Target + ((long)n * inputSize), inputSize);
            sample.Clear();
            var rows = new ReadOnlySpan<float>(job->Source + ((long)n * positions * patch), positions * patch);
            for (var p = 0; p < positions; p++)
            {
                var row = rows.Slice(p * patch, patch);
                var (top, left) = WindowOrigin(window, p);
                var (first, end) = ColumnsInside(window, left);
                for (var kh = 0; kh < kernel; kh++)
                {
                    var h = top + kh;
                    if ((uint)h >= (uint)window.Height || first >= end)
                    {
                        continue;
                    }

                    if (window.ChannelsLast)
                    {
                        // The kernel row's columns inside the input are one run in both: added at once.
                        var target = sample.Slice(((h * window.Width) + left + first) * channels, (end - first) * channels);
                        TensorPrimitives.Add(target, row.Slice(((kh * kernel) + first) * channels, (end - first) * channels), target);
                        continue;
                    }

                    for (var kw = first; kw < end; kw++)
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

    /// <summary>The kernel columns [from, to) of a window starting at input column <paramref name="left"/> that lie inside the input.</summary>
    private static (int From, int To) ColumnsInside(in Window2D window, int left) => (Math.Max(0, -left), Math.Min(window.Kernel, window.Width - left));

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
