using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary>Every layer kind, found by its attribute's class name or by the spec it reads into: a new kind is one line here.</summary>
internal static class LayerKinds
{
    private static readonly LayerKind[] All =
    [
        new InputKind(),
        new DenseKind(),
        new DropoutKind(),
        new LayerNormKind(),
        new BatchNormKind(),
        new ConvKind(),
        new PoolKind(average: false),
        new PoolKind(average: true),
        new GlobalPoolKind(),
        new FlattenKind(),
        new ActivationKind(),
        new ResidualKind(),
        new EmbeddingKind(),
        new AttentionKind(),
        new TiedHeadKind(),
        new RecurrentKind(gru: false),
        new RecurrentKind(gru: true),
        new SequencePoolKind(),
    ];

    private static readonly Dictionary<string, LayerKind> ByAttribute = All.ToDictionary(k => k.AttributeName, StringComparer.Ordinal);

    private static readonly Dictionary<Type, LayerKind> BySpec = All
        .SelectMany(k => k.MadeSpecTypes.Prepend(k.SpecType), (kind, spec) => (kind, spec))
        .GroupBy(k => k.spec)
        .ToDictionary(g => g.Key, g => g.First().kind);

    /// <summary>The attribute class names that declare a model's input and layers, in the <c>ModelGen</c> namespace.</summary>
    public static readonly string[] AttributeNames = All.Select(k => k.AttributeName).ToArray();

    /// <summary>The kind an attribute class declares, or null for an attribute that declares no layer.</summary>
    public static LayerKind? ForAttribute(string attributeName) => ByAttribute.TryGetValue(attributeName, out var kind) ? kind : null;

    /// <summary>The kind that reads, checks and plans <paramref name="layer"/>.</summary>
    public static LayerKind For(LayerSpec layer) =>
        BySpec.TryGetValue(layer.GetType(), out var kind) ? kind : throw new InvalidOperationException("No layer kind reads " + layer.GetType().Name);
}
