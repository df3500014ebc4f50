using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
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
                parameters += LayerKinds.For(layer.Layer).Parameters(layer.Layer, layer.Input);
            }

            if (parameters > LayerKind.MaxTensorSize)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelTooLarge, spec.Location, $"Model '{spec.Type.Name}'s parameters", parameters, LayerKind.MaxTensorSize));
            }
        }

        return new CheckedModel(spec.Type, spec.Loss, spec.HuberDelta, input, layers.ToEquatableArray(), spec.Weights, spec.WeightsLocation, spec.Location, spec.MemberLocations)
        {
            Quantize = spec.Quantize,
            QuantizeLocation = spec.QuantizeLocation,
        };

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
                    if (!LayerKind.IsPositive(residual.Repeat, residual.RepeatLocation, $"Layer {layers.Count + 1} ([Residual]): the number of repeats", diagnostics) ||
                        !LayerKind.CheckActivation(residual.Kind, layers.Count + 1, residual.Activation, residual.ActivationLocation, float.NaN, null, Initializer.Auto, null, diagnostics))
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
                var kind = LayerKinds.For(layer);
                if (shape.Vocabulary > 0 && !kind.ReadsTokens)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TokensNeedEmbedding, layer.Location, layers.Count + 1, layer.Kind, shape));
                    return null;
                }

                var channelsLast = LiesChannelsLast(current);
                var inferred = kind.Infer(layer, new LayerInput(shape, channelsLast, layers.Count + 1, layers), diagnostics);
                if (inferred is null)
                {
                    return null;
                }

                layers.Add(new CheckedLayer(layer, shape, inferred)
                {
                    Inputs = new[] { current }.ToEquatableArray(),
                    ChannelsLast = inferred.Rank == 3 && (channelsLast || LayerKinds.For(layer).WritesChannelsLast),
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

        if (spec.Loss is Loss.SoftmaxCrossEntropy or Loss.BinaryCrossEntropy
            && LayerKinds.For(last.Layer).OutputActivation(last.Layer) is { Activation: not Activation.Linear } declared)
        {
            var applied = spec.Loss == Loss.SoftmaxCrossEntropy ? "softmax" : "the sigmoid";
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ActivationBeforeLogitLoss, declared.Location, declared.Activation, spec.Loss, applied));
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

        if (input.Vocabulary != 0 && (input.Vocabulary < 2 || input.Shape.Count != 1))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.InvalidArgument, input.VocabularyLocation, "Input", $"Vocabulary = {input.Vocabulary}",
                input.Vocabulary < 2 ? "the number of distinct tokens, at least 2" : "one size with it, the positions: [Input(positions, Vocabulary = V)]"));
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
                size = Math.Min(size * dimension, LayerKind.MaxTensorSize + 1);
            }

            if (size > LayerKind.MaxTensorSize)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelTooLarge, input.Location, "[Input]", "more than " + LayerKind.MaxTensorSize, LayerKind.MaxTensorSize));
                valid = false;
            }
        }

        return valid ? new Shape(input.Shape) { Vocabulary = input.Vocabulary } : null;
    }
}
