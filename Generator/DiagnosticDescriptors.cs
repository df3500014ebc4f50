using Microsoft.CodeAnalysis;

namespace ModelGen.Generator;

/// <summary>
/// Every diagnostic ModelGen reports. Ids are never reused; each one is documented in <c>docs/diagnostics.md</c> and
/// listed in <c>AnalyzerReleases.Unshipped.md</c>.
/// </summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "ModelGen";

    public static readonly DiagnosticDescriptor ModelMustBePartial = Error(
        "MG0001",
        "Model class must be partial",
        "'{0}' must be declared partial: ModelGen adds the generated members of model '{1}' to it");

    public static readonly DiagnosticDescriptor MissingInput = Error(
        "MG0002",
        "Model has no [Input]",
        "Model '{0}' has no [Input] attribute: declare the shape of one sample first, e.g. [Input(784)]");

    public static readonly DiagnosticDescriptor SizeMustBePositive = Error(
        "MG0003",
        "Size must be positive",
        "{0} must be positive, but it is {1}");

    public static readonly DiagnosticDescriptor LayersOnSeveralDeclarations = Error(
        "MG0004",
        "Layers are declared on more than one partial declaration",
        "The layers of model '{0}' are spread over several partial declarations, so their order is undefined: put [Input] and every layer attribute on one declaration");

    public static readonly DiagnosticDescriptor DuplicateInput = Error(
        "MG0005",
        "Model has more than one [Input]",
        "Model '{0}' declares [Input] more than once: a model has exactly one input");

    public static readonly DiagnosticDescriptor LayerBeforeInput = Error(
        "MG0006",
        "Layer declared before [Input]",
        "[{0}] comes before [Input]: layers are the attributes after [Input], in source order");

    public static readonly DiagnosticDescriptor NoLayers = Error(
        "MG0007",
        "Model has no layers",
        "Model '{0}' declares no layer after [Input]: add at least one, e.g. [Dense(10)]");

    public static readonly DiagnosticDescriptor UndefinedEnumValue = Error(
        "MG0008",
        "Undefined enum value",
        "{0}: {1} is not a defined {2} value");

    public static readonly DiagnosticDescriptor DenseNeedsVectorInput = Error(
        "MG0009",
        "Dense needs a one-dimensional input",
        "Layer {0} ([Dense]) needs a one-dimensional input, but it receives samples of shape {1}: put [Flatten] before it, or give [Input] one dimension, e.g. [Input(784)] for 28×28 images");

    public static readonly DiagnosticDescriptor ModelCannotBeGeneric = Error(
        "MG0010",
        "Model class cannot be generic",
        "Model '{0}' cannot be generic, nor be nested in a generic type: its shapes must be fixed at compile time");

    public static readonly DiagnosticDescriptor ModelCannotBeStatic = Error(
        "MG0011",
        "Model class cannot be static",
        "Model '{0}' cannot be static: a model is an object that holds its parameters");

    public static readonly DiagnosticDescriptor HuberDeltaMustBePositive = Error(
        "MG0012",
        "Huber delta must be positive",
        "HuberDelta is {0}; the Huber loss needs a positive, finite δ");

    public static readonly DiagnosticDescriptor LossDoesNotFitOutput = Error(
        "MG0013",
        "Loss does not fit the output",
        "Loss {0} does not fit an output of {1} unit(s): it needs {2}");

    public static readonly DiagnosticDescriptor ActivationBeforeLogitLoss = Create(
        "MG0014",
        "Activation before a loss that applies its own",
        "The last layer applies {0}, but loss {1} applies {2} to the last layer's outputs itself: use Activation.Linear there",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DropoutRateOutOfRange = Error(
        "MG0015",
        "Dropout rate out of range",
        "Layer {0} ([Dropout]): the rate is {1}; it must lie in [0, 1)");

    public static readonly DiagnosticDescriptor InvalidAlpha = Error(
        "MG0016",
        "Invalid Alpha",
        "Layer {0} ([{1}]): Alpha = {2}: {3}");

    public static readonly DiagnosticDescriptor ModelTooLarge = Error(
        "MG0017",
        "Model too large",
        "{0} would hold {1} values, more than the {2} a ModelGen tensor may hold");

    public static readonly DiagnosticDescriptor ModelCannotBeAbstract = Error(
        "MG0018",
        "Model class cannot be abstract",
        "Model '{0}' cannot be abstract: its generated Load and constructors create instances of it");

    public static readonly DiagnosticDescriptor EpsilonMustBePositive = Error(
        "MG0019",
        "Epsilon must be positive",
        "Layer {0} ([{1}]): Epsilon is {2}; it must be positive and finite");

    public static readonly DiagnosticDescriptor LayerNormNeedsTwoValues = Error(
        "MG0020",
        "LayerNorm needs at least two values",
        "Layer {0} ([LayerNorm]) receives {1} value(s) per sample: normalizing one value always gives 0");

    public static readonly DiagnosticDescriptor MomentumOutOfRange = Error(
        "MG0021",
        "BatchNorm momentum out of range",
        "Layer {0} ([BatchNorm]): Momentum is {1}; it must lie in [0, 1)");

    public static readonly DiagnosticDescriptor WeightsFileNotFound = Error(
        "MG0022",
        "Weights file not found",
        "The weights file '{0}' of model '{1}' is not among the project's AdditionalFiles: add <AdditionalFiles Include=\"{0}\" /> to the project file (ModelGen bakes .safetensors files)");

    public static readonly DiagnosticDescriptor WeightsFileUnreadable = Error(
        "MG0023",
        "Weights file unreadable",
        "The weights file '{0}' cannot be baked: {1}");

    public static readonly DiagnosticDescriptor WeightsFileMismatch = Error(
        "MG0024",
        "Weights file does not fit the model",
        "The weights file '{0}' does not hold the parameters of model '{1}': {2}");

    public static readonly DiagnosticDescriptor WeightsFileAmbiguous = Error(
        "MG0025",
        "Weights file ambiguous",
        "The weights file '{0}' of model '{1}' matches several AdditionalFiles ({2}): give more of its path");

    public static readonly DiagnosticDescriptor NeedsImageInput = Error(
        "MG0026",
        "Layer needs a channels × height × width input",
        "Layer {0} ([{1}]) needs samples of channels × height × width, but it receives samples of shape {2}: declare the input so, e.g. [Input(1, 28, 28)], and flatten only after the last convolution or pooling layer");

    public static readonly DiagnosticDescriptor WindowTooLarge = Error(
        "MG0027",
        "Window larger than its input",
        "Layer {0} ([{1}]): its {2}×{2} window does not fit the {3}×{4} input{5}");

    public static readonly DiagnosticDescriptor BatchNormOnInputImage = Error(
        "MG0028",
        "BatchNorm on a multi-channel input image",
        "Layer {0} ([BatchNorm]): the model's {1} input image is normalized per channel only after a [Conv2D] or a pooling layer; normalize the input data before training, or move [BatchNorm] after the first convolution");

    public static readonly DiagnosticDescriptor InvalidArgument = Error(
        "MG0029",
        "Invalid attribute argument",
        "[{0}]: '{1}' is not a valid argument: give {2}");

    public static readonly DiagnosticDescriptor MemberConflictsWithGenerated = Error(
        "MG0030",
        "Member has the name of a generated member",
        "'{0}' on model '{1}' clashes with the member {2} that ModelGen generates: rename it");

    public static readonly DiagnosticDescriptor ModelNamedLikeGeneratedMember = Error(
        "MG0031",
        "Model class has the name of a generated member",
        "Model '{0}' has the name of one of the members ModelGen generates on it ({0}), and a member cannot be named like its class: rename the class");

    public static readonly DiagnosticDescriptor ModelCannotHavePrimaryConstructor = Error(
        "MG0032",
        "Model class cannot have a primary constructor",
        "Model '{0}' cannot have a primary constructor: ModelGen generates its constructors (new {0}() and new {0}(seed)), which could not pass the primary constructor its arguments; use fields or properties instead");

    public static readonly DiagnosticDescriptor ModelCannotBeFileLocal = Error(
        "MG0033",
        "Model class cannot be file-local",
        "Model '{0}' cannot be generated: '{1}' is file-local, and ModelGen adds the model's members from a file of its own; declare it internal instead of file");

    public static readonly DiagnosticDescriptor NameHidesKeyword = Error(
        "MG0034",
        "A name in scope hides a contextual keyword",
        "Something named '{0}' is visible inside model '{1}', so the '{0}' in its generated code would mean it instead of the keyword: rename it");

    public static readonly DiagnosticDescriptor BaseNeedsParameterlessConstructor = Error(
        "MG0035",
        "Base class has no parameterless constructor",
        "Model '{0}' derives from '{1}', which has no accessible constructor without arguments: the generated constructors of '{0}' need one");

    public static readonly DiagnosticDescriptor ModelCannotHaveRequiredMembers = Error(
        "MG0036",
        "Model class cannot have required members",
        "Model '{0}' cannot have the required member '{1}': Load and the generated constructors create the model without an initializer to set it; drop 'required' and give it a default");

    public static readonly DiagnosticDescriptor LayersWithoutModel = Create(
        "MG0037",
        "Layer attributes without [Model]",
        "'{0}' declares layers but has no [Model] attribute, so ModelGen generates nothing for it: add [Model] (with its Loss) to compile it into a model",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor NotABlock = Error(
        "MG0038",
        "Residual block type is not a block",
        "'{0}' is used as a block of [Residual] but has no [Block] attribute: mark it [Block] and declare its layers on it");

    public static readonly DiagnosticDescriptor EmptyBlock = Error(
        "MG0039",
        "Block has no layers",
        "Block '{0}' declares no layers, so the residual connection would compute nothing: give it at least one layer attribute");

    public static readonly DiagnosticDescriptor BlockContainsItself = Error(
        "MG0040",
        "Block contains itself",
        "Block '{0}' uses itself through [Residual] ({1}), which would never end: a block may use other blocks only");

    public static readonly DiagnosticDescriptor ResidualShapesDiffer = Error(
        "MG0041",
        "Residual shapes do not match",
        "Layer {0} ([Residual]): block '{1}' turns {2} into {3}, which cannot be added to its input{4}: give the residual a Shortcut block that maps {2} to {3} (e.g. a 1×1 [Conv2D] with a stride), or keep the block's output shape");

    public static readonly DiagnosticDescriptor ShortcutShapeDiffers = Error(
        "MG0042",
        "Shortcut does not fix the shape",
        "Layer {0} ([Residual]): shortcut block '{1}' turns {2} into {3}, but block '{4}' gives {5}; the two must have the same shape to be added");

    public static readonly DiagnosticDescriptor InputInBlock = Error(
        "MG0043",
        "[Input] in a block",
        "Block '{0}' declares [Input], but a block's input is whatever reaches it where it is used: remove [Input] from the block");

    public static readonly DiagnosticDescriptor QuantizeWithoutWeights = Error(
        "MG0044",
        "Quantize without Weights",
        "Model '{0}' asks for Quantize = QuantizationMode.{1} but bakes no weights: build-time quantization quantizes the weights file named by Weights = \"….safetensors\"; add it, or quantize a trained model at run time with its Quantize() method");

    public static readonly DiagnosticDescriptor CannotQuantize = Error(
        "MG0045",
        "Model cannot be quantized at build time",
        "Model '{0}' cannot be quantized to int8 at build time: {1}");

    public static readonly DiagnosticDescriptor TokensNeedEmbedding = Error(
        "MG0046",
        "Token ids need an embedding",
        "Layer {0} ([{1}]) receives token ids ({2}), which are categories rather than values: put [Embedding(dim)] first, to turn each id into a learned vector");

    public static readonly DiagnosticDescriptor EmbeddingNeedsTokens = Error(
        "MG0047",
        "Embedding needs token ids",
        "Layer {0} ([Embedding]) looks up token ids, but it receives samples of shape {1}: declare the input as token ids, e.g. [Input(64, Vocabulary = 96)], and put the embedding right after it");

    public static readonly DiagnosticDescriptor NeedsSequenceInput = Error(
        "MG0048",
        "Layer needs a sequence",
        "Layer {0} ([{1}]) works on a sequence of positions × features, but it receives samples of shape {2}: it belongs after an [Embedding], before any [Flatten]");

    public static readonly DiagnosticDescriptor HeadsDoNotDivideWidth = Error(
        "MG0049",
        "Attention heads do not divide the width",
        "Layer {0} ([Attention]): {1} heads cannot split the sequence's {2} features evenly; pick a head count that divides {2}");

    public static readonly DiagnosticDescriptor TiedHeadMismatch = Error(
        "MG0050",
        "Tied head does not fit the embedding",
        "Layer {0} ([TiedHead]) {1}");

    public static readonly DiagnosticDescriptor InternalError = Error(
        "MG0999",
        "ModelGen failed",
        "ModelGen could not compile model '{0}': {1}. This is a bug in ModelGen; please report it with the model's declaration.");

    /// <summary>Where each diagnostic is explained, relative to the repository root: its section of the diagnostics list.</summary>
    public const string HelpLinkBase = "docs/diagnostics.md#";

    private static DiagnosticDescriptor Error(string id, string title, string message) => Create(id, title, message, DiagnosticSeverity.Error);

    private static DiagnosticDescriptor Create(string id, string title, string message, DiagnosticSeverity severity) =>
        new(
            id,
            title,
            message,
            Category,
            severity,
            isEnabledByDefault: true,
            description: $"{title}. The cause, an example and the fix are in the section {id} of docs/diagnostics.md.",
            helpLinkUri: HelpLinkBase + id.ToLowerInvariant());
}
