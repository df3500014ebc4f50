using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Stage 3: lays out the parameter buffer and the workspace, and picks how each layer is computed. All sizes are
/// known here, so every offset becomes a constant in the generated code.
/// </summary>
internal static class Planner
{
    /// <summary>Floats per 64-byte cache line: every tensor starts on one, so vector loads of a row start aligned.</summary>
    public const int Alignment = 16;

    /// <summary>
    /// A dense layer with at most this many weights is written out multiply by multiply: for such sizes a vector
    /// kernel's setup costs more than the arithmetic.
    /// </summary>
    public const int MaxUnrolledWeights = 16;

    /// <summary>
    /// Inputs from which a dense layer runs as GEMM: the kernels vectorize along the input dimension, and below one
    /// AVX-512 vector (16 floats) they would be mostly remainder.
    /// </summary>
    public const int MinGemmInputs = 16;

    public static ModelPlan Plan(CheckedModel model)
    {
        var layers = new List<LayerPlan>();
        var parameterEnd = 0;
        var workspaceEnd = 0;
        var parameterCount = 0;
        var widest = 0;
        var denseIndex = 0;
        var dropoutIndex = 0;
        var normIndex = 0;
        var batchNormIndex = 0;
        var stateEnd = 0;
        foreach (var layer in model.Layers)
        {
            var inputs = layer.Input.Size;
            var position = layers.Count + 1;
            var outputOffset = workspaceEnd;
            workspaceEnd = Align(outputOffset + layer.Output.Size);
            switch (layer.Layer)
            {
                case BatchNormSpec batchNorm:
                    var bnGamma = parameterEnd;
                    var bnBeta = Align(bnGamma + inputs);
                    parameterEnd = Align(bnBeta + inputs);
                    var bnNormalized = workspaceEnd;
                    workspaceEnd = Align(bnNormalized + inputs);
                    var meanOffset = stateEnd;
                    var varianceOffset = Align(meanOffset + inputs);
                    var bnInverse = Align(varianceOffset + inputs);
                    stateEnd = Align(bnInverse + inputs);
                    layers.Add(new BatchNormPlan(
                        position, ++batchNormIndex, inputs, batchNorm.Momentum, batchNorm.Epsilon, bnGamma, bnBeta, outputOffset, bnNormalized,
                        meanOffset, varianceOffset, bnInverse));
                    parameterCount += 2 * inputs;
                    break;
                case LayerNormSpec norm:
                    var gammaOffset = parameterEnd;
                    var betaOffset = Align(gammaOffset + inputs);
                    parameterEnd = Align(betaOffset + inputs);
                    var normalizedOffset = workspaceEnd;
                    var inverseOffset = Align(normalizedOffset + inputs);
                    workspaceEnd = Align(inverseOffset + 1);
                    layers.Add(new LayerNormPlan(position, ++normIndex, inputs, norm.Epsilon, gammaOffset, betaOffset, outputOffset, normalizedOffset, inverseOffset));
                    parameterCount += 2 * inputs;
                    break;
                case DropoutSpec dropout:
                    var maskOffset = workspaceEnd;
                    workspaceEnd = Align(maskOffset + inputs);
                    layers.Add(new DropoutPlan(position, ++dropoutIndex, inputs, dropout.Rate, outputOffset, maskOffset));
                    break;
                default:
                    var dense = (DenseSpec)layer.Layer;
                    var weightsOffset = parameterEnd;
                    var biasOffset = Align(weightsOffset + (dense.Units * inputs));
                    parameterEnd = Align(biasOffset + dense.Units);
                    var strategy = dense.Units * inputs <= MaxUnrolledWeights ? DenseStrategy.Unrolled
                        : inputs < MinGemmInputs ? DenseStrategy.VectorLoops
                        : DenseStrategy.Gemm;
                    var initializer = dense.Initializer != Initializer.Auto ? dense.Initializer
                        : dense.Activation == Activation.Relu ? Initializer.HeUniform
                        : Initializer.GlorotUniform;
                    var alpha = dense.Activation switch
                    {
                        Activation.LeakyRelu => float.IsNaN(dense.Alpha) ? 0.01f : dense.Alpha,
                        Activation.Elu => float.IsNaN(dense.Alpha) ? 1f : dense.Alpha,
                        _ => 0f,
                    };
                    var preActivationOffset = -1;
                    if (dense.Activation is Activation.Gelu or Activation.Silu)
                    {
                        preActivationOffset = workspaceEnd;
                        workspaceEnd = Align(preActivationOffset + dense.Units);
                    }

                    var plan = new DensePlan(
                        position, ++denseIndex, inputs, dense.Units, dense.Activation, weightsOffset, biasOffset, outputOffset, strategy, initializer, alpha, preActivationOffset);
                    layers.Add(plan);
                    parameterCount += plan.ParameterCount;
                    break;
            }

            widest = System.Math.Max(widest, layer.Output.Size);
        }

        // Backward passes the gradient from layer to layer through two buffers used in turn, each as wide as the widest layer.
        var gradientA = workspaceEnd;
        var gradientB = Align(gradientA + widest);
        var workspacePerSample = Align(gradientB + widest);
        return new ModelPlan(
            model.Type,
            model.Loss,
            model.HuberDelta,
            model.Input.Size,
            layers[layers.Count - 1].Units,
            parameterCount,
            parameterEnd,
            layers.ToEquatableArray(),
            gradientA,
            gradientB,
            workspacePerSample) { StateLength = stateEnd, Weights = model.Weights };
    }

    private static int Align(int offset) => (offset + Alignment - 1) / Alignment * Alignment;
}
