using System;
using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Conv2D(filters, kernelSize, Stride = …, Padding = …, Activation = …)]</c>: a 2-D convolution of an image.</summary>
internal sealed class ConvKind : LayerKind
{
    /// <summary>
    /// Floats of windows a convolution builds at once (512 KiB): a quarter of a 2 MiB L2, so that im2col's output is still
    /// there when the product reads it, and again in backward. A whole batch's windows (7 MB for the Fashion CNN's
    /// second layer at batch 64) went to memory and back.
    /// </summary>
    public const int WindowBudget = 1 << 17;

    /// <summary>
    /// The most values a window may hold, and the most floats a zero-padded sample may take, for a convolution to read
    /// its windows in place (the runtime's <c>Convolution.MaxDirectPatch</c> and <c>MaxDirectPaddedSample</c>, which a
    /// test holds these to).
    /// </summary>
    public const int MaxDirectPatch = 32;

    /// <inheritdoc cref="MaxDirectPatch"/>
    public const int MaxDirectPaddedSample = 8192;

    public override string AttributeName => "Conv2DAttribute";

    public override Type SpecType => typeof(ConvSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (stride, strideLocation) = attribute.Named("Stride", 1);
        var (padding, paddingLocation) = attribute.Named("Padding", (int)Padding.Valid);
        var (activation, activationLocation) = attribute.Named("Activation", (int)Activation.Linear);
        var (initializer, initializerLocation) = attribute.Named("Initializer", (int)Initializer.Auto);
        var (alpha, alphaLocation) = attribute.Named("Alpha", float.NaN);
        return new ConvSpec(
            attribute.Constructor(0, 0), attribute.ArgumentLocation(0, "filters"), attribute.Constructor(1, 0), attribute.ArgumentLocation(1, "kernelSize"),
            stride, strideLocation, (Padding)padding, paddingLocation, (Activation)activation, activationLocation,
            (Initializer)initializer, initializerLocation, alpha, alphaLocation, attribute.Location, UseBias: attribute.Named("UseBias", true).Value);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var conv = (ConvSpec)layer;
        var what = $"Layer {input.Position} ([Conv2D])";
        var valid = IsPositive(conv.Filters, conv.FiltersLocation, what + ": the number of filters", diagnostics);
        valid &= IsPositive(conv.Kernel, conv.KernelLocation, what + ": the kernel size", diagnostics);
        valid &= IsPositive(conv.Stride, conv.StrideLocation, what + ": the stride", diagnostics);
        if (!Enum.IsDefined(typeof(Padding), conv.Padding))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, conv.PaddingLocation, what, (int)conv.Padding, nameof(Padding)));
            valid = false;
        }

        valid &= CheckActivation(
            conv.Kind, input.Position, conv.Activation, conv.ActivationLocation, conv.Alpha, conv.AlphaLocation, conv.Initializer, conv.InitializerLocation, diagnostics);

        if (!HasImageShape(conv, input, diagnostics) || !valid)
        {
            return null;
        }

        var (channels, height, width) = (input.Shape.Dimensions[0], input.Shape.Dimensions[1], input.Shape.Dimensions[2]);
        if (conv.Padding == Padding.Valid && (conv.Kernel > height || conv.Kernel > width))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.WindowTooLarge, conv.KernelLocation, input.Position, conv.Kind, conv.Kernel, height, width, ", which Padding.Valid does not pad: use a smaller kernel or Padding.Same"));
            return null;
        }

        var (outputHeight, outputWidth) = (Windows.OutputLength(height, conv.Kernel, conv.Stride, conv.Padding), Windows.OutputLength(width, conv.Kernel, conv.Stride, conv.Padding));
        var patch = (long)conv.Kernel * conv.Kernel * channels;
        var largest = Math.Max(patch * conv.Filters, Math.Max(patch, conv.Filters) * outputHeight * outputWidth); // kernels, or a sample's windows or outputs
        if (largest > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelTooLarge, conv.Location, $"{what}: its kernels, outputs or windows per sample", largest, MaxTensorSize));
            return null;
        }

        return new Shape(new[] { conv.Filters, outputHeight, outputWidth }.ToEquatableArray());
    }

    public override long Parameters(LayerSpec layer, Shape input)
    {
        var conv = (ConvSpec)layer;
        return ((long)conv.Kernel * conv.Kernel * input.Dimensions[0] * conv.Filters) + conv.Filters;
    }

    /// <summary>W, then b, in the parameters; z after its outputs for GELU and SiLU; whether it reads its windows in place, else how many samples' windows it builds at once.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var conv = (ConvSpec)layer.Layer;
        var window = context.Window(layer, conv.Kernel, conv.Stride, conv.Padding);
        var weights = context.Parameters.Take(window.PatchSize * conv.Filters);
        var bias = conv.UseBias ? context.Parameters.Take(conv.Filters) : -1;
        // A first layer on the model's own (channels-first) input, with short windows, reads them in place: its im2col
        // matrix would be mostly its own traffic. It needs no input gradient, which only im2col's col2im provides.
        var direct = !window.ChannelsLast && context.ParametersBefore == 0 && window.PatchSize <= MaxDirectPatch
            && window.Channels * (((window.OutputHeight - 1) * window.Stride) + window.Kernel)
                * (((window.OutputWidth - 1) * window.Stride) + window.Kernel) <= MaxDirectPaddedSample;
        var windowsPerSample = window.Positions * window.PatchSize;
        // At least two samples a chunk where they fit twice the budget: building windows and adding their gradients
        // back split over the chunk's samples, so a chunk of one keeps the second core idle.
        var chunk = direct ? 0 : Math.Max(windowsPerSample <= 2 * WindowBudget ? 2 : 1, WindowBudget / windowsPerSample);
        return new ConvPlan(
            context.Position, context.Next("conv"), layer.Input.Size, layer.Output.Size, context.OutputOffset, window, conv.Filters, conv.Activation,
            Alpha(conv.Activation, conv.Alpha), ResolveInitializer(conv.Initializer, conv.Activation), weights, bias, chunk, direct,
            context.TakePreActivations(conv.Activation, layer.Output.Size), conv.UseBias);
    }
}

/// <summary>The arithmetic of a window sliding over an image, shared by convolution and pooling.</summary>
internal static class Windows
{
    /// <summary>Output positions along one side: ⌈size / stride⌉ with "same" padding, ⌊(size − window) / stride⌋ + 1 without.</summary>
    public static int OutputLength(int size, int window, int stride, Padding padding) =>
        padding == Padding.Same ? (size + stride - 1) / stride : ((size - window) / stride) + 1;

    /// <summary>Zeros before the input along one side with "same" padding: half of what the output size needs, the odd one after.</summary>
    public static int PaddingBefore(int size, int window, int stride, Padding padding) =>
        padding == Padding.Same ? Math.Max(((OutputLength(size, window, stride, padding) - 1) * stride) + window - size, 0) / 2 : 0;
}
