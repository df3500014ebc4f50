using ModelGen.Generator.Helpers;

namespace ModelGen.Generator.Model;

/// <summary>What the parser read from one <c>[Model]</c> class: the network exactly as declared, not yet checked.</summary>
/// <param name="Type">Where the generated partial goes.</param>
/// <param name="Loss">The declared loss (possibly an undefined value: the checker reports it).</param>
/// <param name="LossLocation">The <c>Loss = …</c> argument, else the <c>[Model]</c> attribute.</param>
/// <param name="HuberDelta">The declared δ of the Huber loss (1 unless set).</param>
/// <param name="HuberDeltaLocation">The <c>HuberDelta = …</c> argument, else the <c>[Model]</c> attribute.</param>
/// <param name="Location">The class name in its declaration.</param>
/// <param name="Layers"><c>[Input]</c> and the layer attributes, in source order.</param>
/// <param name="Weights">The declared weights file to bake in, if any.</param>
/// <param name="WeightsLocation">The <c>Weights = …</c> argument.</param>
internal sealed record ModelSpec(
    TypeSpec Type,
    Loss Loss,
    LocationInfo? LossLocation,
    float HuberDelta,
    LocationInfo? HuberDeltaLocation,
    LocationInfo? Location,
    EquatableArray<LayerSpec> Layers,
    string? Weights = null,
    LocationInfo? WeightsLocation = null);

/// <summary>The user's partial class and the declarations around it.</summary>
/// <param name="Namespace">The namespace, or <see langword="null"/> for the global namespace.</param>
/// <param name="ContainingTypes">Declarations of the enclosing types, outermost first, e.g. <c>partial class Outer</c>.</param>
/// <param name="Keyword">The declaration keyword: <c>class</c> or <c>record</c>.</param>
/// <param name="Name">The class name.</param>
internal sealed record TypeSpec(string? Namespace, EquatableArray<string> ContainingTypes, string Keyword, string Name)
{
    /// <summary>A file name for the generated source, unique per type, e.g. <c>Samples.Outer.Mlp.g.cs</c>.</summary>
    public string HintName
    {
        get
        {
            var name = Namespace is null ? string.Empty : Namespace + ".";
            foreach (var declaration in ContainingTypes)
            {
                name += declaration.Substring(declaration.LastIndexOf(' ') + 1) + ".";
            }

            return name + Name + ".g.cs";
        }
    }
}

/// <summary>One declared attribute after <c>[Model]</c>; each layer kind derives from this record.</summary>
internal abstract record LayerSpec(LocationInfo? Location)
{
    /// <summary>The attribute name, for messages (e.g. <c>Dense</c>).</summary>
    public abstract string Kind { get; }
}

/// <summary><c>[Input(shape…)]</c>: the shape of one sample.</summary>
internal sealed record InputSpec(EquatableArray<int> Shape, LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "Input";
}

/// <summary><c>[BatchNorm(Momentum = …, Epsilon = …)]</c>.</summary>
internal sealed record BatchNormSpec(float Momentum, LocationInfo? MomentumLocation, float Epsilon, LocationInfo? EpsilonLocation, LocationInfo? Location)
    : LayerSpec(Location)
{
    public override string Kind => "BatchNorm";

    /// <summary>
    /// How many features the layer keeps a γ, a β and statistics for, as Keras' <c>BatchNormalization</c> after a
    /// <c>Conv2D</c> (or PyTorch's <c>BatchNorm2d</c>): each value of a vector, each channel of an image (c, h, w).
    /// </summary>
    public static int Features(Shape input) => input.Rank == 3 ? input.Dimensions[0] : input.Size;
}

/// <summary><c>[LayerNorm(Epsilon = …)]</c>.</summary>
internal sealed record LayerNormSpec(float Epsilon, LocationInfo? EpsilonLocation, LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "LayerNorm";
}

/// <summary><c>[Dropout(rate)]</c>.</summary>
internal sealed record DropoutSpec(float Rate, LocationInfo? RateLocation, LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "Dropout";
}

/// <summary><c>[Dense(units, activation)]</c>.</summary>
internal sealed record DenseSpec(
    int Units,
    LocationInfo? UnitsLocation,
    Activation Activation,
    LocationInfo? ActivationLocation,
    LocationInfo? Location,
    Initializer Initializer = Initializer.Auto,
    LocationInfo? InitializerLocation = null,
    float Alpha = float.NaN,
    LocationInfo? AlphaLocation = null) : LayerSpec(Location)
{
    public override string Kind => "Dense";
}

/// <summary><c>[Conv2D(filters, kernelSize, Stride = …, Padding = …, Activation = …)]</c>.</summary>
internal sealed record ConvSpec(
    int Filters,
    LocationInfo? FiltersLocation,
    int Kernel,
    LocationInfo? KernelLocation,
    int Stride,
    LocationInfo? StrideLocation,
    Padding Padding,
    LocationInfo? PaddingLocation,
    Activation Activation,
    LocationInfo? ActivationLocation,
    Initializer Initializer,
    LocationInfo? InitializerLocation,
    float Alpha,
    LocationInfo? AlphaLocation,
    LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "Conv2D";
}

/// <summary><c>[MaxPool2D(poolSize, Stride = …)]</c>, or <c>[AvgPool2D(…)]</c> when <paramref name="Average"/>.</summary>
internal sealed record PoolSpec(int Size, LocationInfo? SizeLocation, int Stride, LocationInfo? StrideLocation, bool Average, LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => Average ? "AvgPool2D" : "MaxPool2D";
}

/// <summary><c>[GlobalAvgPool2D]</c>.</summary>
internal sealed record GlobalPoolSpec(LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "GlobalAvgPool2D";
}

/// <summary><c>[Flatten]</c>.</summary>
internal sealed record FlattenSpec(LocationInfo? Location) : LayerSpec(Location)
{
    public override string Kind => "Flatten";
}
