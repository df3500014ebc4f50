using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

// Packing a convolution's windows straight from its images (an implicit im2col): the panels are exactly those that
// packing the materialized window matrix gives, so every product over them has that matrix's bits.
internal static unsafe partial class Packing
{
    /// <summary>The most values of a panel's rows gathered at once: 16 rows (the widest tile) of a depth block.</summary>
    private const int MaxStagedValues = 16 * Gemm.DepthBlock;

    /// <summary>
    /// <see cref="PackA"/> for a window operand. Windows as rows: each panel's rows are gathered from the images into a
    /// stripe of at most 16 KiB on the stack (a few runs per kernel row, copied at once), which stays in L1 and is then
    /// packed as a row-major A is (8 × 8 transposes). Windows as columns (a weight gradient's Aᵀ): each step is
    /// one window's run of values, gathered once into the stripe and cut into the panels' steps.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackWindows(Operand a, int ic, int pc, int mc, int kc, int rows, float* destination)
    {
        var window = a.Windows;
        var (firstRow, firstColumn) = (a.FirstRow + ic, a.FirstColumn + pc);
        var stage = stackalloc float[MaxStagedValues];
        if (a.Transposed)
        {
            if (mc > MaxStagedValues)
            {
                throw new InvalidOperationException($"A block of {mc} window values exceeds the staging stripe.");
            }

            // Each step is one window's run of values: gathered once, then cut into the panels' steps.
            for (var p = 0; p < kc; p++)
            {
                Convolution.CopyWindowValues(a.Data, *window, firstColumn + p, firstRow, mc, stage);
                var panel = 0;
                if (rows == 8 && Vector256.IsHardwareAccelerated)
                {
                    for (; panel + 8 <= mc; panel += 8)
                    {
                        Vector256.Store(Vector256.Load(stage + panel), destination + (panel * kc) + (p * 8));
                    }
                }

                for (; panel < mc; panel += rows)
                {
                    var valid = Math.Min(rows, mc - panel);
                    var step = destination + (panel * kc) + (p * rows);
                    for (var l = 0; l < rows; l++)
                    {
                        step[l] = l < valid ? stage[panel + l] : 0f;
                    }
                }
            }

            return;
        }

        if (rows * kc > MaxStagedValues)
        {
            throw new InvalidOperationException($"A panel of {rows} × {kc} window values exceeds the staging stripe.");
        }

        for (var panel = 0; panel < mc; panel += rows)
        {
            var valid = Math.Min(rows, mc - panel);
            for (var l = 0; l < valid; l++)
            {
                Convolution.CopyWindowValues(a.Data, *window, firstRow + panel + l, firstColumn, kc, stage + (l * kc));
            }

            PackPanels(stage, kc, 1, valid, kc, rows, destination + (panel * kc));
        }
    }
}
