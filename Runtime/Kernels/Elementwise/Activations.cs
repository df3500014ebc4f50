using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// Activation functions and their derivatives. Where the derivative can be written from the activation's output y
/// (ReLU, leaky ReLU, ELU, sigmoid, tanh), backward reads only the outputs the forward pass keeps; GELU and SiLU
/// need the pre-activation z, which the generated code then keeps as well.
/// </summary>
public static class Activations
{
    /// <summary>√(2/π), of GELU's tanh form.</summary>
    private const float GeluScale = 0.7978845608f;

    /// <summary>The cubic coefficient of GELU's tanh form.</summary>
    private const float GeluCubic = 0.044715f;

    /// <summary>leaky_relu(z) = z for z &gt; 0, else α·z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LeakyRelu(float z, float alpha) => z > 0f ? z : alpha * z;

    /// <summary>elu(z) = z for z &gt; 0, else α·(e^z − 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Elu(float z, float alpha) => z > 0f ? z : alpha * (MathF.Exp(z) - 1f);

    /// <summary>gelu(z) ≈ ½·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))), the tanh form (Hendrycks &amp; Gimpel).</summary>
    public static float Gelu(float z) => 0.5f * z * (1f + MathF.Tanh(GeluScale * (z + (GeluCubic * z * z * z))));

    /// <summary>silu(z) = z·σ(z) (also called swish).</summary>
    public static float Silu(float z) => z * Sigmoid(z);

    /// <summary>leaky_relu′ from the output: 1 where y &gt; 0, else α (α &gt; 0 keeps the sign of z in y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LeakyReluDerivative(float y, float alpha) => y > 0f ? 1f : alpha;

    /// <summary>elu′ from the output: 1 where y &gt; 0, else α·e^z = y + α.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float EluDerivative(float y, float alpha) => y > 0f ? 1f : y + alpha;

    /// <summary>gelu′(z) = ½(1 + t) + ½·z·(1 − t²)·√(2/π)·(1 + 3·0.044715·z²), t = tanh(√(2/π)·(z + 0.044715·z³)).</summary>
    public static float GeluDerivative(float z)
    {
        var t = MathF.Tanh(GeluScale * (z + (GeluCubic * z * z * z)));
        return (0.5f * (1f + t)) + (0.5f * z * (1f - (t * t)) * GeluScale * (1f + (3f * GeluCubic * z * z)));
    }

    /// <summary>silu′(z) = σ(z)·(1 + z·(1 − σ(z))).</summary>
    public static float SiluDerivative(float z)
    {
        var s = Sigmoid(z);
        return s * (1f + (z * (1f - s)));
    }

