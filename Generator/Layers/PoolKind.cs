using System;
using System.Collections.Generic;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[MaxPool2D(poolSize, Stride = …)]</c>, or <c>[AvgPool2D(…)]</c> when <paramref name="average"/>: one kind, two attributes.</summary>
internal sealed class PoolKind(bool average) : LayerKind
{
    public override string AttributeName => average ? "AvgPool2DAttribute" : "MaxPool2DAttribute";

    public override Type SpecType => typeof(PoolSpec);

    public override bool WritesChannelsLast => true;

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var size = attribute.Constructor(0, 0);
        var sizeLocation = attribute.ArgumentLocation(0, "poolSize");
        var (stride, strideLocation) = attribute.Named("Stride", size, sizeLocation);
        return new PoolSpec(size, sizeLocation, stride, strideLocation, average, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var pool = (PoolSpec)layer;
        var what = $"Layer {input.Position} ([{pool.Kind}])";
        // The stride defaults to the pool size: one error for a bad size, not two.
        var valid = IsPositive(pool.Size, pool.SizeLocation, what + ": the pool size", diagnostics)
            && IsPositive(pool.Stride, pool.StrideLocation, what + ": the stride", diagnostics);

        if (!HasImageShape(pool, input, diagnostics) || !valid)
        {
            return null;
        }

        var (channels, height, width) = (input.Shape.Dimensions[0], input.Shape.Dimensions[1], input.Shape.Dimensions[2]);
        if (pool.Size > height || pool.Size > width)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WindowTooLarge, pool.SizeLocation, input.Position, pool.Kind, pool.Size, height, width, string.Empty));
            return null;
        }

        var (outputHeight, outputWidth) = (Windows.OutputLength(height, pool.Size, pool.Stride, Padding.Valid), Windows.OutputLength(width, pool.Size, pool.Stride, Padding.Valid));
        return new Shape(new[] { channels, outputHeight, outputWidth }.ToEquatableArray());
    }

    /// <summary>Max pooling keeps each output's input index after its outputs, for backward; average pooling keeps nothing.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var pool = (PoolSpec)layer.Layer;
        var window = context.Window(layer, pool.Size, pool.Stride, Padding.Valid);
        var argmaxOffset = pool.Average ? -1 : context.Workspace.Take(layer.Output.Size);
        return new PoolPlan(context.Position, context.Next("pool"), layer.Input.Size, layer.Output.Size, context.OutputOffset, window, pool.Average, argmaxOffset);
    }
}

/// <summary><c>[GlobalAvgPool2D]</c>: an image becomes the vector of its channels' means.</summary>
internal sealed class GlobalPoolKind : LayerKind
{
    public override string AttributeName => "GlobalAvgPool2DAttribute";

    public override Type SpecType => typeof(GlobalPoolSpec);

    public override LayerSpec? Read(AttributeReader attribute) => new GlobalPoolSpec(attribute.Location);

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics) =>
        HasImageShape(layer, input, diagnostics) ? Shape.Vector(input.Shape.Dimensions[0]) : null;

    /// <summary>Its outputs only: backward spreads each channel's gradient evenly, from the shape alone.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var image = layer.Input.Dimensions;
        return new GlobalPoolPlan(context.Position, context.Next("global_pool"), image[0], image[1], image[2], context.ChannelsLast, context.OutputOffset);
    }
}

/// <summary><c>[Flatten]</c>: a sample viewed as one vector.</summary>
internal sealed class FlattenKind : LayerKind
{
    public override string AttributeName => "FlattenAttribute";

    public override Type SpecType => typeof(FlattenSpec);

    public override LayerSpec? Read(AttributeReader attribute) => new FlattenSpec(attribute.Location);

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics) => Shape.Vector(input.Shape.Size);

    /// <summary>A view of its producer's outputs: a flatten takes no workspace of its own, except on the model's input, which it copies.</summary>
    public override bool ViewsItsInput => true;

    public override LayerPlan Plan(CheckedLayer layer, PlanContext context) =>
        new FlattenPlan(context.Position, context.Next("flatten"), layer.Input.Size, context.OutputOffset);
}

