using System;

namespace ModelGen;

/// <summary>
/// Random changes made to each training image before the model sees it, so that it learns what does not depend on
/// an image's exact position or side: a random shift (<see cref="RandomCropPadding"/>) and a left-right mirror
/// (<see cref="HorizontalFlip"/>). Images are stored channels first, (channels, height, width), as <c>[Input]</c>
/// declares them. Give it to <see cref="FitOptions.Augmentation"/>, or call <see cref="Apply"/> on a batch yourself.
/// </summary>
/// <remarks>
/// The same as torchvision's <c>RandomCrop((height, width), padding=P)</c> followed by <c>RandomHorizontalFlip()</c>,
/// though not with the same random draws. Each sample draws, in this order and only for what is enabled: the crop's
/// row shift and column shift (each uniform in [−P, P]), then the flip (one bit).
/// </remarks>
public sealed class ImageAugmentation
{
    /// <summary>Augments images of <paramref name="channels"/> × <paramref name="height"/> × <paramref name="width"/> floats; nothing is enabled yet.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    /// <exception cref="ArgumentException">An image would hold more than <see cref="int.MaxValue"/> floats.</exception>
    public ImageAugmentation(int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        var size = (long)channels * height * width;
        if (size > int.MaxValue)
        {
            throw new ArgumentException($"An image of {channels} × {height} × {width} holds {size} floats, more than a span can.", nameof(channels));
        }

        Channels = channels;
        Height = height;
        Width = width;
        SampleSize = (int)size;
    }

    /// <summary>Channels per image.</summary>
    public int Channels { get; }

    /// <summary>Rows per channel.</summary>
    public int Height { get; }

    /// <summary>Columns per row.</summary>
    public int Width { get; }

    /// <summary>Floats per image: <see cref="Channels"/> × <see cref="Height"/> × <see cref="Width"/>, the model's <c>InputSize</c>.</summary>
    public int SampleSize { get; }

    /// <summary>
    /// The random crop's padding P: each image is padded with P zeros on every side, then a window of its own size is
    /// cut out at a random place, which shifts the image by a whole number of pixels from −P to P along each axis
    /// (independently). 0 (the default) disables it; it must be less than both <see cref="Height"/> and
    /// <see cref="Width"/>, so that part of the image stays in view.
    /// </summary>
    /// <remarks>
    /// The padding is the value 0 in whatever space the data are in: black for raw pixels in [0, 1], the mean for
    /// standardized data (which is usually what is wanted).
    /// </remarks>
    public int RandomCropPadding
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(RandomCropPadding));
            if (value >= Math.Min(Height, Width))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(RandomCropPadding), value,
                    $"A padding of {value} could shift a {Height} × {Width} image out of view; it must be less than {Math.Min(Height, Width)}.");
            }

            field = value;
        }
    }

    /// <summary>Whether to mirror each image left to right, with probability 1/2. Default false.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>
    /// Augments every image in <paramref name="samples"/> in place, each with its own draws from
    /// <paramref name="random"/> (see the remarks on <see cref="ImageAugmentation"/> for their order): the same
    /// generator state gives the same result. Allocates nothing.
    /// </summary>
    /// <param name="samples">Whole images of <see cref="SampleSize"/> floats, one after another (none is allowed).</param>
    /// <param name="random">The generator to draw from; it is advanced past the draws.</param>
    /// <exception cref="ArgumentException"><paramref name="samples"/> is not a whole number of images.</exception>
    public void Apply(Span<float> samples, ref SeededRandom random)
    {
        var size = SampleSize;
        if (samples.Length % size != 0)
        {
            throw new ArgumentException(
                $"Expected whole images of {Channels} × {Height} × {Width} = {size} floats, but the span holds {samples.Length}.", nameof(samples));
        }

        var padding = RandomCropPadding;
        if (padding == 0 && !HorizontalFlip)
        {
            return;
        }

        for (var start = 0; start < samples.Length; start += size)
        {
            int shiftY = 0, shiftX = 0;
            if (padding > 0)
            {
                shiftY = random.NextInt32((2 * padding) + 1) - padding;
                shiftX = random.NextInt32((2 * padding) + 1) - padding;
            }

            var flip = HorizontalFlip && (random.NextUInt32() >> 31) != 0;
            Transform(samples.Slice(start, size), shiftY, shiftX, flip);
        }
    }

    /// <summary>
    /// One image's change, given its draws: pixel (c, y, x) becomes pixel (c, y + <paramref name="shiftY"/>,
    /// x + <paramref name="shiftX"/>) of the original, or 0 where that lies outside it; then, if
    /// <paramref name="flip"/>, each row is reversed.
    /// </summary>
    internal void Transform(Span<float> sample, int shiftY, int shiftX, bool flip)
    {
        var (height, width) = (Height, Width);
        var plane = height * width;
        for (var c = 0; c < Channels; c++)
        {
            var image = sample.Slice(c * plane, plane);
            if (shiftY != 0 || shiftX != 0)
            {
                Shift(image, height, width, shiftY, shiftX);
            }

            if (flip)
            {
                for (var y = 0; y < height; y++)
                {
                    image.Slice(y * width, width).Reverse();
                }
            }
        }
    }

    /// <summary>Shifts one channel's plane in place, row by row, filling what comes in from outside with zeros.</summary>
    private static void Shift(Span<float> image, int height, int width, int shiftY, int shiftX)
    {
        // Each output row copies the part of input row y + shiftY that stays in view. Rows are visited so that every
        // row is read before it is overwritten: top down when they come from below (shiftY ≥ 0), bottom up otherwise.
        // Within a row, CopyTo moves overlapping spans correctly.
        var kept = Math.Max(width - Math.Abs(shiftX), 0);
        var from = Math.Min(Math.Max(shiftX, 0), width);
        var to = Math.Min(Math.Max(-shiftX, 0), width);
        for (var i = 0; i < height; i++)
        {
            var y = shiftY >= 0 ? i : height - 1 - i;
            var row = image.Slice(y * width, width);
            var source = y + shiftY;
            if ((uint)source >= (uint)height)
            {
                row.Clear();
                continue;
            }

            image.Slice((source * width) + from, kept).CopyTo(row.Slice(to));

            // The columns that came from beyond the left or right edge are padding.
            row.Slice(shiftX > 0 ? kept : 0, width - kept).Clear();
        }
    }
}
