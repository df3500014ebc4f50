using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Proves every generated backward pass: for each activation and each of the three dense strategies, and for each loss, models of random shapes are
/// generated, compiled and loaded, and their gradients compared with finite differences. The forward pass is
/// checked first against a plain double-precision reference, so the gradients are checked against the right function.
/// </summary>
public class GradientCheckTests(ITestOutputHelper output)
{
    private const int ShapeSeed = 20261128;

    private static readonly CompiledModels<RandomModel> Models = new("RandomModels", DescribeRandomModels, m => m.Name, m => m.Declaration);

    public static TheoryData<string> ModelNames() => Models.Names();

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Forward_matches_a_scalar_reference(string name)
    {
        var (model, description) = Create(name, seed: 7);
        var random = new Random(StableHash(name) ^ 1);
        var batch = random.Next(1, 6);
        var inputs = RandomArray(random, batch * description.InputSize, -1, 1);

        var outputs = new float[batch * description.OutputSize];
        model.PredictBatch(inputs, outputs);

        var expected = description.Reference(model.Parameters.ToArray(), model.State.ToArray(), inputs, batch);
        for (var i = 0; i < outputs.Length; i++)
        {
            Assert.True(Math.Abs(outputs[i] - expected[i]) <= 1e-4 + (1e-4 * Math.Abs(expected[i])), $"output {i}: {outputs[i]} vs reference {expected[i]}");
        }

        var single = new float[description.OutputSize];
        model.Predict(inputs.AsSpan(0, description.InputSize), single);
        for (var i = 0; i < single.Length; i++)
        {
            // Vectorized and scalar transcendental functions may differ in the last bits.
            Assert.Equal(outputs[i], single[i], 1e-6f);
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Backward_matches_finite_differences(string name)
    {
        for (var batch = 1; batch <= 5; batch += 2)
        {
            CheckBackward(name, batch);
        }
    }

    private void CheckBackward(string name, int batch)
    {
        var (model, description) = Create(name, seed: 11 + batch);
        var random = new Random(StableHash(name) + batch);
        var inputs = RandomArray(random, batch * description.InputSize, -1, 1);
        var targets = description.Targets(random, batch);

        GradientChecker.MoveToGenericPoint(model, seed: batch);

        const float step = 1e-3f;
        var (compared, kinks) = GradientChecker.Check(model, inputs, targets, seed: 3, step);

        output.WriteLine($"{description.Declaration}: batch {batch}, {compared} gradients compared, {kinks} skipped at ReLU kinks");
        Assert.True(compared > 0);
        Assert.True(kinks <= compared / 10, $"{kinks} kinks among {compared} coordinates: the check would say little");
        // ReLU and leaky ReLU have kinks at 0, and so has ELU unless α = 1 (its slopes there are α and 1).
        var piecewise = description.Activations.Any(a =>
            a is Activation.Relu or Activation.LeakyRelu || (a == Activation.Elu && !float.IsNaN(description.Alpha) && description.Alpha != 1f));
        if (!piecewise && description.Loss != Loss.MeanAbsoluteError)
        {
            Assert.Equal(0, kinks);
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Input_gradients_match_finite_differences(string name)
    {
        foreach (var batch in new[] { 1, 3 })
        {
            var (model, description) = Create(name, seed: 17 + batch);
            var random = new Random(StableHash(name) + (7 * batch));
            var inputs = RandomArray(random, batch * description.InputSize, -1, 1);
            var targets = description.Targets(random, batch);
            GradientChecker.MoveToGenericPoint(model, seed: batch);

            var (compared, kinks) = GradientChecker.CheckInputs(model, inputs, targets, seed: 5, step: 1e-3f);
            output.WriteLine($"{description.Declaration}: batch {batch}, {compared} input gradients compared, {kinks} skipped at kinks");
            Assert.True(compared > 0);
            Assert.True(kinks <= compared / 10, $"{kinks} kinks among {compared} coordinates: the check would say little");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Clipped_steps_clip_each_samples_own_gradient(string name)
    {
        var (model, description) = Create(name, seed: 23);
        var random = new Random(StableHash(name) + 13);
        var inputs = RandomArray(random, 5 * description.InputSize, -1, 1);
        var targets = description.Targets(random, 5);
        GradientChecker.MoveToGenericPoint(model, seed: 4);
        var clipped = GradientChecker.CheckClipping(model, inputs, targets, description.Declaration);
        output.WriteLine($"{description.Declaration}: {clipped} of 5 samples clipped");
    }

    [Fact]
    public void TrainStep_reports_the_same_loss_as_ComputeLoss_and_overwrites_gradients()
    {
        var (model, description) = Create(DescribeRandomModels()[0].Name, seed: 5);
        var random = new Random(5);
        var inputs = RandomArray(random, 4 * description.InputSize, -1, 1);
        var targets = RandomArray(random, 4 * description.OutputSize, 0, 1);

        var loss = model.TrainStep(inputs, targets);
        var first = model.Gradients.ToArray();
        model.TrainStep(inputs, targets);

        Assert.Equal(model.ComputeLoss(inputs, targets), loss, 6);
        Assert.Equal(first, model.Gradients.ToArray());
    }

    private static (ITrainableModel Model, RandomModel Description) Create(string name, int seed) => Models.Create(name, seed);

    /// <summary>A per-name seed that, unlike <see cref="string.GetHashCode()"/>, is the same in every process.</summary>
    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash;
    }

    internal static float[] RandomArray(Random random, int length, float low, float high) =>
        Enumerable.Range(0, length).Select(_ => low + ((high - low) * random.NextSingle())).ToArray();

    /// <summary>
    /// For each activation: a model of tiny (unrolled) layers, one of GEMM layers, and one mixing all three strategies;
    /// sizes drawn from a fixed seed so a failure can be reproduced.
    /// </summary>
    private static List<RandomModel> DescribeRandomModels()
    {
        var random = new Random(ShapeSeed);
        var models = new List<RandomModel>();
        foreach (var activation in Enum.GetValues<Activation>())
        {
            // Unrolled: every layer has at most 16 weights.
            var inputs = random.Next(1, 4);
            var hidden = random.Next(1, (16 / inputs) + 1);
            hidden = Math.Min(hidden, 4);
            var outputs = random.Next(1, Math.Min(4, 16 / hidden) + 1);
            models.Add(new RandomModel($"Unrolled{activation}", inputs, [(hidden, activation), (outputs, activation)]));

            // GEMM (at least 16 inputs per layer): odd sizes around the vector widths, so remainders are exercised.
            models.Add(new RandomModel(
                $"Gemm{activation}",
                random.Next(16, 40),
                [(random.Next(17, 40), activation), (random.Next(17, 33), activation), (random.Next(1, 6), Activation.Linear)]));

            // Mixed: an unrolled layer, then vector loops (fewer than 16 inputs), then GEMM.
            models.Add(new RandomModel(
                $"Mixed{activation}",
                2,
                [(random.Next(2, 5), activation), (random.Next(17, 30), activation), (random.Next(1, 4), activation)]));
        }

        // Every other loss, on a GEMM model and a mixed one, with smooth hidden activations and a linear last layer
        // (the cross-entropy losses apply softmax or the sigmoid themselves).
        foreach (var loss in new[] { Loss.SoftmaxCrossEntropy, Loss.BinaryCrossEntropy, Loss.MeanAbsoluteError, Loss.Huber })
        {
            var minimumOutputs = loss == Loss.SoftmaxCrossEntropy ? 2 : 1;
            models.Add(new RandomModel(
                $"Gemm{loss}",
                random.Next(16, 40),
                [(random.Next(17, 40), Activation.Tanh), (random.Next(minimumOutputs, 12), Activation.Linear)],
                loss));
            models.Add(new RandomModel(
                $"Mixed{loss}",
                3,
                [(random.Next(2, 5), Activation.Sigmoid), (random.Next(17, 30), Activation.Tanh), (random.Next(minimumOutputs, 5), Activation.Linear)],
                loss));
        }

        // Leaky ReLU and ELU with a declared α rather than the default.
        models.Add(new RandomModel("GemmLeakyReluAlpha", random.Next(16, 30), [(random.Next(17, 30), Activation.LeakyRelu), (3, Activation.Linear)]) { Alpha = 0.2f });
        models.Add(new RandomModel("MixedEluAlpha", 3, [(4, Activation.Elu), (random.Next(17, 30), Activation.Elu), (2, Activation.Linear)]) { Alpha = 0.5f });

        // Layer normalization: on the input, between hidden layers (with dropout after it), before the output.
        models.Add(new RandomModel("InputLayerNorm", random.Next(16, 30), [(random.Next(17, 30), Activation.Tanh), (3, Activation.Linear)]) { NormBefore = 0 });
        models.Add(new RandomModel("GemmLayerNorm", random.Next(16, 30), [(random.Next(17, 30), Activation.Relu), (random.Next(17, 30), Activation.Gelu), (4, Activation.Linear)], Loss.SoftmaxCrossEntropy)
        {
            NormBefore = 1,
            DropoutBefore = 2,
            DropoutRate = 0.2f,
        });
        models.Add(new RandomModel("MixedLayerNorm", 3, [(4, Activation.Sigmoid), (random.Next(17, 30), Activation.Tanh), (2, Activation.Linear)]) { NormBefore = 2, Epsilon = 0.01f });

        // Batch normalization: on the input, and between hidden layers of a classifier.
        models.Add(new RandomModel("InputBatchNorm", random.Next(16, 30), [(random.Next(17, 30), Activation.Tanh), (3, Activation.Linear)]) { BatchNormBefore = 0 });
        models.Add(new RandomModel("MixedBatchNorm", 3, [(4, Activation.Sigmoid), (random.Next(17, 30), Activation.Tanh), (3, Activation.Linear)], Loss.SoftmaxCrossEntropy) { BatchNormBefore = 1 });

        // Dropout: between hidden layers, on the input itself, and before a softmax output.
        models.Add(new RandomModel("GemmDropout", random.Next(16, 30), [(random.Next(17, 40), Activation.Tanh), (random.Next(17, 30), Activation.Sigmoid), (3, Activation.Linear)])
        {
            DropoutBefore = 1,
            DropoutRate = 0.3f,
        });
        models.Add(new RandomModel("InputDropout", random.Next(16, 30), [(random.Next(17, 30), Activation.Tanh), (2, Activation.Linear)])
        {
            DropoutBefore = 0,
            DropoutRate = 0.25f,
        });
        models.Add(new RandomModel("MixedDropoutSoftmax", 3, [(4, Activation.Tanh), (random.Next(17, 30), Activation.Tanh), (4, Activation.Linear)], Loss.SoftmaxCrossEntropy)
        {
            DropoutBefore = 2,
            DropoutRate = 0.5f,
        });

        // ReLU layers with dropout between (the Fashion MLP's pattern), whose input gradients fuse the backward of the
        // dropout and of the ReLU below them: dropout after the first ReLU layer, and after the second.
        models.Add(new RandomModel("GemmReluDropout", random.Next(16, 30), [(random.Next(17, 40), Activation.Relu), (random.Next(17, 30), Activation.Relu), (4, Activation.Linear)], Loss.SoftmaxCrossEntropy)
        {
            DropoutBefore = 1,
            DropoutRate = 0.2f,
        });
        models.Add(new RandomModel("GemmReluDropoutLast", random.Next(16, 30), [(random.Next(17, 40), Activation.Relu), (random.Next(17, 30), Activation.Relu), (3, Activation.Linear)])
        {
            DropoutBefore = 2,
            DropoutRate = 0.3f,
        });

        // Dropout as the model's last layer: outside training its output must still be its own (predictions are read there).
        models.Add(new RandomModel("GemmOutputDropout", random.Next(16, 30), [(random.Next(17, 40), Activation.Relu), (4, Activation.Linear)])
        {
            DropoutBefore = 2,
            DropoutRate = 0.2f,
        });

        return models;
    }

    internal sealed record RandomModel(string Name, int InputSize, (int Units, Activation Activation)[] Layers, Loss Loss = Loss.MeanSquaredError)
    {
        /// <summary>The dense layer a <c>[Dropout]</c> goes before (its index in <see cref="Layers"/>; their count for after the last), or −1 for none.</summary>
        public int DropoutBefore { get; init; } = -1;

        public float DropoutRate { get; init; }

        /// <summary>The dense layer a <c>[LayerNorm]</c> goes before (after any dropout there), or −1 for none.</summary>
        public int NormBefore { get; init; } = -1;

        /// <summary>The dense layer a <c>[BatchNorm]</c> goes before (after any layer norm there), or −1 for none.</summary>
        public int BatchNormBefore { get; init; } = -1;

        /// <summary>The layer normalization's ε.</summary>
        public float Epsilon { get; init; } = 1e-5f;

        /// <summary>α declared on every leaky ReLU and ELU layer, or NaN for the defaults (0.01 and 1).</summary>
        public float Alpha { get; init; } = float.NaN;

        public int OutputSize => Layers[^1].Units;

        /// <summary>Floats per sample's target: one class index for softmax cross-entropy (it accepts both forms), else one per output.</summary>
        public int TargetSize(int batch) => Loss == Loss.SoftmaxCrossEntropy && batch % 2 == 1 ? 1 : OutputSize;

        /// <summary>Targets the loss accepts: class indices or probability rows for softmax cross-entropy, values in (0, 1) otherwise.</summary>
        public float[] Targets(Random random, int batch)
        {
            if (Loss != Loss.SoftmaxCrossEntropy)
            {
                return RandomArray(random, batch * OutputSize, 0.05f, 0.95f);
            }

            if (TargetSize(batch) == 1)
            {
                return Enumerable.Range(0, batch).Select(_ => (float)random.Next(OutputSize)).ToArray();
            }

            // Soft labels: each row a probability distribution.
            var targets = RandomArray(random, batch * OutputSize, 0.05f, 1f);
            for (var n = 0; n < batch; n++)
            {
                var row = targets.AsSpan(n * OutputSize, OutputSize);
                var sum = 0f;
                foreach (var value in row)
                {
                    sum += value;
                }

                for (var i = 0; i < row.Length; i++)
                {
                    row[i] /= sum;
                }
            }

            return targets;
        }

        public IEnumerable<Activation> Activations => Layers.Select(l => l.Activation);

        public string Declaration =>
            $"[Model(Loss = Loss.{Loss}{(Loss == Loss.Huber ? ", HuberDelta = 0.25f" : string.Empty)})] [Input({InputSize})] " +
            string.Concat(Layers.Select((l, i) =>
                (i == DropoutBefore ? $"[Dropout({DropoutRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}f)] " : string.Empty) +
                (i == NormBefore ? $"[LayerNorm(Epsilon = {Epsilon.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}f)] " : string.Empty) +
                (i == BatchNormBefore ? "[BatchNorm] " : string.Empty) +
                $"[Dense({l.Units}, Activation.{l.Activation}{AlphaArgument(l.Activation)})] ")) +
            (DropoutBefore == Layers.Length ? $"[Dropout({DropoutRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}f)] " : string.Empty) +
            $"public partial class {Name};";

        /// <summary>The forward pass in doubles, reading the documented layout: each tensor 64-byte aligned, W row-major [units × inputs].</summary>
        public float[] Reference(float[] parameters, float[] state, float[] inputs, int batch)
        {
            var result = new float[batch * OutputSize];
            for (var n = 0; n < batch; n++)
            {
                var x = inputs.Skip(n * InputSize).Take(InputSize).Select(v => (double)v).ToArray();
                var offset = 0;
                var stateOffset = 0;
                var index = 0;
                foreach (var (units, activation) in Layers)
                {
                    if (index++ == NormBefore)
                    {
                        // (x − μ) / √(σ² + ε)·γ + β, with γ and β the next two tensors.
                        var gamma = offset;
                        var beta = Align(gamma + x.Length);
                        offset = Align(beta + x.Length);
                        var mean = x.Average();
                        var variance = x.Average(v => (v - mean) * (v - mean));
                        var scale = 1 / Math.Sqrt(variance + Epsilon);
                        x = x.Select((v, i) => ((v - mean) * scale * parameters[gamma + i]) + parameters[beta + i]).ToArray();
                    }

                    if (index - 1 == BatchNormBefore)
                    {
                        // Inference: the running statistics (in the state: mean, variance, then scratch), ε = 1e-3.
                        var gamma = offset;
                        var beta = Align(gamma + x.Length);
                        offset = Align(beta + x.Length);
                        var runningMean = stateOffset;
                        var runningVariance = Align(runningMean + x.Length);
                        stateOffset = Align(Align(runningVariance + x.Length) + x.Length);
                        x = x.Select((v, i) => ((v - state[runningMean + i]) / Math.Sqrt(state[runningVariance + i] + 1e-3) * parameters[gamma + i]) + parameters[beta + i]).ToArray();
                    }

                    var weights = offset;
                    var bias = Align(weights + (units * x.Length));
                    offset = Align(bias + units);
                    var y = new double[units];
                    for (var o = 0; o < units; o++)
                    {
                        var z = (double)parameters[bias + o];
                        for (var i = 0; i < x.Length; i++)
                        {
                            z += parameters[weights + (i * units) + o] * x[i];
                        }

                        y[o] = activation switch
                        {
                            Activation.Relu => Math.Max(0, z),
                            Activation.Sigmoid => 1 / (1 + Math.Exp(-z)),
                            Activation.Tanh => Math.Tanh(z),
                            Activation.LeakyRelu => z > 0 ? z : (float.IsNaN(Alpha) ? 0.01f : Alpha) * z,
                            Activation.Elu => z > 0 ? z : (float.IsNaN(Alpha) ? 1f : Alpha) * (Math.Exp(z) - 1),
                            Activation.Gelu => 0.5 * z * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (z + (0.044715 * z * z * z)))),
                            Activation.Silu => z / (1 + Math.Exp(-z)),
                            _ => z,
                        };
                    }

                    x = y;
                }

                if (Loss == Loss.SoftmaxCrossEntropy)
                {
                    var max = x.Max();
                    var total = x.Sum(v => Math.Exp(v - max));
                    x = x.Select(v => Math.Exp(v - max) / total).ToArray();
                }
                else if (Loss == Loss.BinaryCrossEntropy)
                {
                    x = x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();
                }

                for (var o = 0; o < OutputSize; o++)
                {
                    result[(n * OutputSize) + o] = (float)x[o];
                }
            }

            return result;
        }

        private static int Align(int offset) => (offset + 15) / 16 * 16;

        private string AlphaArgument(Activation activation) =>
            activation is Activation.LeakyRelu or Activation.Elu && !float.IsNaN(Alpha)
                ? $", Alpha = {Alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}f"
                : string.Empty;
    }
}
