using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// The optimizers' update rules as single fused passes over the flat buffers, one generic body per rule for every
/// vector width. They use separate multiplies and adds (no FMA) and IEEE square root and division, so the vector
/// lanes and the scalar tail compute bit-identical results: the tests hold each rule to a scalar reference exactly.
/// </summary>
/// <remarks>
/// State that decays geometrically (momentum, Adam's moments, RMSprop's mean square) sinks, for every parameter
/// whose gradient stays zero (weights from always-blank pixels, dead ReLU units), into the subnormal floats, where
/// each multiply takes a microcode assist of a hundred cycles and more: measured on the Fashion-MNIST MLP, 34,000 of
/// Adam's 235,146 first moments were subnormal after 10,000 steps and the update took 1.6 ms instead of 0.2.
/// So state below <see cref="StateFloor"/> (2⁻¹⁰⁰, about 8·10⁻³¹) is stored as zero, and gradients below
/// <see cref="GradientFloor"/> (2⁻⁵⁵, about 3·10⁻¹⁷) are read as zero, which keeps every product in the update
/// normal. What this drops from an update is below 10⁻²³ of the learning rate; TensorFlow's CPU kernels flush
/// subnormals to zero for the same reason.
/// </remarks>
internal static class OptimizerKernels
{
    /// <summary>Optimizer state smaller than this (2⁻¹⁰⁰) is stored as zero: times a decay of 0.9 it stays normal.</summary>
    internal const float StateFloor = 7.88860905e-31f;

    /// <summary>Gradients smaller than this (2⁻⁵⁵) are read as zero: their squares times 1 − β₂ = 10⁻³ stay normal.</summary>
    internal const float GradientFloor = 2.77555756e-17f;

    /// <summary>Momentum SGD: v ← μ·v − η·g; θ ← θ + v, or with Nesterov θ ← θ + μ·v − η·g.</summary>
    public static void Momentum(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum, bool nesterov)
    {
        var loop = new MomentumLoop(parameters, gradients, velocity, learningRate, momentum, nesterov);
        SimdWidth.Run(ref loop);
    }

    /// <summary>RMSprop (Keras): s ← ρ·s + (1 − ρ)·g²; θ ← θ − η·g / √(s + ε).</summary>
    public static void RmsProp(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, float learningRate, float rho, float epsilon)
    {
        var loop = new RmsPropLoop(parameters, gradients, meanSquare, learningRate, rho, epsilon);
        SimdWidth.Run(ref loop);
    }

    /// <summary>
    /// Adam (Keras): m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²; θ ← θ·(1 − decay) − α·m / (√v + ε), where the
    /// caller folds the bias corrections into α and passes decay = η·λ for AdamW (0 for Adam).
    /// </summary>
    public static unsafe void Adam(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float beta1, float beta2, float stepSize, float epsilon, float decay)
    {
        if (gradients.Length != parameters.Length || m.Length != parameters.Length || v.Length != parameters.Length)
        {
            throw new ArgumentException("Adam's buffers must all be as long as the parameters.");
        }

        // Large buffers are split over the kernel threads, in four parts per thread (at least eight) so that a thread
        // slowed by the machine holds the others up by a quarter of its share at most: the update streams seven arrays
        // through memory and one core does not saturate the memory system (each element is updated the same way on any).
        fixed (float* pp = parameters, pg = gradients, pm = m, pv = v)
        {
            var arguments = new AdamArguments
            {
                Parameters = pp, Gradients = pg, M = pm, V = pv,
                Beta1 = beta1, Beta2 = beta2, StepSize = stepSize, Epsilon = epsilon, Decay = decay,
            };
            WorkSplitter.Run(&AdamRange, &arguments, parameters.Length, grain: 64, work: (long)parameters.Length * ElementwiseWeight, reduction: WorkSplitter.MinParallelReduction, parts: WorkSplitter.StreamParts);
        }
    }

    /// <summary>
    /// What an element of an optimizer update counts for against <see cref="WorkSplitter.MinParallelWork"/>: updates of
    /// at least 2¹⁶ parameters are split (a few tens of microseconds of work), smaller ones stay on the caller.
    /// </summary>
    private const long ElementwiseWeight = 16;

    private unsafe struct AdamArguments
    {
        public float* Parameters;
        public float* Gradients;
        public float* M;
        public float* V;
        public float Beta1;
        public float Beta2;
        public float StepSize;
        public float Epsilon;
        public float Decay;
    }

