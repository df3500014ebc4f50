using System;
using System.Numerics.Tensors;

namespace ModelGen.Quantization;

/// <summary>
/// Collects a layer's input activations over sample batches and chooses fixed <see cref="QuantizationParameters"/> for
/// static quantization: from the running minimum and maximum (<see cref="MinMax"/>), or from a percentile of the
/// magnitudes (<see cref="Percentile"/>), which clips rare outliers so that the common values get finer levels.
/// </summary>
/// <remarks>
/// The magnitudes |x| are counted in a histogram of <see cref="Bins"/> equal bins over [0, <see cref="HistogramRange"/>).
/// The range is set by the first batch with a non-zero value (its largest magnitude); when a later batch holds a larger
/// one, the range doubles (as often as needed) and each pair of neighbouring bins merges into one, which regroups the
/// counts exactly. A percentile is therefore resolved to a bin, at most <see cref="HistogramRange"/> / <see cref="Bins"/>
/// wide, and the result depends on the order of the batches only through that resolution. Not thread-safe.
/// </remarks>
public sealed class ActivationCalibrator
{
    /// <summary>The bins of a calibrator made without a count: as many as common percentile calibrators use.</summary>
    public const int DefaultBins = 2048;

    private readonly long[] _counts;

    /// <summary>A calibrator whose histogram has <paramref name="bins"/> bins (an even number, at least 2).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is below 2 or odd.</exception>
    public ActivationCalibrator(int bins = DefaultBins)
    {
        if (bins < 2 || bins % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "The histogram needs an even number of bins, at least 2 (growing merges them in pairs).");
        }

        _counts = new long[bins];
    }

    /// <summary>Bins of the magnitudes' histogram.</summary>
    public int Bins => _counts.Length;

    /// <summary>The upper end of the histogram's last bin; 0 while every value seen is zero.</summary>
    public float HistogramRange { get; private set; }

    /// <summary>Values observed so far.</summary>
    public long Count { get; private set; }

    /// <summary>The smallest value observed (+∞ before any).</summary>
    public float Min { get; private set; } = float.PositiveInfinity;

    /// <summary>The largest value observed (−∞ before any).</summary>
    public float Max { get; private set; } = float.NegativeInfinity;

    /// <summary>Adds a batch of activations (any layout: only their values count).</summary>
    /// <exception cref="ArgumentException">A value is NaN or infinite.</exception>
    public void Observe(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        var min = TensorPrimitives.Min(values);
        var max = TensorPrimitives.Max(values);
        if (!float.IsFinite(min) || !float.IsFinite(max))
        {
            throw new ArgumentException("The activations hold a NaN or infinite value, which has no level.", nameof(values));
        }

        Min = Math.Min(Min, min);
        Max = Math.Max(Max, max);
        Grow(Math.Max(-min, max));
        if (HistogramRange == 0f)
        {
            _counts[0] += values.Length;   // all zero so far: the first bin holds them whatever the range becomes
        }
        else
        {
            var binsPerUnit = Bins / HistogramRange;
            foreach (var value in values)
            {
                _counts[Math.Min((int)(Math.Abs(value) * binsPerUnit), Bins - 1)]++;
            }
        }

        Count += values.Length;
    }

    /// <summary>The parameters of the whole range observed, [<see cref="Min"/>, <see cref="Max"/>].</summary>
    /// <exception cref="InvalidOperationException">No value has been observed.</exception>
    public QuantizationParameters MinMax()
    {
        CheckObserved();
        return QuantizationParameters.FromRange(Min, Max);
    }

    /// <summary>
    /// The parameters of the range observed clipped to ±<see cref="AbsolutePercentile"/>(<paramref name="percent"/>):
    /// [max(<see cref="Min"/>, −c), min(<see cref="Max"/>, c)]. 99.99 keeps all but the largest 0.01 % of magnitudes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The percentage is not in (0, 100].</exception>
    /// <exception cref="InvalidOperationException">No value has been observed.</exception>
    public QuantizationParameters Percentile(double percent = 99.99)
    {
        var clip = AbsolutePercentile(percent);
        return QuantizationParameters.FromRange(Math.Max(Min, -clip), Math.Min(Max, clip));
    }

    /// <summary>
    /// The magnitude below which at least <paramref name="percent"/> % of the observed values lie, resolved to the
    /// histogram: the upper edge of the first bin at which the cumulative count reaches ⌈percent·count / 100⌉, or the
    /// largest magnitude observed if that is smaller.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The percentage is not in (0, 100].</exception>
    /// <exception cref="InvalidOperationException">No value has been observed.</exception>
    public float AbsolutePercentile(double percent)
    {
        if (!(percent > 0 && percent <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "A percentage in (0, 100] is needed.");
        }

        CheckObserved();
        // In decimal, so that 99.99 % of 10,000 values is 9,999 values and not 10,000 through a rounding error.
        var target = (long)Math.Ceiling((decimal)Count * (decimal)percent / 100m);
        var largest = Math.Max(-Min, Max);
        long cumulative = 0;
        for (var bin = 0; bin < Bins; bin++)
        {
            cumulative += _counts[bin];
            if (cumulative >= target)
            {
                return Math.Min((bin + 1) * (HistogramRange / Bins), largest);
            }
        }

        return largest;
    }

    /// <summary>Widens the histogram to hold <paramref name="magnitude"/>: sets the range first, then doubles it, merging bins in pairs.</summary>
    private void Grow(float magnitude)
    {
        if (magnitude <= HistogramRange)
        {
            return;
        }

        if (HistogramRange == 0f)
        {
            HistogramRange = magnitude;
            return;
        }

        while (HistogramRange < magnitude)
        {
            for (var bin = 0; bin < Bins / 2; bin++)
            {
                _counts[bin] = _counts[2 * bin] + _counts[(2 * bin) + 1];
            }

            Array.Clear(_counts, Bins / 2, Bins / 2);
            HistogramRange *= 2;
        }
    }

    private void CheckObserved()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("No activations have been observed.");
        }
    }
}
