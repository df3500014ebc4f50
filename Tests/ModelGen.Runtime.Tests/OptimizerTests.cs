using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Each optimizer against its published update rule, computed here in double precision over several steps, on
/// lengths that leave every vector remainder; each vector width against the scalar loop, bit for bit.
/// </summary>
[Trait("Category", "Kernels")]
public class OptimizerTests
{
    public static IEnumerable<object[]> Lengths() => new[] { 0, 1, 3, 4, 7, 8, 15, 16, 17, 33, 64, 67 }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Sgd_with_momentum_follows_its_formula(int length)
    {
        foreach (var nesterov in new[] { false, true })
        {
            const double eta = 0.1, mu = 0.9;
            var velocity = new double[length];
            Check(length, new Sgd(0.1f, momentum: 0.9f, nesterov: nesterov), (theta, g, _) =>
            {
                for (var i = 0; i < length; i++)
                {
                    velocity[i] = (mu * velocity[i]) - (eta * g[i]);
                    theta[i] += nesterov ? (mu * velocity[i]) - (eta * g[i]) : velocity[i];
                }
            });
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void RmsProp_follows_its_formula(int length)
    {
        const double eta = 0.01, rho = 0.9, epsilon = 1e-7;
        var meanSquare = new double[length];
        Check(length, new RmsProp(0.01f), (theta, g, _) =>
        {
            for (var i = 0; i < length; i++)
            {
                meanSquare[i] = (rho * meanSquare[i]) + ((1 - rho) * g[i] * g[i]);
                theta[i] -= eta * g[i] / Math.Sqrt(meanSquare[i] + epsilon);
            }
        });
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Adam_and_AdamW_follow_their_formulas(int length)
    {
        foreach (var weightDecay in new[] { 0.0, 0.05 })
        {
            const double eta = 0.01, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;
            var m = new double[length];
            var v = new double[length];
            Optimizer optimizer = weightDecay == 0 ? new Adam(0.01f) : new AdamW(0.01f, weightDecay: 0.05f);
            Check(length, optimizer, (theta, g, t) =>
            {
                var alpha = eta * Math.Sqrt(1 - Math.Pow(beta2, t)) / (1 - Math.Pow(beta1, t));
                for (var i = 0; i < length; i++)
                {
                    theta[i] -= eta * weightDecay * theta[i];
                    m[i] = (beta1 * m[i]) + ((1 - beta1) * g[i]);
                    v[i] = (beta2 * v[i]) + ((1 - beta2) * g[i] * g[i]);
                    theta[i] -= alpha * m[i] / (Math.Sqrt(v[i]) + epsilon);
                }
            });
        }
    }

    [Fact]
    public void Adams_first_step_moves_each_parameter_by_the_learning_rate()
    {
        // With bias correction, step 1 is η·g / (|g| + ε'): a move of η against the gradient's sign.
        float[] parameters = [1f, 1f, 1f];
        float[] gradients = [0.5f, -3f, 1e-2f];
        new Adam(0.01f).Step(parameters, gradients);

        Assert.Equal(0.99f, parameters[0], 1e-5f);
        Assert.Equal(1.01f, parameters[1], 1e-5f);
        Assert.Equal(0.99f, parameters[2], 1e-4f);
    }

    // The update rules as plain scalar loops, with the optimizers' flushes (OptimizerKernels' remarks): what every width
    // of the kernels must reproduce bit for bit.
    private static float Flush(float value, float floor) => MathF.Abs(value) < floor ? 0f : value;

    private static void MomentumReference(float[] parameters, float[] gradients, float[] velocity, float learningRate, float momentum, bool nesterov)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            var step = learningRate * Flush(gradients[i], OptimizerKernels.GradientFloor);
            var v = Flush((momentum * velocity[i]) - step, OptimizerKernels.StateFloor);
            velocity[i] = v;
            parameters[i] += nesterov ? (momentum * v) - step : v;
        }
    }

    private static void RmsPropReference(float[] parameters, float[] gradients, float[] meanSquare, float learningRate, float rho, float epsilon)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            var gradient = Flush(gradients[i], OptimizerKernels.GradientFloor);
            var square = Flush((rho * meanSquare[i]) + ((1f - rho) * (gradient * gradient)), OptimizerKernels.StateFloor);
            meanSquare[i] = square;
            parameters[i] -= learningRate * gradient / MathF.Sqrt(square + epsilon);
        }
    }

    private static void AdamReference(float[] parameters, float[] gradients, float[] m, float[] v, float beta1, float beta2, float stepSize, float epsilon, float decay)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            var gradient = Flush(gradients[i], OptimizerKernels.GradientFloor);
            var first = Flush((beta1 * m[i]) + ((1f - beta1) * gradient), OptimizerKernels.StateFloor);
            var second = Flush((beta2 * v[i]) + ((1f - beta2) * (gradient * gradient)), OptimizerKernels.StateFloor);
            m[i] = first;
            v[i] = second;
            parameters[i] = ((1f - decay) * parameters[i]) - (stepSize * first / (MathF.Sqrt(second) + epsilon));
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(45)]
    [InlineData(3)]
    public void Every_vector_width_equals_the_scalar_loop_bit_for_bit(int length)
    {
        var random = new Random(length);
        float[] Fill() => Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var (parameters, gradients, first, second) = (Fill(), Fill(), Fill().Select(Math.Abs).ToArray(), Fill().Select(Math.Abs).ToArray());

        void Compare(string name, Action<float[], float[], float[]> scalar, IEnumerable<(bool Accelerated, Action<float[], float[], float[]> Vector)> vectors)
        {
            var expected = (parameters.ToArray(), first.ToArray(), second.ToArray());
            scalar(expected.Item1, expected.Item2, expected.Item3);
            foreach (var (accelerated, vector) in vectors)
            {
                if (!accelerated)
                {
                    continue;
                }

                var actual = (parameters.ToArray(), first.ToArray(), second.ToArray());
                vector(actual.Item1, actual.Item2, actual.Item3);
                Assert.True(expected.Item1.SequenceEqual(actual.Item1) && expected.Item2.SequenceEqual(actual.Item2) && expected.Item3.SequenceEqual(actual.Item3), name);
            }
        }

        Compare(
            "Adam",
            (p, m, v) => AdamReference(p, gradients, m, v, 0.9f, 0.999f, 0.01f, 1e-7f, 0.001f),
            [
                (true, (p, m, v) => OptimizerKernels.Adam<float, Simd1>(p, gradients, m, v, 0.9f, 0.999f, 0.01f, 1e-7f, 0.001f)),
                (Vector128.IsHardwareAccelerated, (p, m, v) => OptimizerKernels.Adam<Vector128<float>, Simd128>(p, gradients, m, v, 0.9f, 0.999f, 0.01f, 1e-7f, 0.001f)),
                (Vector256.IsHardwareAccelerated, (p, m, v) => OptimizerKernels.Adam<Vector256<float>, Simd256>(p, gradients, m, v, 0.9f, 0.999f, 0.01f, 1e-7f, 0.001f)),
                (Vector512.IsHardwareAccelerated, (p, m, v) => OptimizerKernels.Adam<Vector512<float>, Simd512>(p, gradients, m, v, 0.9f, 0.999f, 0.01f, 1e-7f, 0.001f)),
            ]);
        Compare(
            "RmsProp",
            (p, s, _) => RmsPropReference(p, gradients, s, 0.01f, 0.9f, 1e-7f),
            [
                (true, (p, s, _) => OptimizerKernels.RmsProp<float, Simd1>(p, gradients, s, 0.01f, 0.9f, 1e-7f)),
                (Vector128.IsHardwareAccelerated, (p, s, _) => OptimizerKernels.RmsProp<Vector128<float>, Simd128>(p, gradients, s, 0.01f, 0.9f, 1e-7f)),
                (Vector256.IsHardwareAccelerated, (p, s, _) => OptimizerKernels.RmsProp<Vector256<float>, Simd256>(p, gradients, s, 0.01f, 0.9f, 1e-7f)),
                (Vector512.IsHardwareAccelerated, (p, s, _) => OptimizerKernels.RmsProp<Vector512<float>, Simd512>(p, gradients, s, 0.01f, 0.9f, 1e-7f)),
            ]);
        Compare(
            "Momentum",
            (p, s, _) => MomentumReference(p, gradients, s, 0.1f, 0.9f, nesterov: true),
            [
                (true, (p, s, _) => OptimizerKernels.Momentum<float, Simd1>(p, gradients, s, 0.1f, 0.9f, true)),
                (Vector128.IsHardwareAccelerated, (p, s, _) => OptimizerKernels.Momentum<Vector128<float>, Simd128>(p, gradients, s, 0.1f, 0.9f, true)),
                (Vector256.IsHardwareAccelerated, (p, s, _) => OptimizerKernels.Momentum<Vector256<float>, Simd256>(p, gradients, s, 0.1f, 0.9f, true)),
                (Vector512.IsHardwareAccelerated, (p, s, _) => OptimizerKernels.Momentum<Vector512<float>, Simd512>(p, gradients, s, 0.1f, 0.9f, true)),
            ]);
    }

    /// <summary>
    /// A parameter whose gradient falls to zero (a weight from an always-blank pixel) sees its state decay
    /// geometrically; it must reach zero without lingering in the subnormal floats, where every operation on it is
    /// a microcode assist (Adam's update was 8× slower after 10,000 steps of the Fashion MLP before this).
    /// </summary>
    [Fact]
    public void Decaying_state_goes_to_zero_without_passing_through_subnormals()
    {
        (string Name, Func<Optimizer> Create)[] optimizers =
        [
            ("velocity", () => new Sgd(0.1f, momentum: 0.9f)),
            ("mean_square", () => new RmsProp(0.01f)),
            ("m", () => new Adam(0.01f)),
            ("v", () => new Adam(0.01f)),
        ];
        foreach (var (state, create) in optimizers)
        {
            var optimizer = create();
            var parameters = new float[37];
            var gradients = Enumerable.Range(0, 37).Select(i => (i + 1) * 1e-3f).ToArray();
            optimizer.Step(parameters, gradients);
            Array.Clear(gradients);
            var reachedZero = false;
            for (var step = 0; step < 100_000 && !reachedZero; step++)
            {
                optimizer.Step(parameters, gradients);
                var values = optimizer.StateBuffer(state, parameters.Length);
                foreach (var value in values)
                {
                    Assert.False(float.IsSubnormal(value), $"{optimizer.GetType().Name} {state} holds the subnormal {value} after {step + 1} steps");
                }

                reachedZero = values.IndexOfAnyExcept(0f) < 0;
            }

            Assert.True(reachedZero, $"{optimizer.GetType().Name} {state} never reached zero");
        }

        // Subnormal gradients are read as zero rather than squared into subnormal state.
        var adam = new Adam(0.01f);
        adam.Step(new float[16], Enumerable.Repeat(1e-40f, 16).ToArray());
        Assert.All(adam.StateBuffer("m", 16).ToArray(), value => Assert.Equal(0f, value));
        Assert.All(adam.StateBuffer("v", 16).ToArray(), value => Assert.Equal(0f, value));
    }

    [Fact]
    public void An_optimizer_refuses_a_second_model_of_another_size()
    {
        var adam = new Adam();
        adam.Step(new float[10], new float[10]);

        var error = Assert.Throws<InvalidOperationException>(() => adam.Step(new float[11], new float[11]));
        Assert.Contains("one optimizer per model", error.Message);
    }

    [Fact]
    public void Invalid_hyperparameters_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1f, momentum: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(rho: float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(weightDecay: -1f));
    }

    [Fact]
    public void Stateful_optimizers_allocate_nothing_after_the_first_step()
    {
        var parameters = new float[100];
        var gradients = Enumerable.Range(0, 100).Select(i => i / 100f).ToArray();
        foreach (var optimizer in new Optimizer[] { new Sgd(0.1f, 0.9f), new RmsProp(), new Adam(), new AdamW() })
        {
            AllocationAssert.NoneAfterWarmUp(() => optimizer.Step(parameters, gradients), warmUp: 1);
        }
    }

    [Fact]
    public void Every_optimizer_trains_a_model()
    {
        foreach (var optimizer in new Optimizer[] { new Sgd(0.1f, 0.9f), new RmsProp(0.003f), new Adam(0.003f), new AdamW(0.003f) })
        {
            var random = new Random(8);
            var features = Enumerable.Range(0, 128 * 20).Select(_ => random.NextSingle()).ToArray();
            var targets = Enumerable.Range(0, 128).SelectMany(n => new[] { features[n * 20] > 0.5f ? 0.9f : 0.1f, 0.5f, features[(n * 20) + 1] }).ToArray();
            var data = new Dataset(features, 20, targets, 3);
            var model = new SmallMlp(seed: 2);
            var before = model.Evaluate(data).Loss;

            model.Fit(data, new FitOptions { Epochs = 20, Optimizer = optimizer, Seed = 1 });

            Assert.True(model.Evaluate(data).Loss < 0.7f * before, $"{optimizer.GetType().Name}: loss {before} → {model.Evaluate(data).Loss}");
        }
    }

    /// <summary>Runs four steps of <paramref name="optimizer"/> and of the double-precision reference on the same random gradients.</summary>
    private static void Check(int length, Optimizer optimizer, Action<double[], double[], int> reference)
    {
        var random = new Random(length + 1);
        var parameters = Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f).ToArray();
        var expected = parameters.Select(p => (double)p).ToArray();
        for (var t = 1; t <= 4; t++)
        {
            var gradients = Enumerable.Range(0, length).Select(_ => (random.NextSingle() - 0.5f) * 2).ToArray();
            optimizer.Step(parameters, gradients);
            reference(expected, gradients.Select(g => (double)g).ToArray(), t);
            for (var i = 0; i < length; i++)
            {
                Assert.True(Math.Abs(expected[i] - parameters[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{optimizer.GetType().Name} step {t}, element {i}: {parameters[i]} vs {expected[i]}");
            }
        }
    }
}