    private static unsafe void AdamRange(void* context, int from, int to)
    {
        var x = (AdamArguments*)context;
        var length = to - from;
        AdamPass(
            new Span<float>(x->Parameters + from, length), new ReadOnlySpan<float>(x->Gradients + from, length),
            new Span<float>(x->M + from, length), new Span<float>(x->V + from, length),
            x->Beta1, x->Beta2, x->StepSize, x->Epsilon, x->Decay);
    }

    private static void AdamPass(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float beta1, float beta2, float stepSize, float epsilon, float decay)
    {
        var loop = new AdamLoop(parameters, gradients, m, v, beta1, beta2, stepSize, epsilon, decay);
        SimdWidth.Run(ref loop);
    }

    /// <summary>The whole update at one width: whole vectors, then the rest one lane at a time through the same body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Momentum<TVector, TSimd>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum, bool nesterov)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var done = MomentumFrom<TVector, TSimd>(parameters, gradients, velocity, learningRate, momentum, nesterov, 0);
        MomentumFrom<float, Simd1>(parameters, gradients, velocity, learningRate, momentum, nesterov, done);
    }

    /// <summary>Whole vectors from <paramref name="start"/> on; returns the first element left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MomentumFrom<TVector, TSimd>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum, bool nesterov, int start)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var p = ref MemoryMarshal.GetReference(parameters);
        ref var g = ref MemoryMarshal.GetReference(gradients);
        ref var s = ref MemoryMarshal.GetReference(velocity);
        var mu = TSimd.Broadcast(momentum);
        var eta = TSimd.Broadcast(learningRate);
        var (stateFloor, gradientFloor) = (TSimd.Broadcast(StateFloor), TSimd.Broadcast(GradientFloor));
        var i = start;
        for (; i + TSimd.Count <= parameters.Length; i += TSimd.Count)
        {
            var offset = (nuint)i;
            var step = TSimd.Multiply(eta, TSimd.FlushBelow(TSimd.Load(ref g, offset), gradientFloor));
            var v = TSimd.FlushBelow(TSimd.Subtract(TSimd.Multiply(mu, TSimd.Load(ref s, offset)), step), stateFloor);
            TSimd.Store(v, ref s, offset);
            var change = nesterov ? TSimd.Subtract(TSimd.Multiply(mu, v), step) : v;
            TSimd.Store(TSimd.Add(TSimd.Load(ref p, offset), change), ref p, offset);
        }

        return i;
    }

    /// <summary>The whole update at one width: whole vectors, then the rest one lane at a time through the same body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RmsProp<TVector, TSimd>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, float learningRate, float rho, float epsilon)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var done = RmsPropFrom<TVector, TSimd>(parameters, gradients, meanSquare, learningRate, rho, epsilon, 0);
        RmsPropFrom<float, Simd1>(parameters, gradients, meanSquare, learningRate, rho, epsilon, done);
    }

    /// <summary>Whole vectors from <paramref name="start"/> on; returns the first element left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RmsPropFrom<TVector, TSimd>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, float learningRate, float rho, float epsilon, int start)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var p = ref MemoryMarshal.GetReference(parameters);
        ref var g = ref MemoryMarshal.GetReference(gradients);
        ref var s = ref MemoryMarshal.GetReference(meanSquare);
        var r = TSimd.Broadcast(rho);
        var oneMinusR = TSimd.Broadcast(1f - rho);
        var eta = TSimd.Broadcast(learningRate);
        var eps = TSimd.Broadcast(epsilon);
        var (stateFloor, gradientFloor) = (TSimd.Broadcast(StateFloor), TSimd.Broadcast(GradientFloor));
        var i = start;
        for (; i + TSimd.Count <= parameters.Length; i += TSimd.Count)
        {
            var offset = (nuint)i;
            var gradient = TSimd.FlushBelow(TSimd.Load(ref g, offset), gradientFloor);
            var square = TSimd.FlushBelow(TSimd.Add(TSimd.Multiply(r, TSimd.Load(ref s, offset)), TSimd.Multiply(oneMinusR, TSimd.Multiply(gradient, gradient))), stateFloor);
            TSimd.Store(square, ref s, offset);
            var change = TSimd.Divide(TSimd.Multiply(eta, gradient), TSimd.Sqrt(TSimd.Add(square, eps)));
            TSimd.Store(TSimd.Subtract(TSimd.Load(ref p, offset), change), ref p, offset);
        }

        return i;
    }

    /// <summary>The whole update at one width: whole vectors, then the rest one lane at a time through the same body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Adam<TVector, TSimd>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float beta1, float beta2, float stepSize, float epsilon, float decay)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        var done = AdamFrom<TVector, TSimd>(parameters, gradients, m, v, beta1, beta2, stepSize, epsilon, decay, 0);
        AdamFrom<float, Simd1>(parameters, gradients, m, v, beta1, beta2, stepSize, epsilon, decay, done);
    }

    /// <summary>Whole vectors from <paramref name="start"/> on; returns the first element left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AdamFrom<TVector, TSimd>(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float beta1, float beta2, float stepSize, float epsilon, float decay, int start)
        where TVector : struct
        where TSimd : ISimd<TVector>
    {
        ref var p = ref MemoryMarshal.GetReference(parameters);
        ref var g = ref MemoryMarshal.GetReference(gradients);
        ref var rm = ref MemoryMarshal.GetReference(m);
        ref var rv = ref MemoryMarshal.GetReference(v);
        var b1 = TSimd.Broadcast(beta1);
        var oneMinusB1 = TSimd.Broadcast(1f - beta1);
        var b2 = TSimd.Broadcast(beta2);
        var oneMinusB2 = TSimd.Broadcast(1f - beta2);
        var alpha = TSimd.Broadcast(stepSize);
        var eps = TSimd.Broadcast(epsilon);
        var keep = TSimd.Broadcast(1f - decay);
        var (stateFloor, gradientFloor) = (TSimd.Broadcast(StateFloor), TSimd.Broadcast(GradientFloor));
        var i = start;
        for (; i + TSimd.Count <= parameters.Length; i += TSimd.Count)
        {
            var offset = (nuint)i;
            var gradient = TSimd.FlushBelow(TSimd.Load(ref g, offset), gradientFloor);
            var first = TSimd.FlushBelow(TSimd.Add(TSimd.Multiply(b1, TSimd.Load(ref rm, offset)), TSimd.Multiply(oneMinusB1, gradient)), stateFloor);
            var second = TSimd.FlushBelow(TSimd.Add(TSimd.Multiply(b2, TSimd.Load(ref rv, offset)), TSimd.Multiply(oneMinusB2, TSimd.Multiply(gradient, gradient))), stateFloor);
            TSimd.Store(first, ref rm, offset);
            TSimd.Store(second, ref rv, offset);
            var change = TSimd.Divide(TSimd.Multiply(alpha, first), TSimd.Add(TSimd.Sqrt(second), eps));
            TSimd.Store(TSimd.Subtract(TSimd.Multiply(keep, TSimd.Load(ref p, offset)), change), ref p, offset);
        }

        return i;
    }

    private readonly ref struct MomentumLoop(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> velocity, float learningRate, float momentum, bool nesterov) : IVectorLoop
    {
        private readonly Span<float> _parameters = parameters;
        private readonly ReadOnlySpan<float> _gradients = gradients;
        private readonly Span<float> _velocity = velocity;

        public void Run<TVector, TSimd>()
            where TVector : struct
            where TSimd : ISimd<TVector> => Momentum<TVector, TSimd>(_parameters, _gradients, _velocity, learningRate, momentum, nesterov);
    }

    private readonly ref struct RmsPropLoop(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> meanSquare, float learningRate, float rho, float epsilon) : IVectorLoop
    {
        private readonly Span<float> _parameters = parameters;
        private readonly ReadOnlySpan<float> _gradients = gradients;
        private readonly Span<float> _meanSquare = meanSquare;

        public void Run<TVector, TSimd>()
            where TVector : struct
            where TSimd : ISimd<TVector> => RmsProp<TVector, TSimd>(_parameters, _gradients, _meanSquare, learningRate, rho, epsilon);
    }

    private readonly ref struct AdamLoop(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float beta1, float beta2, float stepSize, float epsilon, float decay) : IVectorLoop
    {
        private readonly Span<float> _parameters = parameters;
        private readonly ReadOnlySpan<float> _gradients = gradients;
        private readonly Span<float> _m = m;
        private readonly Span<float> _v = v;

        public void Run<TVector, TSimd>()
            where TVector : struct
            where TSimd : ISimd<TVector> => Adam<TVector, TSimd>(_parameters, _gradients, _m, _v, beta1, beta2, stepSize, epsilon, decay);
    }
}
