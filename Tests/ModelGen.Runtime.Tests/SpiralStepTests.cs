using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Training steps of a two-spirals classifier (2 inputs, two hidden layers of 20, binary cross-entropy, Adam 10⁻²)
/// held, step after step, to the same step computed in double precision from the same float parameters and optimizer
/// state. CI runs this with AVX-512, AVX2, SSE only and no vector instructions, so every path's forward, loss,
/// backward and update is shown to be the exact step up to float rounding. Whole trainings on different paths still
/// end at different losses (docs/performance.md, "Results across instruction sets"): that is this rounding amplified
/// by training, not a kernel computing something else.
/// </summary>
[Trait("Category", "Kernels")]
public class SpiralStepTests(ITestOutputHelper output)
{
    private const int Batch = 37;       // partial tiles at every width: 8-row, 6-row and 16-row groups all leave a remainder
    private const int Steps = 25;
    private const float LearningRate = 1e-2f;

    public static TheoryData<string> Models() => new() { "relu", "tanh" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_training_step_matches_a_double_precision_step_to_float_rounding(string activation)
    {
        ITrainableModel model = activation == "relu" ? new SpiralRelu(seed: 1) : new SpiralTanh(seed: 1);
        var relu = activation == "relu";
        var (inputs, targets) = TwoSpirals(Batch * 4);
        var adam = new Adam(LearningRate);
        var length = model.Parameters.Length;
        double worstLoss = 0, worstGradient = 0, worstUpdate = 0;

        for (var step = 0; step < Steps; step++)
        {
            var start = (step % 4) * Batch;
            var x = inputs.AsSpan(start * 2, Batch * 2).ToArray();
            var t = targets.AsSpan(start, Batch).ToArray();
            var parameters = model.Parameters.ToArray();

            var loss = model.TrainStep(x, t);
            var reference = DoubleStep(model.ParameterTensors, parameters, x, t, relu);
            Assert.True(reference.NearTies == 0, $"step {step + 1}: a ReLU input lies within float rounding of 0, so the test's data cannot tell paths apart");

            worstLoss = Math.Max(worstLoss, Math.Abs(loss - reference.Loss) / reference.Loss);
            var gradients = model.Gradients;
            foreach (var tensor in model.ParameterTensors)
            {
                // Rounding in a sum is proportional to the sum of its terms' magnitudes, not to the sum itself (whose
                // terms may cancel); and the forward pass's rounding reaches every gradient of the tensor through the
                // loss's σ(z) − t. So each tensor's errors are measured against its largest sum of magnitudes.
                double error = 0, scale = 0;
                for (var i = tensor.Offset; i < tensor.Offset + tensor.Length; i++)
                {
                    error = Math.Max(error, Math.Abs(gradients[i] - reference.Gradient[i]));
                    scale = Math.Max(scale, reference.Magnitude[i]);
                }

                worstGradient = Math.Max(worstGradient, error / scale);
            }

            // Adam from the float state it holds before this step (m and v), the float gradients and the float
            // hyperparameters, in double.
            var m = adam.StateBuffer("m", length).ToArray();
            var v = adam.StateBuffer("v", length).ToArray();
            var gradientCopy = gradients.ToArray();
            adam.Step(model.Parameters, model.Gradients);
            var updated = model.Parameters;
            var n = step + 1;
            var (beta1, beta2, epsilon) = ((double)adam.Beta1, (double)adam.Beta2, (double)adam.Epsilon);
            var alpha = LearningRate * Math.Sqrt(1 - Math.Pow(beta2, n)) / (1 - Math.Pow(beta1, n));
            for (var i = 0; i < length; i++)
            {
                var g = (double)gradientCopy[i];
                var mi = (beta1 * m[i]) + ((1 - beta1) * g);
                var vi = (beta2 * v[i]) + ((1 - beta2) * g * g);
                var change = -alpha * mi / (Math.Sqrt(vi) + epsilon);
                // m's rounding is proportional to its terms' magnitudes (they cancel where g changes sign); 10⁻¹² covers
                // gradients below 2⁻⁵⁵, which the kernel reads as zero (OptimizerKernels.GradientFloor).
                var scale = alpha * ((beta1 * Math.Abs(m[i])) + ((1 - beta1) * Math.Abs(g))) / (Math.Sqrt(vi) + epsilon);
                var exact = parameters[i] + change;
                var ulp = MathF.BitIncrement(MathF.Abs((float)exact)) - MathF.Abs((float)exact);
                worstUpdate = Math.Max(worstUpdate, Math.Abs(updated[i] - exact) / (ulp + (1e-6 * scale) + 1e-12));
            }
        }

        output.WriteLine($"{activation}: loss {worstLoss:E2}, gradient {worstGradient:E2} of its tensor's largest sum of magnitudes, update {worstUpdate:F2} × (ulp(θ) + 10⁻⁶ of its terms' magnitudes)");
        Assert.True(worstLoss < 1e-6, $"loss off by {worstLoss:E2} of itself");
        Assert.True(worstGradient < 1e-5, $"a gradient off by {worstGradient:E2} of its tensor's largest sum of magnitudes");
        Assert.True(worstUpdate < 2, $"an Adam update off by {worstUpdate:F2} × (ulp(θ) + 10⁻⁶ of its terms' magnitudes)");
    }

    /// <summary>Two interleaved spirals of 1.5 turns in the unit disc, with a little seeded noise; classes 0 and 1 alternate.</summary>
    private static (float[] Inputs, float[] Targets) TwoSpirals(int count)
    {
        var random = new Random(1234);
        var inputs = new float[count * 2];
        var targets = new float[count];
        for (var k = 0; k < count; k++)
        {
            var (i, c) = (k / 2, k % 2);
            var angle = 0.25 + (3 * Math.PI * i / (count / 2));
            var radius = angle / (3 * Math.PI);
            inputs[2 * k] = (float)((radius * Math.Cos(angle + (c * Math.PI))) + (0.02 * (random.NextDouble() - 0.5)));
            inputs[(2 * k) + 1] = (float)((radius * Math.Sin(angle + (c * Math.PI))) + (0.02 * (random.NextDouble() - 0.5)));
            targets[k] = c;
        }

        return (inputs, targets);
    }

    private sealed record Reference(double Loss, double[] Gradient, double[] Magnitude, int NearTies);

    /// <summary>
    /// Forward, sigmoid cross-entropy and backward of a stack of dense layers in double, from float parameters laid
    /// out as the model's (W [inputs × units] row-major, then b). Also each gradient's sum of its terms' magnitudes
    /// (the same backward over absolute values), and how many ReLU inputs lie within 4·10⁻⁶ of their terms' magnitude
    /// of zero, where float rounding (at most about 21 roundings of 2⁻²⁴ each here) may take the other side.
    /// </summary>
    private static Reference DoubleStep(IReadOnlyList<ParameterTensor> tensors, float[] parameters, float[] inputs, float[] targets, bool relu)
    {
        var layers = new List<(int Weights, int Bias, int Inputs, int Units)>();
        for (var t = 0; t < tensors.Count; t += 2)
        {
            layers.Add((tensors[t].Offset, tensors[t + 1].Offset, tensors[t].Shape[1], tensors[t].Shape[0]));
        }

        var batch = targets.Length;
        var nearTies = 0;
        var activations = new List<double[]> { inputs.Select(v => (double)v).ToArray() };
        for (var l = 0; l < layers.Count; l++)
        {
            var (w, b, inCount, units) = layers[l];
            var a = activations[l];
            var y = new double[batch * units];
            var hidden = l < layers.Count - 1;
            for (var n = 0; n < batch; n++)
            {
                for (var u = 0; u < units; u++)
                {
                    double z = parameters[b + u], scale = Math.Abs(parameters[b + u]);
                    for (var i = 0; i < inCount; i++)
                    {
                        z += a[(n * inCount) + i] * parameters[w + (i * units) + u];
                        scale += Math.Abs(a[(n * inCount) + i] * parameters[w + (i * units) + u]);
                    }

                    nearTies += hidden && relu && Math.Abs(z) < 4e-6 * scale ? 1 : 0;
                    y[(n * units) + u] = !hidden ? z : relu ? Math.Max(z, 0) : Math.Tanh(z);
                }
            }

            activations.Add(y);
        }

        var logits = activations[^1];
        var loss = 0.0;
        var delta = new double[batch];
        for (var n = 0; n < batch; n++)
        {
            var (z, t) = (logits[n], (double)targets[n]);
            loss += Math.Max(z, 0) - (z * t) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            delta[n] = ((1 / (1 + Math.Exp(-z))) - t) / batch;
        }

        var gradient = new double[parameters.Length];
        var magnitude = new double[parameters.Length];
        var deltaMagnitude = delta.Select(Math.Abs).ToArray();
        for (var l = layers.Count - 1; l >= 0; l--)
        {
            var (w, b, inCount, units) = layers[l];
            var a = activations[l];
            if (l < layers.Count - 1)
            {
                var y = activations[l + 1];
                for (var j = 0; j < delta.Length; j++)
                {
                    var derivative = relu ? (y[j] > 0 ? 1 : 0) : 1 - (y[j] * y[j]);
                    delta[j] *= derivative;
                    deltaMagnitude[j] *= derivative;
                }
            }

            var below = new double[batch * inCount];
            var belowMagnitude = new double[batch * inCount];
            for (var n = 0; n < batch; n++)
            {
                for (var u = 0; u < units; u++)
                {
                    var (d, dm) = (delta[(n * units) + u], deltaMagnitude[(n * units) + u]);
                    gradient[b + u] += d;
                    magnitude[b + u] += dm;
                    for (var i = 0; i < inCount; i++)
                    {
                        var (ai, wi) = (a[(n * inCount) + i], (double)parameters[w + (i * units) + u]);
                        gradient[w + (i * units) + u] += ai * d;
                        magnitude[w + (i * units) + u] += Math.Abs(ai) * dm;
                        below[(n * inCount) + i] += d * wi;
                        belowMagnitude[(n * inCount) + i] += dm * Math.Abs(wi);
                    }
                }
            }

            (delta, deltaMagnitude) = (below, belowMagnitude);
        }

        return new Reference(loss / batch, gradient, magnitude, nearTies);
    }
}