    /// <summary>Applies leaky ReLU in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LeakyRelu(Span<float> values, float alpha)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = LeakyRelu(values[i], alpha);
        }
    }

    /// <summary>Applies ELU in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Elu(Span<float> values, float alpha)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Elu(values[i], alpha);
        }
    }

    /// <summary>Values a vectorized GELU pass works on at a time: its temporaries stay in L1.</summary>
    private const int GeluChunk = 1024;

    /// <summary>
    /// y = gelu(z), vectorized: u = √(2/π)·(z + 0.044715·z³) and tanh(u) by <see cref="TensorPrimitives"/> over chunks of
    /// 1,024 values, then 0.5·z·(1 + tanh u). Within a few units in the last place of <see cref="Gelu(float)"/> (whose
    /// tanh is the scalar one), and about 20 times as fast.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gelu(ReadOnlySpan<float> z, Span<float> y)
    {
        Guard.Length(y, z.Length, nameof(y));
        // t in a buffer of its own: y may be z itself (an activation applied in place).
        Span<float> buffer = stackalloc float[GeluChunk];
        for (var start = 0; start < z.Length; start += GeluChunk)
        {
            var length = Math.Min(GeluChunk, z.Length - start);
            var x = z.Slice(start, length);
            var t = buffer.Slice(0, length);
            TanhArgument(x, t);
            TensorPrimitives.Tanh(t, t);
            // y = 0.5·z·(1 + t) = (0.5·t + 0.5)·z
            TensorPrimitives.Multiply(t, 0.5f, t);
            TensorPrimitives.Add(t, 0.5f, t);
            TensorPrimitives.Multiply(t, x, y.Slice(start, length));
        }
    }

    /// <summary>u = √(2/π)·(z + 0.044715·z³) = √(2/π)·z·(1 + 0.044715·z²), written to <paramref name="u"/>.</summary>
    private static void TanhArgument(ReadOnlySpan<float> z, Span<float> u)
    {
        TensorPrimitives.Multiply(z, z, u);
        TensorPrimitives.Multiply(u, GeluCubic, u);
        TensorPrimitives.Add(u, 1f, u);
        TensorPrimitives.Multiply(u, z, u);
        TensorPrimitives.Multiply(u, GeluScale, u);
    }

    /// <summary>y = silu(z).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Silu(ReadOnlySpan<float> z, Span<float> y)
    {
        Guard.Length(y, z.Length, nameof(y));
        for (var i = 0; i < z.Length; i++)
        {
            y[i] = Silu(z[i]);
        }
    }

    /// <summary>gradient ← gradient ⊙ leaky_relu′(y), from the outputs y of the forward pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LeakyReluBackward(ReadOnlySpan<float> outputs, Span<float> gradient, float alpha)
    {
        Guard.Length(gradient, outputs.Length, nameof(gradient));
        for (var i = 0; i < gradient.Length; i++)
        {
            gradient[i] *= LeakyReluDerivative(outputs[i], alpha);
        }
    }

    /// <summary>gradient ← gradient ⊙ elu′(y), from the outputs y of the forward pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void EluBackward(ReadOnlySpan<float> outputs, Span<float> gradient, float alpha)
    {
        Guard.Length(gradient, outputs.Length, nameof(gradient));
        for (var i = 0; i < gradient.Length; i++)
        {
            gradient[i] *= EluDerivative(outputs[i], alpha);
        }
    }

    /// <summary>
    /// gradient ← gradient ⊙ gelu′(z), from the pre-activations z of the forward pass, vectorized as <see cref="Gelu(ReadOnlySpan{float}, Span{float})"/>:
    /// gelu′(z) = 0.5·(1 + t) + 0.5·√(2/π)·z·(1 − t²)·(1 + 3·0.044715·z²) with t = tanh u.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluBackward(ReadOnlySpan<float> preActivations, Span<float> gradient)
    {
        Guard.Length(gradient, preActivations.Length, nameof(gradient));
        Span<float> t = stackalloc float[GeluChunk];
        Span<float> slope = stackalloc float[GeluChunk];
        Span<float> square = stackalloc float[GeluChunk];
        for (var start = 0; start < gradient.Length; start += GeluChunk)
        {
            var length = Math.Min(GeluChunk, gradient.Length - start);
            var z = preActivations.Slice(start, length);
            var g = gradient.Slice(start, length);
            var tanh = t.Slice(0, length);
            var b = slope.Slice(0, length);
            var w = square.Slice(0, length);
            TanhArgument(z, tanh);
            TensorPrimitives.Tanh(tanh, tanh);
            // b = 0.5·√(2/π)·z·(1 + 3·0.044715·z²)·(1 − t²)
            TensorPrimitives.Multiply(z, z, b);
            TensorPrimitives.Multiply(b, 3f * GeluCubic, b);
            TensorPrimitives.Add(b, 1f, b);
            TensorPrimitives.Multiply(b, z, b);
            TensorPrimitives.Multiply(b, 0.5f * GeluScale, b);
            TensorPrimitives.Multiply(tanh, tanh, w);
            TensorPrimitives.Subtract(1f, w, w);
            TensorPrimitives.Multiply(b, w, b);
            // gelu′ = 0.5·(1 + t) + b
            TensorPrimitives.Multiply(tanh, 0.5f, tanh);
            TensorPrimitives.Add(tanh, 0.5f, tanh);
            TensorPrimitives.Add(tanh, b, tanh);
            TensorPrimitives.Multiply(g, tanh, g);
        }
    }

    /// <summary>gradient ← gradient ⊙ silu′(z), from the pre-activations z of the forward pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluBackward(ReadOnlySpan<float> preActivations, Span<float> gradient)
    {
        Guard.Length(gradient, preActivations.Length, nameof(gradient));
        for (var i = 0; i < gradient.Length; i++)
        {
            gradient[i] *= SiluDerivative(preActivations[i]);
        }
    }

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
        public static TVector Invoke<TVector, TSimd>(TVector y, TVector dy)
            where TVector : struct
            where TSimd : ISimd<TVector> => TSimd.KeepWherePositive(dy, y);
    }

    internal readonly struct SigmoidGradient : IGradientOperator
    {
        public static TVector Invoke<TVector, TSimd>(TVector y, TVector dy)
            where TVector : struct
            where TSimd : ISimd<TVector> => TSimd.Multiply(dy, TSimd.Multiply(y, TSimd.Subtract(TSimd.Broadcast(1f), y)));
    }

    internal readonly struct TanhGradient : IGradientOperator
    {
        public static TVector Invoke<TVector, TSimd>(TVector y, TVector dy)
            where TVector : struct
            where TSimd : ISimd<TVector> => TSimd.Multiply(dy, TSimd.Subtract(TSimd.Broadcast(1f), TSimd.Multiply(y, y)));
    }

    /// <summary>
    /// y = f(x) for each value, x and y of one length (they may be the same span): an activation layer's forward pass, and
    /// a residual sum's activation.
    /// </summary>
    public static void Apply(ReadOnlySpan<float> x, Span<float> y, Activation activation, float alpha = 0f)
    {
        switch (activation)
        {
            case Activation.Relu:
                TensorPrimitives.Max(x, 0f, y);
                return;
            case Activation.Gelu:
                Gelu(x, y);
                return;
            case Activation.Silu:
                Silu(x, y);
                return;
        }

        x.CopyTo(y);
        switch (activation)
        {
            case Activation.Sigmoid:
                Sigmoid(y);
                break;
            case Activation.Tanh:
                Tanh(y);
                break;
            case Activation.LeakyRelu:
                LeakyRelu(y, alpha);
                break;
            case Activation.Elu:
                Elu(y, alpha);
                break;
        }
    }

    /// <summary>
    /// gradient ⊙= f′, in place: from the outputs y where the derivative can be written from them, from the inputs x
    /// (the pre-activations) for GELU and SiLU.
    /// </summary>
    public static void ApplyDerivative(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> gradient, Activation activation, float alpha = 0f)
    {
        switch (activation)
        {
            case Activation.Relu:
                ReluBackward(y, gradient);
                break;
            case Activation.Sigmoid:
                SigmoidBackward(y, gradient);
                break;
            case Activation.Tanh:
                TanhBackward(y, gradient);
                break;
            case Activation.LeakyRelu:
                LeakyReluBackward(y, gradient, alpha);
                break;
            case Activation.Elu:
                EluBackward(y, gradient, alpha);
                break;
            case Activation.Gelu:
                GeluBackward(x, gradient);
                break;
            case Activation.Silu:
                SiluBackward(x, gradient);
                break;
        }
    }
}
