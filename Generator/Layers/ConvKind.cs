using System;
using System.Collections.Generic;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Layers;

/// <summary>
/// <c>[Conv2D(filters, kernelSize, Stride = …, Padding = …, Activation = …)]</c>: a 2-D convolution of an image. The
/// kind's reading, checking and plan are here, and its plan's code (written with <see cref="ConvEmitter"/>), remarks
/// row, PyTorch module and ONNX layer.
/// </summary>
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

    public override bool WritesChannelsLast => true;

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

/// <summary>One 2-D convolution layer of a plan: each window of the input a row of an im2col matrix, times W [kernel²·channels × filters].</summary>
/// <param name="Index">1-based position among the convolution layers (conv2d_1 …).</param>
/// <param name="Chunk">
/// Samples whose windows (the im2col matrix, [positions × kernel²·channels] each) are built at once, in the model's
/// one window buffer: few enough that they stay in L2 between being written and being read by the product.
/// </param>
/// <param name="Direct">
/// Whether the layer reads its windows where they lie instead (the runtime's <c>Convolution.DirectForward</c> and
/// <c>DirectWeightGradient</c>): a first layer, on the model's channels-first input, with short windows. Its
/// <paramref name="Chunk"/> is then 0: it builds no windows.
/// </param>
/// <param name="PreActivationOffset">Where z is kept for GELU's and SiLU's derivatives, or −1.</param>
internal sealed record ConvPlan(
    int Position, int Index, int InputSize, int Units, int OutputOffset, WindowPlan Window, int Filters, Activation Activation, float Alpha,
    Initializer Initializer, int WeightsOffset, int BiasOffset, int Chunk, bool Direct, int PreActivationOffset = -1, bool HasBias = true)
    : LayerPlan(Position, InputSize, Units, OutputOffset), IWeightedPlan
{
    public override string Name => "conv2d_" + Index;

    public override string Identifier => "Conv" + Index;

    public override int ParameterCount => (Window.PatchSize * Filters) + (HasBias ? Filters : 0);

    /// <summary>
    /// Whether its input gradient is itself a convolution (on channels-last input), of dz with the kernel flipped, or
    /// for a stride over 1 one per phase of the input's rows and columns, run as implicit GEMMs (the runtime's
    /// <c>Convolution.InputGradient</c>) instead of col2im over the windows' gradient.
    /// </summary>
    public bool InputGradientIsConvolution => !Direct && Window.ChannelsLast;

    /// <summary>Whether its products read the windows in place from a padded copy of each sample where it fits: stride 1 on channels-last input.</summary>
    public bool ReadsWindowsInPlace => InputGradientIsConvolution && Window.Stride == 1;

    /// <summary>
    /// Its scratch in the window buffer: the flipped kernel when its input gradient is a convolution, and for a stride
    /// over 1 also a chunk of samples' gradient of one phase (⌈height / stride⌉ × ⌈width / stride⌉ × channels each);
    /// else its chunk's windows, [positions × kernel²·channels] per sample.
    /// </summary>
    public override int WindowsLength => (InputGradientIsConvolution, ReadsWindowsInPlace) switch
    {
        (true, true) => Window.PatchSize * Filters,
        (true, false) => (Window.PatchSize * Filters) + (Chunk * PhaseRows(Window.Height) * PhaseRows(Window.Width) * Window.Channels),
        _ => Chunk * Window.Positions * Window.PatchSize,
    };

    /// <summary>The most input rows (or columns) of <paramref name="length"/> one phase of a strided input gradient holds.</summary>
    private int PhaseRows(int length) => (length + Window.Stride - 1) / Window.Stride;

    public override WindowPlan SlidingWindow => Window;

    public override int ZeroBiasLength => HasBias ? 0 : Filters;

    public override int QuantizedDepth => WeightRows;

    public string WeightShape => $"{Window.Kernel}×{Window.Kernel}×{Window.Channels}×{Filters}";

    public int WeightRows => Window.PatchSize;

    public int WeightColumns => Filters;

    public int FanOut => Window.Kernel * Window.Kernel * Filters;

    public bool KeepsPreActivation => PreActivationOffset >= 0;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, "Conv2D", Activation.ToString(), Window.InputDimensions, Window.OutputDimensions(Filters), Emitter.Count(ParameterCount),
        $"{Window.Kernel}×{Window.Kernel}, stride {Window.Stride}{(Window.PadTop + Window.PadLeft > 0 ? ", padded" : string.Empty)}; {(Direct ? "windows read in place" : "implicit GEMM")}",
    ];

    public override void WriteParameterLayout(SourceWriter writer) => WeightedLayout.WriteParameterLayout(writer, this);

    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        WeightedLayout.WritePreActivationLayout(writer, this);
    }

    /// <summary>How many samples each of its weight gradient's products sums, unless it reads its windows in place, and what it keeps in the window buffer.</summary>
    public override void WriteWindowsLayout(SourceWriter writer)
    {
        if (Direct)
        {
            return;
        }

        var keeps = (InputGradientIsConvolution, ReadsWindowsInPlace) switch
        {
            (true, true) => $"∂W summed {Chunk} samples per product; its flipped kernel, {Emitter.Count(WindowsLength)} floats",
            (true, false) => $"∂W summed {Chunk} samples per product; a phase's flipped kernel and at least {Chunk} samples' gradient of the phase, {Emitter.Count(WindowsLength)} floats",
            _ => $"{Chunk} × {Window.Positions} windows of {WeightRows} = {Emitter.Count(WindowsLength)} floats",
        };
        writer.WriteLine($"private const int {Identifier}Chunk = {Chunk}; // {Name}: {keeps}");
    }

    public override void WriteInitialization(SourceWriter writer) => WeightedLayout.WriteInitialization(writer, this);

    public override void WriteAccessors(SourceWriter writer) =>
        WeightedLayout.WriteAccessors(writer, this, $"kernels W [{WeightShape}], row-major (Keras' layout): row (kh, kw, c) holds that input's weight to every filter.");

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        if (PoolGate.FusedForwardOf(context.Plan, this) is { } fused)
        {
            ConvEmitter.WriteForwardMaxPool(writer, fused);
        }
        else
        {
            ConvEmitter.WriteForward(writer, this);
        }

        writer.WriteLine();
        ConvEmitter.WriteBackward(writer, this, isFirst: !NeedsInputGradient, PoolGate.GatingOf(context.Plan, this));
    }

    /// <summary>Its call; where its forward pass also pools (<see cref="PoolGate.FusesForward"/>), the fused call writing the pooling layer's outputs, its own never stored.</summary>
    public override void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        if (PoolGate.FusedForwardOf(context.Plan, this) is not { } fused)
        {
            base.WriteForwardCall(writer, context);
            return;
        }

        var pool = fused.Pool;
        writer.WriteLine($"var {pool.Output} = Workspace({pool.Identifier}Output, {pool.Units}, batch);");
        writer.WriteLine($"{Identifier}And{pool.Identifier}Forward({context.InputOf(this)}, {pool.Output}, batch);");
    }

    /// <summary>
    /// It reads its input (its windows are read from there again) and, for its activation's derivative, its outputs,
    /// unless the pooling layer above applies that derivative; none in training where that layer takes its gradients.
    /// </summary>
    public override string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        var gate = PoolGate.GatingOf(context.Plan, this);
        if (gate is not null && gate.FusesBackwardIn(context))
        {
            return null; // the pooling layer's fused backward takes its gradients
        }

        reads.Add(input);
        var outputs = string.Empty;
        if (DenseEmitter.ReadsOutputs(this, gated: gate is not null))
        {
            reads.Add(Output);
            outputs = $" {Output},";
        }

        return $"{Identifier}Backward({input},{outputs} {dy}, {dx ?? "dx: default"}, batch);";
    }

    public override string SampleNormsCall(string input, string dy) =>
        $"{Emitter.Norms}.AddConvolution({input}, {dy}, {Identifier}Window, {Filters}, bias: {Emitter.Bool(HasBias)}, sampleNorms);";

    /// <summary>
    /// <c>nn.Conv2d</c> (after <c>nn.ZeroPad2d</c> where "same" padding is uneven), whose weight is [filters, channels,
    /// kh, kw] where the buffer keeps [kh·kw·channels × filters]; its output image is channels-last.
    /// </summary>
    public override void AddTorch(TorchBuilder torch)
    {
        var (padBottom, padRight) = TorchEquivalent.TrailingPadding(Window);
        var padding = "0";
        if (padBottom != Window.PadTop || padRight != Window.PadLeft)
        {
            torch.Add($"nn.ZeroPad2d(({Window.PadLeft}, {padRight}, {Window.PadTop}, {padBottom}))");
        }
        else if (Window.PadTop > 0)
        {
            padding = Window.PadTop == Window.PadLeft ? TorchEquivalent.Int(Window.PadTop) : $"({Window.PadTop}, {Window.PadLeft})";
        }

        var stride = Window.Stride > 1 ? ", stride=" + TorchEquivalent.Int(Window.Stride) : string.Empty;
        torch.Add($"nn.Conv2d({Window.Channels}, {Filters}, {Window.Kernel}{stride}{(padding != "0" ? ", padding=" + padding : string.Empty)}{(HasBias ? string.Empty : ", bias=False")})");
        torch.AddTensor(new PlannedTensor(torch.Prefix + "weight", Identifier + "WeightsOffset", WeightsOffset, TorchEquivalent.Dims(Filters, Window.Channels, Window.Kernel, Window.Kernel))
        {
            StoredAxes = TorchEquivalent.Dims(2, 3, 1, 0),
        });
        if (HasBias)
        {
            torch.AddTensor(new PlannedTensor(torch.Prefix + "bias", Identifier + "BiasOffset", BiasOffset, TorchEquivalent.Dims(Filters)));
        }

        torch.AddActivation(Activation, Alpha);
        torch.Flow = TorchFlow.Picture(Filters, Window.OutputHeight, Window.OutputWidth, channelsLast: true);
    }

    public override void Quantize(QuantizedModelBuilder int8) => int8.AddProduct(this);

    public override string OnnxLayer(string tensors)
    {
        var (bottom, right) = TorchEquivalent.TrailingPadding(Window);
        return $"{OnnxEmitter.Layer}.Conv2D(\"{tensors}weight\", {OnnxEmitter.Bias(this, tensors)}, {Window.Kernel}, {Window.Stride}, {Window.PadTop}, {Window.PadLeft}, {bottom}, {right}, {OnnxEmitter.Activation(Activation, Alpha)})";
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
