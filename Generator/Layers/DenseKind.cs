using System.Collections.Generic;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Dense(units, activation)]</c>: a fully connected layer on a vector.</summary>
internal sealed class DenseKind : LayerKind
{
    public override string AttributeName => "DenseAttribute";

    public override System.Type SpecType => typeof(DenseSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var activation = (Activation)attribute.Constructor(1, (int)Activation.Linear);
        var (activationValue, activationLocation) = attribute.Named("Activation", (int)activation, attribute.ArgumentLocation(1, "activation"));
        var (initializer, initializerLocation) = attribute.Named("Initializer", (int)Initializer.Auto);
        var (alpha, alphaLocation) = attribute.Named("Alpha", float.NaN);
        return new DenseSpec(
            attribute.Constructor(0, 0), attribute.ArgumentLocation(0, "units"), (Activation)activationValue, activationLocation, attribute.Location,
            (Initializer)initializer, initializerLocation, alpha, alphaLocation, attribute.Named("UseBias", true).Value);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var dense = (DenseSpec)layer;
        var what = $"Layer {input.Position} ([Dense])";
        var valid = IsPositive(dense.Units, dense.UnitsLocation, what + ": the number of units", diagnostics);
        valid &= CheckActivation(
            dense.Kind, input.Position, dense.Activation, dense.ActivationLocation, dense.Alpha, dense.AlphaLocation, dense.Initializer, dense.InitializerLocation, diagnostics);

        if (input.Shape.Rank != 1)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DenseNeedsVectorInput, dense.Location, input.Position, input.Shape));
            valid = false;
        }

        if (valid && (long)dense.Units * input.Shape.Size > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, dense.Location, $"{what}: its weights, {dense.Units} units by {input.Shape.Size} inputs,", (long)dense.Units * input.Shape.Size, MaxTensorSize));
            valid = false;
        }

        return valid ? Shape.Vector(dense.Units) : null;
    }

    public override long Parameters(LayerSpec layer, Shape input) => ((long)((DenseSpec)layer).Units * input.Size) + ((DenseSpec)layer).Units;
}