/// <summary>One max- or average-pooling layer of a plan: for max pooling, the index of each output's input kept for backward.</summary>
/// <param name="Index">1-based position among the pooling layers of either kind.</param>
/// <param name="Average">Whether each output is its window's mean rather than its largest value.</param>
/// <param name="ArgmaxOffset">
/// Offset in the workspace, per sample, of each output's input index (ints stored in the float workspace); −1 for
/// average pooling, which keeps nothing.
/// </param>
internal sealed record PoolPlan(int Position, int Index, int InputSize, int Units, int OutputOffset, WindowPlan Window, bool Average, int ArgmaxOffset)
    : LayerPlan(Position, InputSize, Units, OutputOffset)
{
    public override string Name => (Average ? "average_pooling2d_" : "max_pooling2d_") + Index;

    public override string Identifier => "Pool" + Index;

    public string Kind => Average ? "AvgPool2D" : "MaxPool2D";

    public override WindowPlan SlidingWindow => Window;

    /// <summary>Its outputs, and for max pooling each output's input index, which backward routes the gradient to.</summary>
    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        if (!Average)
        {
            writer.WriteLine($"private const int {Identifier}Argmax = {ArgmaxOffset}; // {Name} index of each output's input (ints)");
        }
    }

    public override string[] RemarksRow(ModelPlan plan) =>
        [Name, Kind, string.Empty, Window.InputDimensions, Window.OutputDimensions(Window.Channels), "0", $"{Window.Kernel}×{Window.Kernel}, stride {Window.Stride}"];

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        if (!PoolGate.AbsorbsForward(context.Plan, this))
        {
            writer.WriteLine();
            ConvEmitter.WritePoolForward(writer, this);
        }

        writer.WriteLine();
        var gate = PoolGate.AppliedBy(context.Plan, this);
        ConvEmitter.WritePoolBackward(writer, this, gate);
        if (gate is { FusesBackward: true })
        {
            writer.WriteLine();
            ConvEmitter.WritePoolAndConvBackward(writer, gate);
        }
    }

    /// <summary>
    /// None where no layer before it has parameters: its backward only hands the gradient on. Where it applies the ReLU
    /// derivative of the convolution below (<see cref="PoolGate"/>), it reads its own outputs, and where it also takes
    /// that convolution's gradients (<see cref="PoolGate.FusesBackwardIn"/>), the convolution's input.
    /// </summary>
    public override string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        if (dx is null)
        {
            return null;
        }

        if (PoolGate.AppliedBy(context.Plan, this) is not { } gate)
        {
            return $"{Identifier}Backward({dy}, {dx}, batch);";
        }

        reads.Add(Output);
        if (!gate.FusesBackwardIn(context))
        {
            return $"{Identifier}Backward({Output}, {dy}, {dx}, batch);";
        }

        var convInput = context.InputOf(gate.Conv);
        reads.Add(convInput);
        return $"{Identifier}And{gate.Conv.Identifier}Backward({convInput}, {Output}, {dy}, batch);";
    }

    public override string? SampleNormsCall(string input, string dy) => null;

    public override void AddTorch(TorchBuilder torch)
    {
        var stride = Window.Stride == Window.Kernel ? string.Empty : ", stride=" + TorchEquivalent.Int(Window.Stride);
        torch.Add($"nn.{(Average ? "AvgPool2d" : "MaxPool2d")}({Window.Kernel}{stride})");
        torch.Flow = TorchFlow.Picture(Window.Channels, Window.OutputHeight, Window.OutputWidth, channelsLast: true);
    }

    public override string OnnxLayer(string tensors) => $"{OnnxEmitter.Layer}.{Kind}({Window.Kernel}, {Window.Stride})";
}

