using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// Activation functions and their derivatives. Each derivative is written in terms of the activation's output y,
/// which the forward pass keeps, so backward never recomputes the pre-activation.
/// </summary>
public static class Activations
{
    /// <summary>relu(z) = max(0, z); NaN stays NaN, so a diverging model is noticed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float z) => MathF.Max(z, 0f);

    /// <summary>σ(z) = 1 / (1 + e^(−z)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    /// <summary>tanh(z).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float z) => MathF.Tanh(z);

    /// <summary>relu′ from the output: 1 where y &gt; 0, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReluDerivative(float y) => y > 0f ? 1f : 0f;

    /// <summary>σ′ from the output: y·(1 − y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SigmoidDerivative(float y) => y * (1f - y);

    /// <summary>tanh′ from the output: 1 − y².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float TanhDerivative(float y) => 1f - (y * y);

    /// <summary>Applies relu in place.</summary>
    public static void Relu(Span<float> values) => TensorPrimitives.Max(values, 0f, values);

    /// <summary>Applies σ in place.</summary>
    public static void Sigmoid(Span<float> values)
    {
        // TensorPrimitives.Sigmoid rejects an empty span; an empty batch is simply nothing to do.
        if (!values.IsEmpty)
        {
            TensorPrimitives.Sigmoid(values, values);
        }
    }

    /// <summary>Applies tanh in place.</summary>
    public static void Tanh(Span<float> values) => TensorPrimitives.Tanh(values, values);

    /// <summary>gradient ← gradient ⊙ relu′(y), from the outputs y of the forward pass.</summary>
    public static void ReluBackward(ReadOnlySpan<float> outputs, Span<float> gradient) =>
        GradientKernel.Apply<ReluGradient>(outputs, gradient);

    /// <summary>gradient ← gradient ⊙ y·(1 − y), from the outputs y of the forward pass.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> outputs, Span<float> gradient) =>
        GradientKernel.Apply<SigmoidGradient>(outputs, gradient);

    /// <summary>gradient ← gradient ⊙ (1 − y²), from the outputs y of the forward pass.</summary>
    public static void TanhBackward(ReadOnlySpan<float> outputs, Span<float> gradient) =>
        GradientKernel.Apply<TanhGradient>(outputs, gradient);

    internal readonly struct ReluGradient : IGradientOperator
    {
        public static float Invoke(float y, float dy) => y > 0f ? dy : 0f;

        public static Vector128<float> Invoke(Vector128<float> y, Vector128<float> dy) =>
            Vector128.GreaterThan(y, Vector128<float>.Zero) & dy;

        public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy) =>
            Vector256.GreaterThan(y, Vector256<float>.Zero) & dy;

        public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) =>
            Vector512.GreaterThan(y, Vector512<float>.Zero) & dy;
    }

    internal readonly struct SigmoidGradient : IGradientOperator
    {
        public static float Invoke(float y, float dy) => dy * (y * (1f - y));

        public static Vector128<float> Invoke(Vector128<float> y, Vector128<float> dy) => dy * (y * (Vector128<float>.One - y));

        public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy) => dy * (y * (Vector256<float>.One - y));

        public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) => dy * (y * (Vector512<float>.One - y));
    }

    internal readonly struct TanhGradient : IGradientOperator
    {
        public static float Invoke(float y, float dy) => dy * (1f - (y * y));

        public static Vector128<float> Invoke(Vector128<float> y, Vector128<float> dy) => dy * (Vector128<float>.One - (y * y));

        public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy) => dy * (Vector256<float>.One - (y * y));

        public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy) => dy * (Vector512<float>.One - (y * y));
    }
}
