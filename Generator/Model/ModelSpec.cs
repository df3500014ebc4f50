using System.Linq;
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
/// <param name="MemberLocations">Where each of <see cref="TypeSpec.Members"/> is declared, in the same order.</param>
internal sealed record ModelSpec(
    TypeSpec Type,
    Loss Loss,
    LocationInfo? LossLocation,
    float HuberDelta,
    LocationInfo? HuberDeltaLocation,
    LocationInfo? Location,
    EquatableArray<LayerSpec> Layers,
    string? Weights = null,
    LocationInfo? WeightsLocation = null,
    EquatableArray<LocationInfo> MemberLocations = default)
{
    /// <summary>The declared build-time quantization (possibly an undefined value: reported as MG0045).</summary>
    public QuantizationMode Quantize { get; init; }

    /// <summary>The <c>Quantize = …</c> argument, else the <c>[Model]</c> attribute.</summary>
    public LocationInfo? QuantizeLocation { get; init; }
}

/// <summary>The user's partial class and the declarations around it, every name as declared (without <c>@</c>).</summary>
/// <param name="Namespace">The namespace's parts, outermost first; empty for the global namespace.</param>
/// <param name="ContainingTypes">The enclosing types, outermost first.</param>
/// <param name="Keyword">The declaration keyword: <c>class</c> or <c>record</c>.</param>
/// <param name="Name">The class name.</param>
/// <param name="Members">The members the user declared on the class, to check against the generated ones (their locations travel separately, so that moving them re-plans nothing).</param>
internal sealed record TypeSpec(
    EquatableArray<string> Namespace, EquatableArray<ContainingTypeSpec> ContainingTypes, string Keyword, string Name, EquatableArray<MemberSpec> Members = default)
{
    /// <summary>The namespace as written in C#, keywords escaped (<c>@namespace.Models</c>), or null for the global namespace.</summary>
    public string? NamespaceSyntax => Namespace.Count == 0 ? null : string.Join(".", Namespace.Select(Identifiers.Escape));

    /// <summary>The class name as written in C#: <c>@class</c> for a class named <c>class</c>.</summary>
    public string NameSyntax => Identifiers.Escape(Name);

    /// <summary>The full name, exactly as declared: namespace, containing types and class, joined by dots.</summary>
    public string FullName => string.Join(".", Namespace.Concat(ContainingTypes.Select(t => t.Name)).Concat(new[] { Name }));
}

/// <summary>A type that encloses the model: <c>partial {Keyword} {Name}</c>.</summary>
internal sealed record ContainingTypeSpec(string Keyword, string Name)
{
    /// <summary>The declaration that reopens it in generated code.</summary>
    public string Declaration => $"partial {Keyword} {Identifiers.Escape(Name)}";
}

/// <summary>
/// A member the user declared on the model class: its name, and for methods and constructors the parameter list as
/// generated code would spell it (so that an overload with other parameters is told apart from a clash).
/// </summary>
/// <param name="Name">The member's name; <c>.ctor</c> for a constructor; for an explicit interface implementation, the interface's full name, a dot, and the member's.</param>
/// <param name="Parameters">For methods and constructors, the parameter types (<c>global::</c>-qualified, with <c>ref</c>/<c>in</c>/<c>out</c>), else null.</param>
internal sealed record MemberSpec(string Name, string? Parameters);

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

    /// <summary>The number of distinct tokens for an input of token ids (<c>Vocabulary = V</c>), else 0.</summary>
    public int Vocabulary { get; init; }

    /// <summary>Where <c>Vocabulary</c> is set, for diagnostics on it.</summary>
    public LocationInfo? VocabularyLocation { get; init; }
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
    LocationInfo? AlphaLocation = null,
    bool UseBias = true) : LayerSpec(Location)
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
    LocationInfo? Location,
    bool UseBias = true) : LayerSpec(Location)
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

/// <summary>A class marked <c>[Block]</c>, as a <c>[Residual]</c> uses it: its name and its layers in source order.</summary>
/// <param name="Name">The block class's name, for messages.</param>
/// <param name="Layers">Its layer attributes, read as a model's are.</param>
/// <param name="Location">The <c>typeof(…)</c> argument that names it where it is used.</param>
internal sealed record BlockSpec(string Name, EquatableArray<LayerSpec> Layers, LocationInfo? Location);

/// <summary>
/// <c>[Residual(typeof(F), Shortcut = typeof(S), Activation = …, Repeat = n)]</c>: y = act(F(x) + S(x)), S the
/// identity without a shortcut block, applied <see cref="Repeat"/> times in a row.
/// </summary>
internal sealed record ResidualSpec(
    BlockSpec Block, BlockSpec? Shortcut, Activation Activation, LocationInfo? ActivationLocation, int Repeat, LocationInfo? RepeatLocation, LocationInfo? Location)
    : LayerSpec(Location)
{
    public override string Kind => "Residual";
}

/// <summary>The sum that closes a residual connection, f(x) + s(x), then its activation: made by the checker from a <see cref="ResidualSpec"/>.</summary>
/// <param name="Residual">The connection it closes, for messages and names.</param>
/// <param name="Number">The connection's number among the model's, 1-based, outer connections before the ones in their blocks.</param>
internal sealed record AddSpec(ResidualSpec Residual, int Number) : LayerSpec(Residual.Location)
{
    public override string Kind => "Add";
}
