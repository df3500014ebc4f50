using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary>
/// One kind of layer, as the generator's first three stages see it: how its attribute is read into a
/// <see cref="LayerSpec"/>, how its declaration is checked and its output shape inferred, and how it is planned. Each
/// kind is one file; <see cref="LayerKinds"/> lists them by attribute name.
/// </summary>
internal abstract class LayerKind
{
    /// <summary>
    /// The most values one sample's input, one layer's weights, or all parameters together may hold: 2²⁸ floats
    /// (1 GiB). Offsets and sizes in the generated code are 32-bit; this keeps every product of them far from overflow.
    /// </summary>
    public const long MaxTensorSize = 1L << 28;

    /// <summary>The attribute's class name in the <c>ModelGen</c> namespace, e.g. <c>DenseAttribute</c>.</summary>
    public abstract string AttributeName { get; }

    /// <summary>The spec type this kind reads into.</summary>
    public abstract Type SpecType { get; }

    /// <summary>
    /// Reads the attribute as declared; what it means is checked in <see cref="Infer"/>. Null after a diagnostic that
    /// leaves nothing to check (a residual connection whose block cannot be read).
    /// </summary>
    public abstract LayerSpec? Read(AttributeReader attribute);

    /// <summary>
    /// Checks the layer where it receives <paramref name="input"/> and returns its output shape, or null after
    /// reporting what is wrong on the attribute or argument at fault.
    /// </summary>
    public abstract Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics);

    /// <summary>
    /// Specs of this kind that the checker makes rather than the parser reads (a residual connection's sum), which the
    /// kind plans as well.
    /// </summary>
    public virtual IEnumerable<Type> MadeSpecTypes => [];

    /// <summary>
    /// Whether the layer's outputs are its producer's values, viewed otherwise (a flatten): it then takes no workspace
    /// of its own, unless it reads the model's input.
    /// </summary>
    public virtual bool ViewsItsInput => false;

    /// <summary>Whether it reads the model's token ids (an embedding); every other kind reads values.</summary>
    public virtual bool ReadsTokens => false;

    /// <summary>Whether a sequence layer receives positions × features; reports MG0048 if not.</summary>
    public static bool HasSequenceShape(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        if (input.Shape.IsSequence)
        {
            return true;
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NeedsSequenceInput, layer.Location, input.Position, layer.Kind, input.Shape));
        return false;
    }

    /// <summary>Whether an image it outputs lies channels-last, (h, w, c): a convolution's or pooling layer's; other layers keep their input's order.</summary>
    public virtual bool WritesChannelsLast => false;

    /// <summary>
    /// The activation the layer declares, with where, for when it is the model's last layer: a logit loss (softmax or
    /// sigmoid cross-entropy) applies its own function to the logits, so one declared there is reported; null for a
    /// kind whose output is not checked so.
    /// </summary>
    public virtual (Activation Activation, LocationInfo? Location)? OutputActivation(LayerSpec layer) => null;

    /// <summary>
    /// The layer's plan: its name, the regions it takes from <paramref name="context"/> (parameters, state, workspace,
    /// in that kind's fixed order), and how it is computed.
    /// </summary>
    public abstract LayerPlan Plan(CheckedLayer layer, PlanContext context);

    /// <summary>Trainable parameters the layer has for this input (for the whole model's size check).</summary>
    public virtual long Parameters(LayerSpec layer, Shape input) => 0;

    /// <summary>α of leaky ReLU (default 0.01) or ELU (default 1), from the declared value (NaN: not declared); 0 for other activations.</summary>
    public static float Alpha(Activation activation, float declared) => activation switch
    {
        Activation.LeakyRelu => float.IsNaN(declared) ? 0.01f : declared,
        Activation.Elu => float.IsNaN(declared) ? 1f : declared,
        _ => 0f,
    };

    /// <summary>The declared initializer, or for <see cref="Initializer.Auto"/> He for ReLU layers and Glorot for the others.</summary>
    public static Initializer ResolveInitializer(Initializer declared, Activation activation) =>
        declared != Initializer.Auto ? declared : activation == Activation.Relu ? Initializer.HeUniform : Initializer.GlorotUniform;

    /// <summary>Whether a size is positive; reports MG0003 on <paramref name="location"/> if not.</summary>
    public static bool IsPositive(int value, LocationInfo? location, string what, List<DiagnosticInfo> diagnostics)
    {
        if (value > 0)
        {
            return true;
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SizeMustBePositive, location, what, value));
        return false;
    }

    /// <summary>
    /// Whether an activation and its settings are valid for a layer: a defined activation; α only with leaky ReLU and
    /// ELU, and positive; a defined initializer. The settings are not looked at when the activation is undefined.
    /// </summary>
    public static bool CheckActivation(
        string kind, int position, Activation activation, LocationInfo? activationLocation, float alpha, LocationInfo? alphaLocation,
        Initializer initializer, LocationInfo? initializerLocation, List<DiagnosticInfo> diagnostics)
    {
        if (!Enum.IsDefined(typeof(Activation), activation))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, activationLocation, $"Layer {position} ([{kind}])", (int)activation, nameof(Activation)));
            return false;
        }

        var valid = true;
        var takesAlpha = activation is Activation.LeakyRelu or Activation.Elu;
        if (!float.IsNaN(alpha) && !takesAlpha)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidAlpha, alphaLocation, position, kind, alpha, $"Alpha applies only to LeakyRelu and Elu, not {activation}"));
            valid = false;
        }
        else if (takesAlpha && !float.IsNaN(alpha) && !(alpha > 0f && !float.IsInfinity(alpha)))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidAlpha, alphaLocation, position, kind, alpha, "it must be positive and finite"));
            valid = false;
        }

        if (!Enum.IsDefined(typeof(Initializer), initializer))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, initializerLocation, $"Layer {position} ([{kind}])", (int)initializer, nameof(Initializer)));
            valid = false;
        }

        return valid;
    }

    /// <summary>Whether a convolution or pooling layer receives channels × height × width; reports MG0026 if not.</summary>
    public static bool HasImageShape(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        if (input.Shape.Rank == 3)
        {
            return true;
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NeedsImageInput, layer.Location, input.Position, layer.Kind, input.Shape));
        return false;
    }

    /// <summary>ε is positive and finite; reports MG0019 if not.</summary>
    public static bool IsValidEpsilon(float epsilon, LocationInfo? location, int position, string kind, List<DiagnosticInfo> diagnostics)
    {
        if (epsilon > 0f && !float.IsInfinity(epsilon))
        {
            return true;
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EpsilonMustBePositive, location, position, kind, epsilon));
        return false;
    }
}

