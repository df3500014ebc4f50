using System;
using ModelGen.Kernels;

namespace ModelGen.Privacy;

/// <summary>
/// Each sample's squared gradient norm, layer by layer, from what a batch's backward pass already holds: the layer's
/// inputs and the gradient of its pre-activations, one row per sample. The generated <c>TrainStepClipped</c> adds every
/// parameter layer's share, then clips with <see cref="ClipRows"/>. A dense layer's share needs no per-sample gradient
/// at all (‖xₙ ⊗ dzₙ‖ = ‖xₙ‖·‖dzₙ‖); a convolution's weight gradient is a sum over positions, so it is formed for one
/// sample at a time, in a buffer of the calling thread, and its norm taken.
/// </summary>
public static class SampleGradientNorms
{
    [ThreadStatic]
    private static float[]? t_columns;

    [ThreadStatic]
    private static float[]? t_weights;

    /// <summary>
    /// squaredNorms[n] += ‖xₙ‖²·‖dzₙ‖², and + ‖dzₙ‖² with a bias: a dense layer's ‖∂W‖² + ‖∂b‖² for sample n alone, with
    /// x [batch × inputs] and dz [batch × units].
    /// </summary>
    public static void AddDense(ReadOnlySpan<float> x, ReadOnlySpan<float> dz, int inputs, int units, bool bias, Span<float> squaredNorms)
    {
        var batch = squaredNorms.Length;
        Guard.Length(x, batch * inputs, nameof(x));
        Guard.Length(dz, batch * units, nameof(dz));
        for (var n = 0; n < batch; n++)
        {
            var (input, gradient) = (SquaredLength(x.Slice(n * inputs, inputs)), SquaredLength(dz.Slice(n * units, units)));
            squaredNorms[n] += (float)((input * gradient) + (bias ? gradient : 0));
        }
    }

    /// <summary>
    /// squaredNorms[n] += ‖∂W‖² (+ ‖∂b‖²) of a convolution for sample n alone: ∂W = windowsₙᵀ·dzₙ formed from the
    /// sample's windows (<see cref="Convolution.ImageToColumns"/>), ∂b the sum of dzₙ over positions. x holds the
    /// layer's inputs as the window reads them, dz [batch × positions × filters].
    /// </summary>
    public static void AddConvolution(ReadOnlySpan<float> x, ReadOnlySpan<float> dz, in Window2D window, int filters, bool bias, Span<float> squaredNorms)
    {
        var batch = squaredNorms.Length;
        var (positions, patch) = (window.Positions, window.PatchSize);
        Guard.Length(x, batch * window.InputSize, nameof(x));
        Guard.Length(dz, batch * positions * filters, nameof(dz));
        var columns = Buffer(ref t_columns, positions * patch);
        var weights = Buffer(ref t_weights, patch * filters);
        Span<double> biasSums = filters <= 1024 ? stackalloc double[filters] : new double[filters];
        for (var n = 0; n < batch; n++)
        {
            var gradient = dz.Slice(n * positions * filters, positions * filters);
            Convolution.ImageToColumns(x.Slice(n * window.InputSize, window.InputSize), columns, window, 1);
            Gemm.MultiplyTransposedA(columns, gradient, weights, patch, filters, positions);
            var total = SquaredLength(weights);
            if (bias)
            {
                biasSums.Clear();
                for (var p = 0; p < positions; p++)
                {
                    for (var f = 0; f < filters; f++)
                    {
                        biasSums[f] += gradient[(p * filters) + f];
                    }
                }

                foreach (var sum in biasSums)
                {
                    total += sum * sum;
                }
            }

            squaredNorms[n] += (float)total;
        }
    }

    /// <summary>
    /// squaredNorms[n] += ‖dyₙ ⊙ x̂ₙ‖² + ‖dyₙ‖²: a layer normalization's ‖∂γ‖² + ‖∂β‖² for sample n alone, from its
    /// output gradient dy and its normalized inputs x̂ [batch × size].
    /// </summary>
    public static void AddLayerNorm(ReadOnlySpan<float> dy, ReadOnlySpan<float> normalized, int size, Span<float> squaredNorms)
    {
        var batch = squaredNorms.Length;
        Guard.Length(dy, batch * size, nameof(dy));
        Guard.Length(normalized, batch * size, nameof(normalized));
        for (var n = 0; n < batch; n++)
        {
            var total = 0.0;
            for (var i = n * size; i < (n + 1) * size; i++)
            {
                var (gamma, beta) = ((double)dy[i] * normalized[i], (double)dy[i]);
                total += (gamma * gamma) + (beta * beta);
            }

            squaredNorms[n] += (float)total;
        }
    }

    /// <summary>
    /// Turns the squared norms added up from a mean loss's gradient into each sample's own gradient norm (× batch: the
    /// mean's gradient carries 1 / batch), and scales each sample's row of that gradient by min(1, C / norm), so that
    /// the backward pass from it gives (1 / batch)·Σₙ min(1, C / ‖gₙ‖)·gₙ: the clipped mean.
    /// </summary>
    /// <param name="norms">Per sample: the squared norms added up, replaced by ‖gₙ‖.</param>
    /// <param name="lossGradient">The mean loss's gradient [batch × outputs], scaled in place.</param>
    /// <param name="outputs">Values per sample of the loss gradient: the model's outputs.</param>
    /// <param name="clipNorm">C, the largest gradient norm a sample keeps.</param>
    public static void ClipRows(Span<float> norms, Span<float> lossGradient, int outputs, float clipNorm)
    {
        var batch = norms.Length;
        Guard.Length(lossGradient, batch * outputs, nameof(lossGradient));
        for (var n = 0; n < batch; n++)
        {
            norms[n] = batch * MathF.Sqrt(norms[n]);
            if (norms[n] > clipNorm)
            {
                var scale = clipNorm / norms[n];
                foreach (ref var value in lossGradient.Slice(n * outputs, outputs))
                {
                    value *= scale;
                }
            }
        }
    }

    private static double SquaredLength(ReadOnlySpan<float> values)
    {
        var total = 0.0;
        foreach (var value in values)
        {
            total += (double)value * value;
        }

        return total;
    }

    private static Span<float> Buffer(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new float[length];
        }

        return buffer.AsSpan(0, length);
    }
}