/// <summary>One global-average-pooling layer of a plan: each channel's mean over its positions, a vector of the channels.</summary>
/// <param name="Index">1-based position among the global pooling layers.</param>
/// <param name="Channels">Channels of the image: the outputs per sample.</param>
/// <param name="Height">Rows of the image.</param>
/// <param name="Width">Columns of the image.</param>
/// <param name="ChannelsLast">Whether the image is stored (h, w, c) (after a convolution or pooling layer) rather than (c, h, w).</param>
internal sealed record GlobalPoolPlan(int Position, int Index, int Channels, int Height, int Width, bool ChannelsLast, int OutputOffset)
    : LayerPlan(Position, Channels * Height * Width, Channels, OutputOffset)
{
    public override string Name => "global_average_pooling2d_" + Index;

    public override string Identifier => "GlobalPool" + Index;

    /// <summary>Positions per channel: height × width.</summary>
    public int Positions => Height * Width;

    public override string[] RemarksRow(ModelPlan plan) =>
        [Name, "GlobalAvgPool2D", string.Empty, $"{Channels}×{Height}×{Width}", Emitter.Count(Channels), "0", $"each channel's mean over its {Emitter.Count(Positions)} positions"];

    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        ConvEmitter.WriteGlobalPoolForward(writer, this);
        writer.WriteLine();
        ConvEmitter.WriteGlobalPoolBackward(writer, this);
    }

    /// <summary>None where no layer before it has parameters: its backward only hands the gradient on.</summary>
    public override string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) =>
        dx is null ? null : $"{Identifier}Backward({dy}, {dx}, batch);";

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>nn.AdaptiveAvgPool2d(1)</c> leaves a 1×1 image, which <c>nn.Flatten</c> makes the vector of its channels.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.Add("nn.AdaptiveAvgPool2d(1)");
        torch.Add("nn.Flatten()");
        torch.Flow = TorchFlow.Vector(Channels);
    }

    public override string OnnxLayer(string tensors) => $"{OnnxEmitter.Layer}.GlobalAvgPool2D()";
}

/// <summary>One flatten layer of a plan: its output is its input's workspace, viewed as one vector (a copy only as the first layer).</summary>
internal sealed record FlattenPlan(int Position, int Index, int Size, int OutputOffset) : LayerPlan(Position, Size, Size, OutputOffset)
{
    public override string Name => "flatten_" + Index;

    public override string Identifier => "Flatten" + Index;

    public override string[] RemarksRow(ModelPlan plan) => [Name, "Flatten", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), "0", "a view: nothing computed"];

    /// <summary>Always: its gradient is its input's, viewed again.</summary>
    public override bool PassesGradientOn(bool toInputs, EquatableArray<BackwardFusion> fusions) => true;

    /// <summary>Its outputs: the layer's before it, viewed, except where it reads the model's input (which it copies).</summary>
    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        if (Inputs[0] == 0)
        {
            base.WriteWorkspaceLayout(writer, plan);
            return;
        }

        writer.WriteLine($"private const int {Identifier}Output = {OutputOffset}; // {Name} outputs: {plan.At(Inputs[0]).Name}'s, viewed as one vector of {Units} per sample");
    }

    /// <summary>Its input's variable under a new name; the model's inputs, which are read-only, copied.</summary>
    public override void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        var input = context.InputOf(this);
        if (Inputs[0] == 0)
        {
            writer.WriteLine($"// {Name}: the inputs, copied to be viewed as one vector per sample");
            writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, batch);");
            writer.WriteLine($"{input}.Slice(0, batch * {Units}).CopyTo({Output});");
        }
        else
        {
            writer.WriteLine($"var {Output} = {input}; // {Name}: the same values, viewed as one vector of {Units} per sample");
        }
    }

    /// <summary>None: a view computes nothing (the forward pass copies the model's input where a flatten reads it).</summary>
    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
    }

    /// <summary>None: its gradient is its input's.</summary>
    public override string? BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) => null;

    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary><c>nn.Flatten</c>; an image's values stay where they are, in ModelGen's order.</summary>
    public override void AddTorch(TorchBuilder torch)
    {
        torch.Add("nn.Flatten()");
        torch.Flow = torch.Flow.Image ? torch.Flow with { Image = false, FlatImage = true } : torch.Flow;
    }

    public override string OnnxLayer(string tensors) => $"{OnnxEmitter.Layer}.Flatten()";
}
