using System;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using ModelGen.Kernels;

namespace ModelGen.Quantization;

/// <summary>
/// A dense layer's weights in int8, quantized symmetrically per output unit, packed for <see cref="Int8Gemm"/>:
/// W [inputs × units] (ModelGen's dense layout: row i holds input i's weights to every unit) becomes
/// q[i,j] = round(W[i,j] / s[j]) with s[j] = max_i |W[i,j]| / 127, so each unit's largest weight maps to ±127 and
/// W[i,j] ≈ q[i,j]·s[j] within s[j]/2.
/// </summary>
/// <remarks>
/// Per unit (per output channel) rather than one scale for the matrix: units whose weights are small keep their
/// resolution instead of sharing the largest unit's step, and the scale is still one number per output column, applied
/// in the product's epilogue. Symmetric (no zero point): the weights of a trained layer are centered on zero, and a
/// zero point on the weights would cost a correction per row of activations. A unit whose weights are all zero gets
/// scale 0 and zero levels, so it contributes exactly nothing. The int8 values are kept in <see cref="Int8Gemm"/>'s
/// packed layout (<see cref="Packed"/>, 64-byte aligned), together with their column sums.
/// </remarks>
public sealed class QuantizedWeights
{
    private const int Alignment = 64;
    private readonly sbyte[] _packed;
    private readonly int _start;
    private readonly int _length;
    private readonly float[] _scales;
    private readonly int[] _columnSums;

    private QuantizedWeights(ReadOnlySpan<sbyte> values, float[] scales, int inputs, int units)
    {
        Inputs = inputs;
        Units = units;
        _length = Int8Gemm.PackedLength(inputs, units);
        _packed = GC.AllocateArray<sbyte>(_length + Alignment - 1, pinned: true);
        var misalignment = (int)(Marshal.UnsafeAddrOfPinnedArrayElement(_packed, 0) % Alignment);
        _start = misalignment == 0 ? 0 : Alignment - misalignment;
        _scales = scales;
        _columnSums = new int[units];
        Int8Gemm.Pack(values, inputs, units, _packed.AsSpan(_start, _length), _columnSums);
    }

    /// <summary>Rows of W: the layer's inputs.</summary>
    public int Inputs { get; }

    /// <summary>Columns of W: the layer's output units.</summary>
    public int Units { get; }

    /// <summary>The int8 weights in <see cref="Int8Gemm"/>'s packed layout.</summary>
    public ReadOnlySpan<sbyte> Packed => _packed.AsSpan(_start, _length);

    /// <summary>Each unit's scale s[j]: its weights are q[i,j]·s[j].</summary>
    public ReadOnlySpan<float> Scales => _scales;

    /// <summary>Each unit's sum of int8 weights Σᵢ q[i,j] (the activations' zero points are corrected with it).</summary>
    public ReadOnlySpan<int> ColumnSums => _columnSums;

