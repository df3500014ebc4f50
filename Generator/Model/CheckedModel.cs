using ModelGen.Generator.Helpers;

namespace ModelGen.Generator.Model;

/// <summary>The result of a pipeline stage that can fail: a value when it is usable, and the diagnostics found on the way.</summary>
internal sealed record StageResult<T>(T? Value, EquatableArray<DiagnosticInfo> Diagnostics)
    where T : class
{
    /// <summary>
    /// For a model whose declaration is sound but whose network has errors: the class to give stand-in members, so that
    /// the code that uses the model compiles meanwhile and the build reports only the MG errors.
    /// </summary>
    public TypeSpec? StandInType { get; init; }
}

/// <summary>A network whose declarations passed every check, with each layer's input and output shape inferred.</summary>
/// <param name="Weights">The weights file to bake in, if declared.</param>
/// <param name="WeightsLocation">Where it is declared, for MG0022–MG0025.</param>
/// <param name="Location">The class name in its declaration.</param>
/// <param name="MemberLocations">Where each of the type's declared members is, for MG0030.</param>
internal sealed record CheckedModel(
    TypeSpec Type,
    Loss Loss,
    float HuberDelta,
    Shape Input,
    EquatableArray<CheckedLayer> Layers,
    string? Weights = null,
    LocationInfo? WeightsLocation = null,
    LocationInfo? Location = null,
    EquatableArray<LocationInfo> MemberLocations = default)
{
    /// <summary>The declared build-time quantization (<c>[Model(Quantize = …)]</c>).</summary>
    public QuantizationMode Quantize { get; init; }

    /// <summary>Where it is declared, for MG0044 and MG0045.</summary>
    public LocationInfo? QuantizeLocation { get; init; }
}

/// <summary>One node of the checked network: a layer with its inferred shapes and the nodes it reads.</summary>
internal sealed record CheckedLayer(LayerSpec Layer, Shape Input, Shape Output)
{
    /// <summary>
    /// The nodes whose outputs this one reads, by 1-based position among the checked layers; 0 is the model's input.
    /// One for every layer; two for the sum that closes a residual connection (the block's output, then the shortcut's).
    /// </summary>
    public EquatableArray<int> Inputs { get; init; }

    /// <summary>Whether the output, an image, lies channels-last (h, w, c): after a convolution or pooling layer.</summary>
    public bool ChannelsLast { get; init; }

    /// <summary>
    /// The residual connections the node lies in, outermost first, each as its number among the model's residual
    /// connections (1-based, in order) and the part: <c>"2.branch"</c> or <c>"2.shortcut"</c>. Empty at the model's top level.
    /// </summary>
    public EquatableArray<string> Scope { get; init; }
}

/// <summary>The shape of one sample as it flows between layers (the batch dimension is implicit).</summary>
internal sealed record Shape(EquatableArray<int> Dimensions)
{
    public int Rank => Dimensions.Count;

    public int Size
    {
        get
        {
            var size = 1;
            foreach (var dimension in Dimensions)
            {
                size *= dimension;
            }

            return size;
        }
    }

    /// <summary>
    /// For the model's input of token ids, the number of distinct tokens V; 0 for values. Only an embedding reads ids;
    /// what it gives is a sequence of values.
    /// </summary>
    public int Vocabulary { get; init; }

    /// <summary>Whether the shape is a sequence of positions × features (rank 2), on which dense and normalization layers work position by position.</summary>
    public bool IsSequence => Rank == 2 && Vocabulary == 0;

    /// <summary>Positions of a sequence, or of a token input; 1 otherwise.</summary>
    public int Positions => IsSequence || Vocabulary > 0 ? Dimensions[0] : 1;

    /// <summary>Values per position of a sequence (its last dimension); the whole size otherwise.</summary>
    public int Features => IsSequence ? Dimensions[1] : Size;

    public static Shape Vector(int length) => new(new[] { length }.ToEquatableArray());

    /// <summary>A sequence of <paramref name="positions"/> positions of <paramref name="features"/> values each.</summary>
    public static Shape Sequence(int positions, int features) => new(new[] { positions, features }.ToEquatableArray());

    /// <summary>Formats the shape as <c>1×28×28</c>, or token ids as <c>64 tokens of 96</c>.</summary>
    public override string ToString() => Vocabulary > 0 ? $"{Dimensions[0]} tokens of {Vocabulary}" : string.Join("×", Dimensions);
}
