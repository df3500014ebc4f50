using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels;

/// <summary>
/// Element-by-element passes over a batch's values (a residual sum, an activation layer and its derivative), split
/// over the kernel threads in parts of a fixed length. Each value is computed alone, so the result is the same
/// whichever thread computes it and however many there are.
/// </summary>
public static unsafe class Elementwise
{
    /// <summary>Values per part: 16 Ki floats, 64 KiB, enough to amortize handing a part to a helper.</summary>
    private const int PartLength = 1 << 14;

    private enum Operation
    {
        Add,
        Apply,
        ApplyDerivative,
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Job
    {
        public float* X;
        public float* Y;
        public float* Z;
        public int Length;
        public Operation Operation;
        public Activation Activation;
        public float Alpha;
    }

    /// <summary>z = x + y, element by element (z may be x or y).</summary>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
    {
        Guard.Length(y, x.Length, nameof(y));
        Guard.Length(z, x.Length, nameof(z));
        fixed (float* px = x, py = y, pz = z)
        {
            var job = new Job { X = px, Y = py, Z = pz, Length = x.Length, Operation = Operation.Add };
            Run(&job);
        }
    }

    /// <summary>y = f(x) for each value (<see cref="Activations.Apply"/>), split over the threads.</summary>
    public static void Apply(ReadOnlySpan<float> x, Span<float> y, Activation activation, float alpha = 0f)
    {
        Guard.Length(y, x.Length, nameof(y));
        fixed (float* px = x, py = y)
        {
            var job = new Job { X = px, Y = py, Length = x.Length, Operation = Operation.Apply, Activation = activation, Alpha = alpha };
            Run(&job);
        }
    }

    /// <summary>gradient ⊙= f′ in place (<see cref="Activations.ApplyDerivative"/>), split over the threads; <paramref name="x"/> may be empty where f′ is written from y.</summary>
    public static void ApplyDerivative(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> gradient, Activation activation, float alpha = 0f)
    {
        Guard.Length(gradient, y.Length, nameof(gradient));
        if (!x.IsEmpty)
        {
            Guard.Length(x, y.Length, nameof(x));
        }

        fixed (float* px = x, py = y, pz = gradient)
        {
            var job = new Job { X = px, Y = py, Z = pz, Length = gradient.Length, Operation = Operation.ApplyDerivative, Activation = activation, Alpha = alpha };
            Run(&job);
        }
    }

    private static void Run(Job* job)
    {
        var parts = (job->Length + PartLength - 1) / PartLength;
        WorkSplitter.RunIndependent(&Parts, job, parts, job->Length);
    }

    /// <summary>Parts [<paramref name="from"/>, <paramref name="to"/>) of a job.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Parts(void* context, int from, int to)
    {
        var job = (Job*)context;
        var start = from * PartLength;
        var length = Math.Min(to * PartLength, job->Length) - start;
        switch (job->Operation)
        {
            case Operation.Add:
                Blas.Add(new ReadOnlySpan<float>(job->X + start, length), new ReadOnlySpan<float>(job->Y + start, length), new Span<float>(job->Z + start, length));
                break;
            case Operation.Apply:
                Activations.Apply(new ReadOnlySpan<float>(job->X + start, length), new Span<float>(job->Y + start, length), job->Activation, job->Alpha);
                break;
            default:
                var x = job->X is null ? ReadOnlySpan<float>.Empty : new ReadOnlySpan<float>(job->X + start, length);
                Activations.ApplyDerivative(x, new ReadOnlySpan<float>(job->Y + start, length), new Span<float>(job->Z + start, length), job->Activation, job->Alpha);
                break;
        }
    }
}
