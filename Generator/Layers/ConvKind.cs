using System;
using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Conv2D(filters, kernelSize, Stride = …, Padding = …, Activation = …)]</c>: a 2-D convolution of an image.</summary>
internal sealed class ConvKind : LayerKind
{
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
