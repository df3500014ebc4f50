using System;
using System.Collections.Generic;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Activation(function, Alpha = …)]</c>: an activation applied to each value, on its own.</summary>
internal sealed class ActivationKind : LayerKind
{
    public override string AttributeName => "ActivationAttribute";

    public override Type SpecType => typeof(ActivationSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (alpha, alphaLocation) = attribute.Named("Alpha", float.NaN);
        return new ActivationSpec((Activation)attribute.Constructor(0, (int)Activation.Linear), attribute.ArgumentLocation(0, "function"), alpha, alphaLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var activation = (ActivationSpec)layer;
        return CheckActivation(
            activation.Kind, input.Position, activation.Function, activation.FunctionLocation, activation.Alpha, activation.AlphaLocation, Initializer.Auto, null, diagnostics)
            ? input.Shape
            : null;
    }
}
