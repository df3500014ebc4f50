using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Stage 2: checks a declared network and infers the shape every layer receives and produces. Every mistake becomes
/// a diagnostic on the attribute or argument at fault; the checker goes on after an error where it can, so that one
/// build shows all of them.
/// </summary>
internal static class ShapeChecker
{
    public static StageResult<CheckedModel> Check(StageResult<ModelSpec> parsed)
    {
        if (parsed.Value is not { } spec)
        {
            return new StageResult<CheckedModel>(null, parsed.Diagnostics);
        }

        var diagnostics = new List<DiagnosticInfo>(parsed.Diagnostics);
        var model = Check(spec, diagnostics);
        // Warnings leave the model usable; any error stops it here.
        var usable = diagnostics.TrueForAll(d => d.Descriptor.DefaultSeverity != Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        return new StageResult<CheckedModel>(usable ? model : null, diagnostics.ToEquatableArray()) { StandInType = usable ? null : spec.Type };
    }

    private static CheckedModel? Check(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        if (!Enum.IsDefined(typeof(Loss), spec.Loss))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, spec.LossLocation, "[Model] Loss", (int)spec.Loss, nameof(Loss)));
        }

        var input = FindInput(spec, diagnostics);
        if (input is null)
        {
            return null;
        }

        var layers = new List<CheckedLayer>();
        var residuals = 0;
        var valid = CheckSequence(spec.Layers, from: 0, EquatableArray<string>.Empty) is not null;
        if (valid && layers.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoLayers, spec.Location, spec.Type.Name));
        }
        else if (valid)
        {
            CheckLoss(spec, layers[layers.Count - 1], diagnostics);
            long parameters = 0;
            foreach (var layer in layers)
            {
                parameters += layer.Layer switch
                {
                    DenseSpec dense => ((long)dense.Units * layer.Input.Size) + dense.Units,
                    ConvSpec conv => ((long)conv.Kernel * conv.Kernel * layer.Input.Dimensions[0] * conv.Filters) + conv.Filters,
                    LayerNormSpec => 2L * layer.Input.Size,
                    BatchNormSpec => 2L * BatchNormSpec.Features(layer.Input),
                    _ => 0, // no parameters: activation, pooling, flatten, dropout, the residual sum
                };
            }

            if (parameters > MaxTensorSize)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelTooLarge, spec.Location, $"Model '{spec.Type.Name}'s parameters", parameters, MaxTensorSize));
            }
        }

        return new CheckedModel(spec.Type, spec.Loss, spec.HuberDelta, input, layers.ToEquatableArray(), spec.Weights, spec.WeightsLocation, spec.Location, spec.MemberLocations);

        // Checks a sequence of layers that reads node `from` (0: the model's input), adding a node for each, and returns
        // the last node, or null after an error: the next layers' shapes depend on this one's, so later errors would be
        // guesses. A residual connection adds its block's layers, its shortcut's, and the sum.
        int? CheckSequence(EquatableArray<LayerSpec> sequence, int from, EquatableArray<string> scope)
        {
            var current = from;
            foreach (var layer in sequence)
            {
                if (layer is InputSpec)
                {
                    continue;
                }

                if (layer is ResidualSpec residual)
                {
                    if (!IsPositive(residual.Repeat, residual.RepeatLocation, $"Layer {layers.Count + 1} ([Residual]): the number of repeats", diagnostics) ||
                        !CheckActivation(residual.Kind, layers.Count + 1, residual.Activation, residual.ActivationLocation, float.NaN, null, Initializer.Auto, null, diagnostics))
                    {
                        return null;
                    }

                    for (var repeat = 0; repeat < residual.Repeat; repeat++)
                    {
                        var index = ++residuals;
                        var number = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                        var position = layers.Count + 1;
                        if (CheckSequence(residual.Block.Layers, current, Nested(scope, number + ".branch")) is not { } branch)
                        {
                            return null;
                        }

                        var shortcut = current;
                        if (residual.Shortcut is { } shortcutBlock && CheckSequence(shortcutBlock.Layers, current, Nested(scope, number + ".shortcut")) is { } projected)
                        {
                            shortcut = projected;
                        }
                        else if (residual.Shortcut is not null)
                        {
                            return null;
                        }

                        var (input, output, skipped) = (ShapeOf(current), ShapeOf(branch), ShapeOf(shortcut));
                        if (residual.Shortcut is { } declared && !output.Equals(skipped))
                        {
                            diagnostics.Add(DiagnosticInfo.Create(
                                DiagnosticDescriptors.ShortcutShapeDiffers, declared.Location, position, declared.Name, input, skipped, residual.Block.Name, output));
                            return null;
                        }

                        if (!output.Equals(skipped))
                        {
                            diagnostics.Add(DiagnosticInfo.Create(
                                DiagnosticDescriptors.ResidualShapesDiffer, residual.Block.Location, position, residual.Block.Name, input, output, string.Empty));
                            return null;
                        }

                        if (output.Rank == 3 && output.Dimensions[0] > 1 && LiesChannelsLast(branch) != LiesChannelsLast(shortcut))
                        {
                            // The model's input image lies (c, h, w), a convolution's output (h, w, c): the same shape, other orders.
                            diagnostics.Add(DiagnosticInfo.Create(
                                DiagnosticDescriptors.ResidualShapesDiffer, residual.Block.Location, position, residual.Block.Name, input, output,
                                " as it lies in memory (the model's input image is stored channels-first, a convolution's output channels-last)"));
                            return null;
                        }

                        layers.Add(new CheckedLayer(new AddSpec(residual, index), output, output)
                        {
                            Inputs = new[] { branch, shortcut }.ToEquatableArray(),
                            ChannelsLast = LiesChannelsLast(branch),
                            Scope = scope,
                        });
                        current = layers.Count;
                    }

                    continue;
                }

                var shape = ShapeOf(current);
                var channelsLast = LiesChannelsLast(current);
                var inferred = InferOutput(layer, layers.Count + 1, shape, channelsLast, diagnostics);
                if (inferred is null)
                {
                    return null;
                }

                layers.Add(new CheckedLayer(layer, shape, inferred)
                {
                    Inputs = new[] { current }.ToEquatableArray(),
                    ChannelsLast = inferred.Rank == 3 && (channelsLast || layer is ConvSpec or PoolSpec),
                    Scope = scope,
                });
                current = layers.Count;
            }

            return current;
        }

        Shape ShapeOf(int node) => node == 0 ? input : layers[node - 1].Output;

        bool LiesChannelsLast(int node) => node != 0 && layers[node - 1].ChannelsLast;
    }

    private static EquatableArray<string> Nested(EquatableArray<string> scope, string part) => scope.Concat(new[] { part }).ToEquatableArray();

    /// <summary>Whether the loss fits the last layer: its size, its activation and the loss's own settings.</summary>
    private static void CheckLoss(ModelSpec spec, CheckedLayer last, List<DiagnosticInfo> diagnostics)
    {
        if (spec.Loss == Loss.Huber && !(spec.HuberDelta > 0f && !float.IsInfinity(spec.HuberDelta)))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.HuberDeltaMustBePositive, spec.HuberDeltaLocation, spec.HuberDelta));
        }

        if (spec.Loss == Loss.SoftmaxCrossEntropy && last.Output.Size < 2)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LossDoesNotFitOutput, spec.LossLocation, spec.Loss, last.Output.Size, "at least 2 classes (one unit per class)"));
        }

        if (spec.Loss is Loss.SoftmaxCrossEntropy or Loss.BinaryCrossEntropy && last.Layer is DenseSpec { Activation: not Activation.Linear } dense)
        {
            var applied = spec.Loss == Loss.SoftmaxCrossEntropy ? "softmax" : "the sigmoid";
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ActivationBeforeLogitLoss, dense.ActivationLocation ?? dense.Location, dense.Activation, spec.Loss, applied));
        }
    }

    /// <summary>Finds the one <c>[Input]</c>, which must come first, and checks its sizes.</summary>
    private static Shape? FindInput(ModelSpec spec, List<DiagnosticInfo> diagnostics)
    {
        InputSpec? input = null;
        foreach (var layer in spec.Layers)
        {
            if (layer is InputSpec declared)
            {
                if (input is not null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateInput, declared.Location, spec.Type.Name));
                    continue;
                }

                input = declared;
            }
            else if (input is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerBeforeInput, layer.Location, layer.Kind));
            }
        }

        if (input is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MissingInput, spec.Location, spec.Type.Name));
            return null;
        }

        if (input.Shape.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeMustBePositive, input.Location, "The number of input dimensions", 0));
            return null;
        }

        var valid = true;
        for (var i = 0; i < input.Shape.Count; i++)
        {
            if (input.Shape[i] <= 0)
            {
                var what = input.Shape.Count == 1 ? "The input size" : $"Input dimension {i}";
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeMustBePositive, input.Location, what, input.Shape[i]));
                valid = false;
            }
        }

        if (valid)
        {
            long size = 1;
            foreach (var dimension in input.Shape)
            {
                size = Math.Min(size * dimension, MaxTensorSize + 1);
            }

            if (size > MaxTensorSize)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelTooLarge, input.Location, "[Input]", "more than " + MaxTensorSize, MaxTensorSize));
                valid = false;
            }
        }

        return valid ? new Shape(input.Shape) : null;
    }

    /// <summary>The layer's output shape; <paramref name="position"/> (1-based, after [Input]) names the layer in messages.</summary>
    private static Shape? InferOutput(LayerSpec layer, int position, Shape input, bool channelsLast, List<DiagnosticInfo> diagnostics) => layer switch
    {
        DenseSpec dense => InferDense(dense, position, input, diagnostics),
        DropoutSpec dropout => InferDropout(dropout, position, input, diagnostics),
        LayerNormSpec norm => InferLayerNorm(norm, position, input, diagnostics),
        BatchNormSpec batchNorm => InferBatchNorm(batchNorm, position, input, channelsLast, diagnostics),
        ConvSpec conv => InferConv(conv, position, input, diagnostics),
        PoolSpec pool => InferPool(pool, position, input, diagnostics),
        GlobalPoolSpec global => HasImageShape(global, position, input, diagnostics) ? Shape.Vector(input.Dimensions[0]) : null,
        FlattenSpec => Shape.Vector(input.Size),
        ActivationSpec activation => CheckActivation(
            activation.Kind, position, activation.Function, activation.FunctionLocation, activation.Alpha, activation.AlphaLocation, Initializer.Auto, null, diagnostics) ? input : null,
        _ => throw new InvalidOperationException("Unknown layer kind " + layer.Kind),
    };

    private static Shape? InferLayerNorm(LayerNormSpec norm, int position, Shape input, List<DiagnosticInfo> diagnostics)
    {
        if (!(norm.Epsilon > 0f && !float.IsInfinity(norm.Epsilon)))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EpsilonMustBePositive, norm.EpsilonLocation, position, norm.Kind, norm.Epsilon));
            return null;
        }

        if (input.Size < 2)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerNormNeedsTwoValues, norm.Location, position, input.Size));
            return null;
        }

        return input;
    }

    private static Shape? InferBatchNorm(BatchNormSpec norm, int position, Shape input, bool channelsLast, List<DiagnosticInfo> diagnostics)
    {
        var valid = true;
        if (input.Rank == 3 && input.Dimensions[0] > 1 && !channelsLast)
        {
            // Per-channel statistics are computed on channels-last values; the model's own input is channels-first.
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BatchNormOnInputImage, norm.Location, position, input));
            valid = false;
        }

        if (!(norm.Momentum >= 0f && norm.Momentum < 1f))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MomentumOutOfRange, norm.MomentumLocation, position, norm.Momentum));
            valid = false;
        }

        if (!(norm.Epsilon > 0f && !float.IsInfinity(norm.Epsilon)))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EpsilonMustBePositive, norm.EpsilonLocation, position, norm.Kind, norm.Epsilon));
            valid = false;
        }

        return valid ? input : null;
    }

    private static Shape? InferDropout(DropoutSpec dropout, int position, Shape input, List<DiagnosticInfo> diagnostics)
    {
        if (!(dropout.Rate >= 0f && dropout.Rate < 1f))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DropoutRateOutOfRange, dropout.RateLocation, position, dropout.Rate));
            return null;
        }

        return input;
    }

    /// <summary>
    /// The most values one sample's input, one layer's weights, or all parameters together may hold: 2²⁸ floats
    /// (1 GiB). Offsets and sizes in the generated code are 32-bit; this keeps every product of them far from overflow.
    /// </summary>
    public const long MaxTensorSize = 1L << 28;

    private static Shape? InferDense(DenseSpec dense, int position, Shape input, List<DiagnosticInfo> diagnostics)
    {
        var layer = $"Layer {position} ([Dense])";
        var valid = IsPositive(dense.Units, dense.UnitsLocation, layer + ": the number of units", diagnostics);
        valid &= CheckActivation(
            dense.Kind, position, dense.Activation, dense.ActivationLocation, dense.Alpha, dense.AlphaLocation, dense.Initializer, dense.InitializerLocation, diagnostics);

        if (input.Rank != 1)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DenseNeedsVectorInput, dense.Location, position, input));
            valid = false;
        }

        if (valid && (long)dense.Units * input.Size > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, dense.Location, $"{layer}: its weights, {dense.Units} units by {input.Size} inputs,", (long)dense.Units * input.Size, MaxTensorSize));
            valid = false;
        }

        return valid ? Shape.Vector(dense.Units) : null;
    }

    /// <summary>Whether a size is positive; reports MG0003 on <paramref name="location"/> if not.</summary>
    private static bool IsPositive(int value, LocationInfo? location, string what, List<DiagnosticInfo> diagnostics)
    {
        if (value > 0)
        {
            return true;
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeMustBePositive, location, what, value));
        return false;
    }

    /// <summary>
    /// Whether an activation and its settings are valid for a layer: a defined activation; α only with leaky ReLU and
    /// ELU, and positive; a defined initializer. The settings are not looked at when the activation is undefined.
    /// </summary>
    private static bool CheckActivation(
        string kind, int position, Activation activation, LocationInfo? activationLocation, float alpha, LocationInfo? alphaLocation,
        Initializer initializer, LocationInfo? initializerLocation, List<DiagnosticInfo> diagnostics)
    {
        if (!Enum.IsDefined(typeof(Activation), activation))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, activationLocation, $"Layer {position} ([{kind}])", (int)activation, nameof(Activation)));
            return false;
        }

        var valid = true;
        var takesAlpha = activation is Activation.LeakyRelu or Activation.Elu;
        if (!float.IsNaN(alpha) && !takesAlpha)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidAlpha, alphaLocation, position, kind, alpha, $"Alpha applies only to LeakyRelu and Elu, not {activation}"));
            valid = false;
        }
        else if (takesAlpha && !float.IsNaN(alpha) && !(alpha > 0f && !float.IsInfinity(alpha)))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidAlpha, alphaLocation, position, kind, alpha, "it must be positive and finite"));
            valid = false;
        }

        if (!Enum.IsDefined(typeof(Initializer), initializer))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, initializerLocation, $"Layer {position} ([{kind}])", (int)initializer, nameof(Initializer)));
            valid = false;
        }

        return valid;
    }

    /// <summary>Output positions along one side: ⌈size / stride⌉ with "same" padding, ⌊(size − window) / stride⌋ + 1 without.</summary>
    internal static int OutputLength(int size, int window, int stride, Padding padding) =>
        padding == Padding.Same ? (size + stride - 1) / stride : ((size - window) / stride) + 1;

    /// <summary>Zeros before the input along one side with "same" padding: half of what the output size needs, the odd one after.</summary>
    internal static int PaddingBefore(int size, int window, int stride, Padding padding) =>
        padding == Padding.Same ? Math.Max(((OutputLength(size, window, stride, padding) - 1) * stride) + window - size, 0) / 2 : 0;

    private static Shape? InferConv(ConvSpec conv, int position, Shape input, List<DiagnosticInfo> diagnostics)
    {
        var layer = $"Layer {position} ([Conv2D])";
        var valid = IsPositive(conv.Filters, conv.FiltersLocation, layer + ": the number of filters", diagnostics);
        valid &= IsPositive(conv.Kernel, conv.KernelLocation, layer + ": the kernel size", diagnostics);
        valid &= IsPositive(conv.Stride, conv.StrideLocation, layer + ": the stride", diagnostics);
        if (!Enum.IsDefined(typeof(Padding), conv.Padding))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, conv.PaddingLocation, layer, (int)conv.Padding, nameof(Padding)));
            valid = false;
        }

        valid &= CheckActivation(
            conv.Kind, position, conv.Activation, conv.ActivationLocation, conv.Alpha, conv.AlphaLocation, conv.Initializer, conv.InitializerLocation, diagnostics);

        if (!HasImageShape(conv, position, input, diagnostics) || !valid)
        {
            return null;
        }

        var (channels, height, width) = (input.Dimensions[0], input.Dimensions[1], input.Dimensions[2]);
        if (conv.Padding == Padding.Valid && (conv.Kernel > height || conv.Kernel > width))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.WindowTooLarge, conv.KernelLocation, position, conv.Kind, conv.Kernel, height, width, ", which Padding.Valid does not pad: use a smaller kernel or Padding.Same"));
            return null;
        }

        var (outputHeight, outputWidth) = (OutputLength(height, conv.Kernel, conv.Stride, conv.Padding), OutputLength(width, conv.Kernel, conv.Stride, conv.Padding));
        var patch = (long)conv.Kernel * conv.Kernel * channels;
        var largest = Math.Max(patch * conv.Filters, Math.Max(patch, conv.Filters) * outputHeight * outputWidth); // kernels, or a sample's windows or outputs
        if (largest > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelTooLarge, conv.Location, $"{layer}: its kernels, outputs or windows per sample", largest, MaxTensorSize));
            return null;
        }

        return new Shape(new[] { conv.Filters, outputHeight, outputWidth }.ToEquatableArray());
    }

    private static Shape? InferPool(PoolSpec pool, int position, Shape input, List<DiagnosticInfo> diagnostics)
    {
        var layer = $"Layer {position} ([{pool.Kind}])";
        // The stride defaults to the pool size: one error for a bad size, not two.
        var valid = IsPositive(pool.Size, pool.SizeLocation, layer + ": the pool size", diagnostics)
            && IsPositive(pool.Stride, pool.StrideLocation, layer + ": the stride", diagnostics);

        if (!HasImageShape(pool, position, input, diagnostics) || !valid)
        {
            return null;
        }

        var (channels, height, width) = (input.Dimensions[0], input.Dimensions[1], input.Dimensions[2]);
        if (pool.Size > height || pool.Size > width)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WindowTooLarge, pool.SizeLocation, position, pool.Kind, pool.Size, height, width, string.Empty));
            return null;
        }

        var (outputHeight, outputWidth) = (OutputLength(height, pool.Size, pool.Stride, Padding.Valid), OutputLength(width, pool.Size, pool.Stride, Padding.Valid));
        return new Shape(new[] { channels, outputHeight, outputWidth }.ToEquatableArray());
    }

    /// <summary>Whether a convolution or pooling layer receives channels × height × width; reports MG0026 if not.</summary>
    private static bool HasImageShape(LayerSpec layer, int position, Shape input, List<DiagnosticInfo> diagnostics)
    {
        if (input.Rank == 3)
        {
            return true;
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NeedsImageInput, layer.Location, position, layer.Kind, input));
        return false;
    }
}
