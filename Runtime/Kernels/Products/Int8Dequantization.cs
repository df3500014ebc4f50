using System;

namespace ModelGen.Kernels;

/// <summary>
/// What <see cref="Int8Gemm.MultiplyDequantize"/> needs to turn int32 sums into floats: the activations' scale and
/// zero point (one per row of A, or a single one for all rows), the weights' scale and column sum per column, and the
/// bias and activation applied as the result is stored.
/// </summary>
public readonly ref struct Int8Dequantization
{
    /// <summary>The activations' scale: one per row of A (dynamic quantization), or one for all rows (static).</summary>
    public ReadOnlySpan<float> RowScales { get; init; }

    /// <summary>The activations' zero point, 0 … <see cref="Int8Gemm.MaxActivation"/>: one per row of A, or one for all rows.</summary>
    public ReadOnlySpan<int> RowZeroPoints { get; init; }

    /// <summary>The weights' scale, one per column of B (output unit).</summary>
    public ReadOnlySpan<float> ColumnScales { get; init; }

    /// <summary>The sum of each column of the int8 B, as <see cref="Int8Gemm.Pack"/> writes it: z·Σₚ b[p,j] removes the zero point's share of a sum.</summary>
    public ReadOnlySpan<int> ColumnSums { get; init; }

    /// <summary>One value per column added to the dequantized sum, or empty.</summary>
    public ReadOnlySpan<float> Bias { get; init; }

    /// <summary>The activation applied last.</summary>
    public GemmActivation Activation { get; init; }

    internal void Check(int m, int n)
    {
        if ((RowScales.Length != m && RowScales.Length != 1) || (RowZeroPoints.Length != m && RowZeroPoints.Length != 1))
        {
            throw new ArgumentException(
                $"Expected one activation scale and zero point per row ({m}) or one for all rows; got {RowScales.Length} scales and {RowZeroPoints.Length} zero points.");
        }

        if (ColumnScales.Length != n || ColumnSums.Length != n || (Bias.Length != 0 && Bias.Length != n))
        {
            throw new ArgumentException(
                $"Expected one weight scale, column sum and (if any) bias per column ({n}); got {ColumnScales.Length}, {ColumnSums.Length} and {Bias.Length}.");
        }

        foreach (var zeroPoint in RowZeroPoints)
        {
            if (zeroPoint is < 0 or > Int8Gemm.MaxActivation)
            {
                throw new ArgumentException($"Zero point {zeroPoint} lies outside 0 … {Int8Gemm.MaxActivation}.");
            }
        }

        if (Activation is not (GemmActivation.None or GemmActivation.Relu))
        {
            throw new ArgumentOutOfRangeException(nameof(Activation), Activation, "Unknown activation.");
        }
    }
}
