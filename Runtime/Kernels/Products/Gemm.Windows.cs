using System;

namespace ModelGen.Kernels;

// Products whose A is a convolution's window matrix, read from the images as it is packed (Packing.Windows.cs).
public static unsafe partial class Gemm
{
    /// <summary>
    /// c = act(c₀ + op(windows)·b + bias), where windows is the [batch·positions × patch] matrix that
    /// <see cref="Convolution.ImageToColumns"/> would write from <paramref name="images"/>, and op(windows) is it, or its
    /// transpose when <paramref name="transposeA"/>; b is row-major [k×n], c [m×n]. Every path packs the windows' panels
    /// exactly as it would pack that matrix (or computes what it would read in place from the same panels), so the bits
    /// are those of the product over the materialized windows.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the geometry, the batch or its shape.</exception>
    internal static void ComputeWindows(
        GemmTuning tuning, ReadOnlySpan<float> images, in Window2D window, int batch, bool transposeA, ReadOnlySpan<float> b, Span<float> c, int n,
        bool accumulate, ReadOnlySpan<float> bias = default, GemmActivation activation = GemmActivation.None)
    {
        window.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (images.Length != (long)batch * window.InputSize)
        {
            throw new ArgumentException($"Expected {batch} samples of {window.InputSize} floats, but the input span holds {images.Length}.", "input");
        }

        var (rows, values) = (batch * window.Positions, window.PatchSize);
        var (m, k) = transposeA ? (values, rows) : (rows, values);
        // The shapes as for a matrix A: its length is m·k by construction.
        CheckShapes(m * k, b.Length, c.Length, bias.Length, m, n, k);
        if (activation is not (GemmActivation.None or GemmActivation.Relu))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }

        var geometry = window;
        fixed (float* pa = images, pb = b, pc = c, pbias = bias)
        {
            var problem = new Problem
            {
                A = new Operand(pa, &geometry, transposeA),
                B = new Operand(pb, n, 1),
                C = pc,
                M = m,
                N = n,
                K = k,
                Accumulate = accumulate,
                Bias = bias.IsEmpty ? null : pbias,
                Relu = activation == GemmActivation.Relu,
                Tuning = tuning,
            };
            Run(&problem, transposeB: false);
        }
    }
}
