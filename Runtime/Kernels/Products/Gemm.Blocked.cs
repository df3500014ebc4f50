using System;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

// The blocked loops of a product: depth, row and column blocks around the register-blocked micro-kernels (Tiles.cs).
public static unsafe partial class Gemm
{
    /// <summary>Columns [<paramref name="from"/>, <paramref name="to"/>) of the product, through the blocked loops.</summary>
    /// <remarks>Compiled fully optimized on first use, as are the packing loops and micro-kernels: a product's first
    /// calls would otherwise run unoptimized code for the first tenths of a second (tiered compilation).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns<TVector, TSimd, TTile>(void* context, int from, int to)
        where TVector : struct
        where TSimd : ISimd<TVector>
        where TTile : ITile
    {
        var x = (Problem*)context;
        var rows = TTile.Rows;
        var width = TTile.Vectors * TSimd.Count;
        var buffers = PackingBuffers.ForCurrentThread();
        var packedA = buffers.A;
        var packedB = buffers.B;
        var scratch = stackalloc float[rows * width];
        var edgeBias = stackalloc float[width];
        // A read in place (see GemmTuning.ReadAInPlace): row-major with at most one row block, or transposed with at most one
        // depth block (a weight gradient's A is the layer's input, stored [batch × inputs]); or of any size when the
        // product is one panel wide, so that a packed copy of A would be read by one tile only.
        // A window operand (an implicit convolution) has no matrix to read: it is always packed.
        var onePanel = x->N <= width;
        var rowsInPlace = x->Tuning.ReadAInPlace && x->A.InMemory && x->A.ColumnStride == 1 && (x->M <= RowBlock || onePanel)
            && ((long)x->A.RowStride * sizeof(float)) % 4096 != 0;
        var stepsInPlace = x->Tuning.ReadAInPlace && x->A.InMemory && x->A.RowStride == 1 && (x->K <= DepthBlock || onePanel)
            && ((long)x->A.ColumnStride * sizeof(float)) % 4096 != 0;
        var aInPlace = rowsInPlace || stepsInPlace;
        // With one row block, each B panel is packed just before its tiles read it (see GemmTuning.PackBPerPanel).
        var panelByPanel = x->Tuning.PackBPerPanel && x->M <= RowBlock;

        for (var jc = from; jc < to; jc += ColumnBlock)
        {
            var nc = Math.Min(ColumnBlock, to - jc);
            var depthStep = DepthStep(x->K);
            for (var pc = 0; pc < x->K || pc == 0; pc += depthStep)
            {
                var kc = Math.Min(depthStep, x->K - pc);
                var first = pc == 0;
                var last = pc + kc >= x->K;
                var step = new Step
                {
                    Accumulate = !first || x->Accumulate,
                    Bias = first && x->Bias != null ? x->Bias + jc : null,
                    Relu = last && x->Relu,
                };
                if (!panelByPanel)
                {
                    Packing.PackB(x->B, pc, jc, kc, nc, width, packedB);
                }

                for (var ic = 0; ic < x->M; ic += RowBlock)
                {
                    var mc = Math.Min(RowBlock, x->M - ic);
                    // With A read in place, only a partial last row group is packed: read in place, it would run
                    // past the matrix (a row-major A's rows, or a transposed A's steps).
                    var firstPacked = aInPlace ? mc / rows * rows : 0;
                    if (firstPacked < mc)
                    {
                        Packing.PackA(x->A, ic + firstPacked, pc, mc - firstPacked, kc, rows, packedA + (firstPacked * kc));
                    }

                    for (var jr = 0; jr < nc; jr += width)
                    {
                        var nr = Math.Min(width, nc - jr);
                        if (panelByPanel)
                        {
                            Packing.PackB(x->B, pc, jc + jr, kc, nr, width, packedB);
                        }

                        var panelB = panelByPanel ? packedB : packedB + (jr * kc);
                        var columnBias = PaddedBias(step.Bias == null ? null : step.Bias + jr, nr, width, edgeBias);

                        for (var ir = 0; ir < mc; ir += rows)
                        {
                            var mr = Math.Min(rows, mc - ir);
                            var tile = x->C + ((long)(ic + ir) * x->N) + jc + jr;
                            var panelA = packedA + (ir * kc);
                            if (aInPlace && mr == rows)
                            {
                                var origin = x->A.Data + ((long)(ic + ir) * x->A.RowStride) + ((long)pc * x->A.ColumnStride);
                                var whole = nr == width;
                                var target = whole ? tile : scratch;
                                var targetStride = whole ? x->N : width;
                                var (accumulate, relu) = whole ? (step.Accumulate, step.Relu) : (false, false);
                                if (rowsInPlace)
                                {
                                    TTile.RunRows<TVector, TSimd>(kc, origin, x->A.RowStride, panelB, width, target, targetStride, accumulate, columnBias, relu);
                                }
                                else
                                {
                                    TTile.RunStrided<TVector, TSimd>(kc, origin, x->A.ColumnStride, panelB, width, target, targetStride, accumulate, columnBias, relu);
                                }

                                if (!whole)
                                {
                                    WriteEdge(scratch, width, tile, x->N, mr, nr, step.Accumulate, step.Relu, x->Tuning.MaskedEdges);
                                }
                            }
                            else if (mr == rows && nr == width)
                            {
                                TTile.Run<TVector, TSimd>(kc, panelA, panelB, width, tile, x->N, step.Accumulate, columnBias, step.Relu);
                            }
                            else
                            {
                                TTile.Run<TVector, TSimd>(kc, panelA, panelB, width, scratch, width, accumulate: false, columnBias, relu: false);
                                WriteEdge(scratch, width, tile, x->N, mr, nr, step.Accumulate, step.Relu, x->Tuning.MaskedEdges);
                            }
                        }
                    }

                    // The row block's columns are complete: gate or mask them while they are still in this core's cache.
                    if (last && x->Gated)
                    {
                        ApplyGate(x, ic, mc, jc, nc);
                    }

                    if (last && x->Drops)
                    {
                        ApplyDropout(x, ic, mc, jc, nc);
                    }
                }

                if (x->K == 0)
                {
                    break;
                }
            }
        }
    }

    /// <summary>What one depth block does at the end: accumulate, add the bias (first block), apply ReLU (last block).</summary>
    private struct Step
    {
        public bool Accumulate;
        public float* Bias;
        public bool Relu;
    }
}
