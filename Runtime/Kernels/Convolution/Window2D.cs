using System;

namespace ModelGen.Kernels;

/// <summary>
/// A square window sliding over one sample of <see cref="Channels"/> × <see cref="Height"/> × <see cref="Width"/>
/// values: the geometry of a convolution or pooling layer, fixed by the generator. The input is read channels-first
/// (c, h, w) or channels-last (h, w, c) as <see cref="ChannelsLast"/> says; every output of these kernels is
/// channels-last, one row of values per output position.
/// </summary>
/// <param name="Channels">Channels of the input.</param>
/// <param name="Height">Rows of the input.</param>
/// <param name="Width">Columns of the input.</param>
/// <param name="Kernel">The window's side.</param>
/// <param name="Stride">The step between two windows.</param>
/// <param name="PadTop">Zero rows above the input (more may go below: the output size decides).</param>
/// <param name="PadLeft">Zero columns left of the input.</param>
/// <param name="OutputHeight">Window positions down.</param>
/// <param name="OutputWidth">Window positions across.</param>
/// <param name="ChannelsLast">Whether the input is stored (h, w, c) rather than (c, h, w).</param>
public readonly record struct Window2D(
    int Channels, int Height, int Width, int Kernel, int Stride, int PadTop, int PadLeft, int OutputHeight, int OutputWidth, bool ChannelsLast)
{
    /// <summary>Values in one input sample.</summary>
    public int InputSize => Channels * Height * Width;

    /// <summary>Window positions per sample: one output row each.</summary>
    public int Positions => OutputHeight * OutputWidth;

    /// <summary>Values under one window, in (kernel row, kernel column, channel) order: a row of the im2col matrix.</summary>
    public int PatchSize => Kernel * Kernel * Channels;

    /// <summary>Where input value (c, h, w) lies within its sample.</summary>
    public int InputIndex(int c, int h, int w) => ChannelsLast ? (((h * Width) + w) * Channels) + c : (((c * Height) + h) * Width) + w;

    /// <summary>Throws unless the geometry is consistent: positive sizes, padding below the kernel, every window starting inside the padded input.</summary>
    public void Validate()
    {
        if (Channels <= 0 || Height <= 0 || Width <= 0 || Kernel <= 0 || Stride <= 0 || OutputHeight <= 0 || OutputWidth <= 0
            || PadTop < 0 || PadLeft < 0 || PadTop >= Kernel || PadLeft >= Kernel
            || ((OutputHeight - 1) * Stride) - PadTop >= Height || ((OutputWidth - 1) * Stride) - PadLeft >= Width)
        {
            throw new ArgumentException($"Inconsistent window geometry: {this}.");
        }
    }
}
