using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Input(shape…)]</c>: not a layer but the shape of one sample, which the checker finds before the layers.</summary>
internal sealed class InputKind : LayerKind
{
    public override string AttributeName => "InputAttribute";

    public override Type SpecType => typeof(InputSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var arguments = attribute.Data.ConstructorArguments;

        // [Input(null)] and [Input(default)] compile: the params array itself is null.
        if (arguments.Length == 1 && arguments[0].Kind == TypedConstantKind.Array && arguments[0].IsNull)
        {
            attribute.Diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.InvalidArgument, attribute.ArgumentLocation(0, "shape"), "Input", attribute.Syntax.ArgumentList!.Arguments[0].Expression.ToString(),
                "the shape of one sample, one positive size per dimension, e.g. [Input(784)] or [Input(1, 28, 28)]"));
            return new InputSpec(EquatableArray<int>.Empty, attribute.Location);
        }

        // params int[]: Roslyn hands over one array constant, whether written as a list or as an array.
        var shape = arguments.Length == 1 && arguments[0].Kind == TypedConstantKind.Array
            ? arguments[0].Values.Select(v => v.Value is int i ? i : 0)
            : arguments.Select(v => v.Value is int i ? i : 0);
        var (vocabulary, vocabularyLocation) = attribute.Named("Vocabulary", 0);
        return new InputSpec(shape.ToEquatableArray(), attribute.Location) { Vocabulary = vocabulary, VocabularyLocation = vocabularyLocation };
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics) =>
        throw new InvalidOperationException("[Input] declares the model's input; the checker reads it before the layers.");

    public override LayerPlan Plan(CheckedLayer layer, PlanContext context) =>
        throw new InvalidOperationException("[Input] declares the model's input, which has no plan of its own.");
}
