using System;
using System.Collections.Generic;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[BatchNorm(Momentum = …, Epsilon = …)]</c>: per feature of a vector, per channel of an image.</summary>
internal sealed class BatchNormKind : LayerKind
{
    public override string AttributeName => "BatchNormAttribute";

    public override Type SpecType => typeof(BatchNormSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (momentum, momentumLocation) = attribute.Named("Momentum", 0.99f);
        var (epsilon, epsilonLocation) = attribute.Named("Epsilon", 1e-3f);
        return new BatchNormSpec(momentum, momentumLocation, epsilon, epsilonLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var norm = (BatchNormSpec)layer;
        var valid = true;
        if (input.Shape.Rank == 3 && input.Shape.Dimensions[0] > 1 && !input.ChannelsLast)
        {
            // Per-channel statistics are computed on channels-last values; the model's own input is channels-first.
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BatchNormOnInputImage, norm.Location, input.Position, input.Shape));
            valid = false;
        }

        if (!(norm.Momentum >= 0f && norm.Momentum < 1f))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MomentumOutOfRange, norm.MomentumLocation, input.Position, norm.Momentum));
            valid = false;
        }

        valid &= IsValidEpsilon(norm.Epsilon, norm.EpsilonLocation, input.Position, norm.Kind, diagnostics);
        return valid ? input.Shape : null;
    }

    public override long Parameters(LayerSpec layer, Shape input) => 2L * BatchNormSpec.Features(input);

    /// <summary>γ and β in the parameters, x̂ in the workspace, the running mean and variance and the last batch's 1/σ in the state.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var norm = (BatchNormSpec)layer.Layer;
        // One γ, β and pair of statistics per feature of a vector, per channel of an image: the values of an image lie
        // channels-last here (or it has one channel), so each row of Size / features values is one position's channels
        // and the batch's statistics run over every position of every sample.
        var features = BatchNormSpec.Features(layer.Input);
        var (gamma, beta) = (context.Parameters.Take(features), context.Parameters.Take(features));
        var normalized = context.Workspace.Take(layer.Input.Size);
        var (mean, variance, inverse) = (context.State.Take(features), context.State.Take(features), context.State.Take(features));
        return new BatchNormPlan(
            context.Position, context.Next("batch_norm"), layer.Input.Size, features, norm.Momentum, norm.Epsilon, gamma, beta, context.OutputOffset, normalized,
            mean, variance, inverse);
    }
}

/// <summary><c>[LayerNorm(Epsilon = …)]</c>: each sample normalized over all of its values.</summary>
internal sealed class LayerNormKind : LayerKind
{
    public override string AttributeName => "LayerNormAttribute";

    public override Type SpecType => typeof(LayerNormSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (epsilon, epsilonLocation) = attribute.Named("Epsilon", 1e-5f);
        return new LayerNormSpec(epsilon, epsilonLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var norm = (LayerNormSpec)layer;
        if (!IsValidEpsilon(norm.Epsilon, norm.EpsilonLocation, input.Position, norm.Kind, diagnostics))
        {
            return null;
        }

        if (input.Shape.Size < 2)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerNormNeedsTwoValues, norm.Location, input.Position, input.Shape.Size));
            return null;
        }

        return input.Shape;
    }

    public override long Parameters(LayerSpec layer, Shape input) => 2L * input.Size;

    /// <summary>γ and β in the parameters; x̂ and each sample's 1/σ in the workspace.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var size = layer.Input.Size;
        var (gamma, beta) = (context.Parameters.Take(size), context.Parameters.Take(size));
        var (normalized, inverse) = (context.Workspace.Take(size), context.Workspace.Take(1));
        return new LayerNormPlan(context.Position, context.Next("layer_norm"), size, ((LayerNormSpec)layer.Layer).Epsilon, gamma, beta, context.OutputOffset, normalized, inverse);
    }
}

/// <summary><c>[Dropout(rate)]</c>: values zeroed at random while training.</summary>
internal sealed class DropoutKind : LayerKind
{
    public override string AttributeName => "DropoutAttribute";

    public override Type SpecType => typeof(DropoutSpec);

    public override LayerSpec? Read(AttributeReader attribute) =>
        new DropoutSpec(attribute.Constructor(0, float.NaN), attribute.ArgumentLocation(0, "rate"), attribute.Location);

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var dropout = (DropoutSpec)layer;
        if (!(dropout.Rate >= 0f && dropout.Rate < 1f))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DropoutRateOutOfRange, dropout.RateLocation, input.Position, dropout.Rate));
            return null;
        }

        return input.Shape;
    }

    /// <summary>Its mask after its outputs in the workspace.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context) =>
        new DropoutPlan(context.Position, context.Next("dropout"), layer.Input.Size, ((DropoutSpec)layer.Layer).Rate, context.OutputOffset, context.Workspace.Take(layer.Input.Size));
}
