using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes the constants of the parameter, state and workspace layouts, the fields, the constructors and the tensor accessors.</summary>
internal static partial class Emitter
{
    private static void WriteConstants(SourceWriter writer, ModelPlan plan)
    {
        writer.WriteLine("/// <summary>Floats in one input sample.</summary>");
        writer.WriteLine($"public const int InputSize = {plan.InputSize};");
        writer.WriteLine();
        writer.WriteLine("/// <summary>Floats in one output (prediction or target) sample.</summary>");
        writer.WriteLine($"public const int OutputSize = {plan.OutputSize};");
        writer.WriteLine();
        writer.WriteLine("/// <summary>Trainable parameters: every weight and bias.</summary>");
        writer.WriteLine($"public const int ParameterCount = {plan.ParameterCount};");
        writer.WriteLine();
        if (plan.Loss == Loss.Huber)
        {
            writer.WriteLine("/// <summary>δ of the Huber loss: errors up to δ count squared, larger ones linearly.</summary>");
            writer.WriteLine($"public const float HuberDelta = {Float(plan.HuberDelta)};");
            writer.WriteLine();
        }

        writer.WriteLine("// Parameter buffer layout: each tensor starts on a 64-byte boundary; the gaps stay zero.");
        foreach (var layer in plan.ParameterLayers)
        {
            layer.WriteParameterLayout(writer);
        }

        writer.WriteLine($"private const int ParameterBufferLength = {plan.ParameterBufferLength};");
        if (plan.StateLength > 0)
        {
            writer.WriteLine();
            writer.WriteLine("// State layout: running statistics the optimizer never touches.");
            foreach (var layer in plan.Layers)
            {
                layer.WriteStateLayout(writer);
            }
        }

        writer.WriteLine($"private const int StateLength = {plan.StateLength};");
        writer.WriteLine();
        writer.WriteLine("// Workspace layout, in floats per sample: a region at offset k of a batch of n samples starts at k·n.");
        foreach (var layer in plan.Layers)
        {
            layer.WriteWorkspaceLayout(writer, plan);
        }

        writer.WriteLine(plan.GradientBuffers == 2
            ? $"private const int GradientA = {plan.GradientAOffset}; // ∂L/∂activation, passed between layers in turn with GradientB"
            : $"private const int GradientA = {plan.GradientAOffset}; // ∂L/∂activation, passed between layers through GradientA to {GradientName(plan.GradientBuffers - 1)}");
        for (var buffer = 1; buffer < plan.GradientBuffers; buffer++)
        {
            writer.WriteLine($"private const int {GradientName(buffer)} = {plan.GradientAOffset + (buffer * (plan.GradientBOffset - plan.GradientAOffset))};");
        }

        writer.WriteLine($"private const int WorkspacePerSample = {plan.WorkspacePerSample};");
        writer.WriteLine($"private const int PredictionChunk = {PredictionChunk};");
        writer.WriteLine();
        if (plan.WindowsLength > 0)
        {
            writer.WriteLine("// Convolutions' scratch: a kernel flipped for an input gradient, or a few samples' windows (im2col), small enough to stay in L2.");
            foreach (var layer in plan.Layers)
            {
                layer.WriteWindowsLayout(writer);
            }

            writer.WriteLine($"private const int WindowsLength = {plan.WindowsLength};");
            writer.WriteLine();
        }
        var windowed = plan.Layers.Where(l => l.SlidingWindow is not null).ToList();
        if (windowed.Count > 0)
        {
            writer.WriteLine("// The window of each convolution and pooling layer: input (c, h, w) or, after such a layer, (h, w, c); outputs (h, w, c).");
            foreach (var layer in windowed)
            {
                writer.WriteLine($"private static readonly global::ModelGen.Kernels.Window2D {layer.Identifier}Window =");
                writer.WriteLine($"    {layer.SlidingWindow!.Constructor};");
            }

            writer.WriteLine();
        }
    }