/// <summary>
/// What reaches a layer: its shape, whether an image lies channels-last there, the layer's 1-based position (for
/// messages), and the layers checked before it (a tied head looks for its embedding there).
/// </summary>
internal readonly record struct LayerInput(Shape Shape, bool ChannelsLast, int Position, IReadOnlyList<CheckedLayer>? Before = null);

/// <summary>One ModelGen attribute as written, with the helpers a <see cref="LayerKind"/> reads it with.</summary>
internal sealed class AttributeReader(
    AttributeSyntax syntax, AttributeData data, List<DiagnosticInfo> diagnostics, Func<INamedTypeSymbol?, LocationInfo?, BlockSpec?> readBlock)
{
    /// <summary>Where an argument that can mean nothing is reported (most are checked later, in <see cref="LayerKind.Infer"/>).</summary>
    public List<DiagnosticInfo> Diagnostics => diagnostics;

    /// <summary>The attribute as written, for diagnostics on it.</summary>
    public LocationInfo? Location { get; } = LocationInfo.From(syntax);

    /// <summary>The attribute's syntax.</summary>
    public AttributeSyntax Syntax => syntax;

    /// <summary>What the compiler bound.</summary>
    public AttributeData Data => data;

    /// <summary>The constructor argument at <paramref name="position"/> when it holds a <typeparamref name="T"/>, else <paramref name="fallback"/>.</summary>
    public T Constructor<T>(int position, T fallback) =>
        position < data.ConstructorArguments.Length && data.ConstructorArguments[position].Value is T value ? value : fallback;

    /// <summary>The location of a constructor argument, written by position or as <c>name: value</c>; else the attribute's.</summary>
    public LocationInfo? ArgumentLocation(int position, string parameterName)
    {
        var arguments = syntax.ArgumentList?.Arguments ?? default;
        var named = arguments.FirstOrDefault(a => a.NameColon?.Name.Identifier.Text == parameterName);
        if (named is not null)
        {
            return LocationInfo.From(named);
        }

        return position < arguments.Count && arguments[position].NameColon is null && arguments[position].NameEquals is null
            ? LocationInfo.From(arguments[position])
            : Location;
    }

    /// <summary>
    /// A property set on the attribute (<c>Name = value</c>) when it holds a <typeparamref name="T"/>, with the location
    /// of that argument; else <paramref name="fallback"/> at <paramref name="fallbackLocation"/> (the attribute's by default).
    /// </summary>
    public (T Value, LocationInfo? Location) Named<T>(string name, T fallback, LocationInfo? fallbackLocation = null)
    {
        foreach (var argument in data.NamedArguments)
        {
            if (argument.Key == name && argument.Value.Value is T value)
            {
                var argumentSyntax = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == name);
                return (value, LocationInfo.From((SyntaxNode?)argumentSyntax ?? syntax));
            }
        }

        return (fallback, fallbackLocation ?? Location);
    }

    /// <summary>The layers of the block class <paramref name="type"/>, or null after a diagnostic at <paramref name="location"/>.</summary>
    public BlockSpec? Block(INamedTypeSymbol? type, LocationInfo? location) => readBlock(type, location);
}