    /// <summary>The int8 weight q[<paramref name="input"/>, <paramref name="unit"/>].</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index lies outside the matrix.</exception>
    public sbyte this[int input, int unit]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(input);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(input, Inputs);
            ArgumentOutOfRangeException.ThrowIfNegative(unit);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(unit, Units);
            return Packed[Int8Gemm.PackedIndex(Inputs, input, unit)];
        }
    }

    /// <summary>Quantizes float weights W [<paramref name="inputs"/> × <paramref name="units"/>], row-major, per unit (see the class summary).</summary>
    /// <exception cref="ArgumentException">The span's length is not inputs × units, or a weight is NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or <paramref name="inputs"/> exceeds <see cref="Int8Gemm.MaxDepth"/>.</exception>
    public static QuantizedWeights Quantize(ReadOnlySpan<float> weights, int inputs, int units)
    {
        CheckShape(weights.Length, inputs, units, nameof(weights));
        // Each unit's largest magnitude, a row at a time. A NaN or an infinity makes its unit's maximum non-finite
        // (TensorPrimitives.Max propagates NaN), and is then looked for to name it.
        var maxima = new float[units];
        var magnitudes = new float[units];
        for (var i = 0; i < inputs; i++)
        {
            TensorPrimitives.Abs(weights.Slice(i * units, units), magnitudes);
            TensorPrimitives.Max(maxima, magnitudes, maxima);
        }

        for (var j = 0; j < units; j++)
        {
            if (!float.IsFinite(maxima[j]))
            {
                var i = 0;
                while (float.IsFinite(weights[(i * units) + j]))
                {
                    i++;
                }

                throw new ArgumentException($"Weight [{i}, {j}] is {weights[(i * units) + j]}: only finite weights can be quantized.", nameof(weights));
            }
        }

        var scales = new float[units];
        var divisors = new float[units];
        for (var j = 0; j < units; j++)
        {
            scales[j] = maxima[j] / sbyte.MaxValue;
            divisors[j] = scales[j] == 0f ? 1f : scales[j];   // a unit of zeros (scale 0) stays zero: 0 / 1
        }

        // q = round(w / s) (half to even, as MathF.Round), within ±127 since |w| ≤ max; the quotient is correctly
        // rounded whether a vector or the scalar loop divides, so every processor gets the same levels.
        var values = new sbyte[weights.Length];
        var quotients = magnitudes;
        for (var i = 0; i < inputs; i++)
        {
            TensorPrimitives.Divide(weights.Slice(i * units, units), divisors, quotients);
            TensorPrimitives.Round(quotients, quotients);
            TensorPrimitives.Min(quotients, sbyte.MaxValue, quotients);
            TensorPrimitives.Max(quotients, -sbyte.MaxValue, quotients);
            TensorPrimitives.ConvertTruncating(quotients, values.AsSpan(i * units, units));
        }

        return new QuantizedWeights(values, scales, inputs, units);
    }

    /// <summary>
    /// Weights already in int8: <paramref name="values"/> [<paramref name="inputs"/> × <paramref name="units"/>],
    /// row-major, with one scale per unit (weights quantized elsewhere, or exact test cases). Any int8 value is allowed.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not match the shape, or a scale is negative, NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or <paramref name="inputs"/> exceeds <see cref="Int8Gemm.MaxDepth"/>.</exception>
    public static QuantizedWeights FromInt8(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int inputs, int units)
    {
        CheckShape(values.Length, inputs, units, nameof(values));
        if (scales.Length != units)
        {
            throw new ArgumentException($"Expected one scale per unit ({units}); got {scales.Length}.", nameof(scales));
        }

        foreach (var scale in scales)
        {
            if (!float.IsFinite(scale) || scale < 0f)
            {
                throw new ArgumentException($"Scale {scale} is not a finite non-negative number.", nameof(scales));
            }
        }

        return new QuantizedWeights(values, scales.ToArray(), inputs, units);
    }

    /// <summary>The float weights the int8 ones stand for, q[i,j]·s[j], into <paramref name="weights"/> [inputs × units], row-major.</summary>
    /// <exception cref="ArgumentException">The span's length is not inputs × units.</exception>
    public void Dequantize(Span<float> weights)
    {
        Guard.Length(weights, Inputs * Units, nameof(weights));
        for (var i = 0; i < Inputs; i++)
        {
            for (var j = 0; j < Units; j++)
            {
                weights[(i * Units) + j] = this[i, j] * _scales[j];
            }
        }
    }

    private static void CheckShape(int length, int inputs, int units, string parameterName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputs);
        ArgumentOutOfRangeException.ThrowIfNegative(units);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inputs, Int8Gemm.MaxDepth);
        if (length != (long)inputs * units)
        {
            throw new ArgumentException($"Expected {inputs} × {units} = {(long)inputs * units} weights; got {length}.", parameterName);
        }
    }
}
