using System;
using System.Collections.Generic;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[MaxPool2D(poolSize, Stride = …)]</c>, or <c>[AvgPool2D(…)]</c> when <paramref name="average"/>: one kind, two attributes.</summary>
internal sealed class PoolKind(bool average) : LayerKind
{
    public override string AttributeName => average ? "AvgPool2DAttribute" : "MaxPool2DAttribute";

    public override Type SpecType => typeof(PoolSpec);

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