    private static void WriteFieldsAndConstructors(SourceWriter writer, ModelPlan plan, BakedWeights? baked)
    {
        var name = plan.Type.NameSyntax;
        writer.WriteLine($"private readonly {AlignedBuffer} _parameters = new(ParameterBufferLength);");
        writer.WriteLine($"private {AlignedBuffer} _gradients = new(ParameterBufferLength); // the parameter gradients being written: TrainStep's (Gradients), or the pass to the inputs'");
        if (!plan.Sequences)
        {
            writer.WriteLine($"private {AlignedBuffer}? _inputPassGradients; // where the passes to the inputs and to the norms write parameter gradients they do not need");
        }

        if (!plan.MixesSamples && !plan.Sequences)
        {
            writer.WriteLine("private float[] _clippingSeed = []; // TrainStepClipped's loss gradient, kept between its two passes");
        }

        writer.WriteLine($"private readonly {AlignedBuffer} _state = new(StateLength);");
        writer.WriteLine($"private {AlignedBuffer} _workspace = new(WorkspacePerSample);");
        if (plan.WindowsLength > 0)
        {
            writer.WriteLine($"private readonly {AlignedBuffer} _windows = new(WindowsLength);");
        }

        var unbiased = plan.Layers.Select(l => l.ZeroBiasLength).DefaultIfEmpty().Max();
        if (unbiased > 0)
        {
            writer.WriteLine($"private readonly {AlignedBuffer} _zeroBias = new({unbiased}); // the bias of layers without one: zeros, never written");
            writer.WriteLine($"private readonly {AlignedBuffer} _discardedBiasGradients = new({unbiased}); // their bias gradients, which nothing reads");
        }

        writer.WriteLine("private int _batchCapacity = 1;");
        writer.WriteLine("private global::ModelGen.SeededRandom _trainingRandom;");
        writer.WriteLine();
        if (baked is null)
        {
            writer.WriteLine("/// <summary>Creates the model with the parameters drawn from seed 0.</summary>");
            writer.WriteLine($"public {name}() : this(seed: 0) {{ }}");
        }
        else
        {
            writer.WriteLine($"/// <summary>Creates the trained model: its weights{(plan.StateLength > 0 ? " and running statistics" : string.Empty)} were baked in at build time from {baked.File}.</summary>");
            using (writer.OpenBlock($"public {name}()"))
            {
                writer.WriteLine("BakedParameters.CopyTo(_parameters.Span);");
                if (plan.StateLength > 0)
                {
                    writer.WriteLine("BakedState.CopyTo(_state.Span);");
                }

                writer.WriteLine("_trainingRandom = new global::ModelGen.SeededRandom(0);");
            }
        }

        writer.WriteLine();
        writer.WriteLine("/// <summary>Creates the model: weights drawn from <paramref name=\"seed\"/> (He for ReLU layers, Glorot otherwise, unless a layer says), zero biases.</summary>");
        writer.WriteLine("/// <param name=\"seed\">The same seed always gives the same parameters.</param>");
        using (writer.OpenBlock($"public {name}(int seed)"))
        {
            writer.WriteLine("var random = new global::ModelGen.SeededRandom(seed);");
            foreach (var layer in plan.ParameterLayers)
            {
                layer.WriteInitialization(writer);
            }

            writer.WriteLine("// training-only layers continue the seed's stream after the parameters");
            writer.WriteLine("_trainingRandom = random;");
        }

        writer.WriteLine();
    }

    private static void WriteAccessors(SourceWriter writer, ModelPlan plan)
    {
        writer.WriteLine("/// <summary>All parameters, one flat 64-byte-aligned buffer; each layer's tensors are slices of it.</summary>");
        writer.WriteLine($"public {Span} Parameters => _parameters.Span;");
        writer.WriteLine();
        writer.WriteLine("/// <summary>∂L/∂parameter from the last <see cref=\"TrainStep\"/>, laid out as <see cref=\"Parameters\"/>.</summary>");
        writer.WriteLine($"public {Span} Gradients => _gradients.Span;");
        writer.WriteLine();
        writer.WriteLine("/// <summary>The random stream training-only layers (dropout) draw from; save and restore it to repeat a step.</summary>");
        writer.WriteLine("public global::ModelGen.SeededRandom TrainingRandom");
        writer.WriteLine("{");
        writer.WriteLine("    get => _trainingRandom;");
        writer.WriteLine("    set => _trainingRandom = value;");
        writer.WriteLine("}");
        writer.WriteLine();
        foreach (var layer in plan.Layers.Where(l => !l.AccessorsAfterState))
        {
            layer.WriteAccessors(writer);
        }

        writer.WriteLine("/// <summary>Running statistics kept beside the parameters and never trained (empty without batch normalization).</summary>");
        writer.WriteLine($"public {Span} State => _state.Span;");
        writer.WriteLine();
        if (plan.CountsBatches)
        {
            writer.WriteLine("/// <summary>Training batches batch normalization has seen: PyTorch's num_batches_tracked, saved and loaded with the weights.</summary>");
            writer.WriteLine("public long BatchesTracked { get; set; }");
            writer.WriteLine();
        }
        foreach (var layer in plan.Layers.Where(l => l.AccessorsAfterState))
        {
            layer.WriteAccessors(writer);
        }

        writer.WriteLine("int global::ModelGen.ITrainableModel.InputSize => InputSize;");
        writer.WriteLine();
        writer.WriteLine("int global::ModelGen.ITrainableModel.OutputSize => OutputSize;");
        writer.WriteLine();
        if (plan.SequenceLoss)
        {
            writer.WriteLine($"/// <summary>Positions of the output, each with its own class index as a target ({plan.OutputClasses} classes at each; −1 for one that does not count).</summary>");
            writer.WriteLine($"public const int OutputPositions = {plan.OutputPositions};");
            writer.WriteLine();
            writer.WriteLine("int global::ModelGen.ITrainableModel.OutputPositions => OutputPositions;");
            writer.WriteLine();
        }

        writer.WriteLine("int global::ModelGen.ITrainableModel.ParameterCount => ParameterCount;");
        writer.WriteLine();
        writer.WriteLine("/// <summary>The loss this model was compiled with.</summary>");
        writer.WriteLine($"public global::ModelGen.Loss Loss => global::ModelGen.Loss.{plan.Loss};");
        writer.WriteLine();
    }
}
