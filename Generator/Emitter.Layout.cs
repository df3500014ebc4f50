using System;
using System.Globalization;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
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
            if (layer is IScaleShiftPlan norm)
            {
                writer.WriteLine($"private const int {norm.Identifier}GammaOffset = {norm.GammaOffset}; // γ [{norm.Features}]");
                writer.WriteLine($"private const int {norm.Identifier}BetaOffset = {norm.BetaOffset}; // β [{norm.Features}]");
                continue;
            }

            var weighted = (IWeightedPlan)layer;
            writer.WriteLine($"private const int {weighted.Identifier}WeightsOffset = {weighted.WeightsOffset}; // W [{WeightShape(weighted)}]");
            if (weighted.HasBias)
            {
                writer.WriteLine($"private const int {weighted.Identifier}BiasOffset = {weighted.BiasOffset}; // b [{weighted.WeightColumns}]");
            }
        }

        writer.WriteLine($"private const int ParameterBufferLength = {plan.ParameterBufferLength};");
        if (plan.StateLength > 0)
        {
            writer.WriteLine();
            writer.WriteLine("// State layout: running statistics the optimizer never touches.");
            foreach (var norm in plan.Layers.OfType<BatchNormPlan>())
            {
                writer.WriteLine($"private const int {norm.Identifier}MeanOffset = {norm.MeanOffset}; // running mean [{norm.Features}]");
                writer.WriteLine($"private const int {norm.Identifier}VarianceOffset = {norm.VarianceOffset}; // running variance [{norm.Features}]");
                writer.WriteLine($"private const int {norm.Identifier}InverseDeviation = {norm.InverseDeviationOffset}; // 1 / √(σ²_B + ε) of the last training batch [{norm.Features}]");
            }
        }

        writer.WriteLine($"private const int StateLength = {plan.StateLength};");
        writer.WriteLine();
        writer.WriteLine("// Workspace layout, in floats per sample: a region at offset k of a batch of n samples starts at k·n.");
        foreach (var layer in plan.Layers)
        {
            var viewed = layer is FlattenPlan && layer.Inputs[0] > 0 ? plan.At(layer.Inputs[0]) : null;
            writer.WriteLine(viewed is null
                ? $"private const int {layer.Identifier}Output = {layer.OutputOffset}; // {layer.Name} outputs, {layer.Units} per sample"
                : $"private const int {layer.Identifier}Output = {layer.OutputOffset}; // {layer.Name} outputs: {viewed.Name}'s, viewed as one vector of {layer.Units} per sample");
            if (layer is IWeightedPlan { KeepsPreActivation: true } keeps)
            {
                writer.WriteLine($"private const int {layer.Identifier}PreActivation = {keeps.PreActivationOffset}; // {layer.Name} pre-activations z, kept for {keeps.Activation}'s derivative");
            }

            if (layer is AddPlan { PreActivationOffset: >= 0 } sum)
            {
                writer.WriteLine($"private const int {layer.Identifier}PreActivation = {sum.PreActivationOffset}; // {layer.Name} sums z, kept for {sum.Activation}'s derivative");
            }

            if (layer is PoolPlan { Average: false } pool)
            {
                writer.WriteLine($"private const int {layer.Identifier}Argmax = {pool.ArgmaxOffset}; // {layer.Name} index of each output's input (ints)");
            }

            if (layer is BatchNormPlan batchNormalized)
            {
                writer.WriteLine($"private const int {layer.Identifier}Normalized = {batchNormalized.NormalizedOffset}; // {layer.Name} x̂ of the last training batch");
            }

            if (layer is LayerNormPlan normalized)
            {
                writer.WriteLine($"private const int {layer.Identifier}Normalized = {normalized.NormalizedOffset}; // {layer.Name} x̂, kept for backward");
                writer.WriteLine($"private const int {layer.Identifier}InverseDeviation = {normalized.InverseDeviationOffset}; // {layer.Name} 1 / √(σ² + ε), one per sample");
            }

            if (layer is DropoutPlan dropout)
            {
                writer.WriteLine($"private const int {layer.Identifier}Mask = {dropout.MaskOffset}; // {layer.Name} mask of the last training step: 0 or 1 / (1 − rate)");
            }
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
        var convolutions = plan.Layers.OfType<ConvPlan>().Where(c => !c.Direct).ToList();
        if (convolutions.Count > 0)
        {
            writer.WriteLine("// Convolutions build the windows of a few samples at a time (im2col), in one buffer small enough to stay in L2.");
            foreach (var conv in convolutions)
            {
                var floats = conv.Chunk * conv.Window.Positions * conv.WeightRows;
                writer.WriteLine($"private const int {conv.Identifier}Chunk = {conv.Chunk}; // {conv.Name}: {conv.Chunk} × {conv.Window.Positions} windows of {conv.WeightRows} = {Count(floats)} floats");
            }

            writer.WriteLine($"private const int WindowsLength = {plan.WindowsLength};");
            writer.WriteLine();
        }
        var windows = plan.Layers.Select(l => (Layer: l, Window: l switch { ConvPlan c => c.Window, PoolPlan p => p.Window, _ => null }))
            .Where(w => w.Window is not null).ToList();
        if (windows.Count > 0)
        {
            writer.WriteLine("// The window of each convolution and pooling layer: input (c, h, w) or, after such a layer, (h, w, c); outputs (h, w, c).");
            foreach (var (layer, window) in windows)
            {
                writer.WriteLine($"private static readonly global::ModelGen.Kernels.Window2D {layer.Identifier}Window =");
                writer.WriteLine($"    {window!.Constructor};");
            }

            writer.WriteLine();
        }
    }

    /// <summary>W's shape as kept: inputs×units, or for a convolution kernel×kernel×channels×filters.</summary>
    private static string WeightShape(IWeightedPlan layer) => layer is ConvPlan conv
        ? $"{conv.Window.Kernel}×{conv.Window.Kernel}×{conv.Window.Channels}×{conv.Filters}"
        : $"{layer.WeightRows}×{layer.WeightColumns}";

    private static void WriteFieldsAndConstructors(SourceWriter writer, ModelPlan plan, BakedWeights? baked)
    {
        var name = plan.Type.NameSyntax;
        writer.WriteLine($"private readonly {AlignedBuffer} _parameters = new(ParameterBufferLength);");
        writer.WriteLine($"private {AlignedBuffer} _gradients = new(ParameterBufferLength); // the parameter gradients being written: TrainStep's (Gradients), or the pass to the inputs'");
        writer.WriteLine($"private {AlignedBuffer}? _inputPassGradients; // where the passes to the inputs and to the norms write parameter gradients they do not need");
        if (!plan.Layers.Any(l => l is BatchNormPlan))
        {
            writer.WriteLine("private float[] _clippingSeed = []; // TrainStepClipped's loss gradient, kept between its two passes");
        }

        writer.WriteLine($"private readonly {AlignedBuffer} _state = new(StateLength);");
        writer.WriteLine($"private {AlignedBuffer} _workspace = new(WorkspacePerSample);");
        if (plan.WindowsLength > 0)
        {
            writer.WriteLine($"private readonly {AlignedBuffer} _windows = new(WindowsLength);");
        }

        var unbiased = plan.Layers.OfType<IWeightedPlan>().Where(l => !l.HasBias).Select(l => l.WeightColumns).DefaultIfEmpty().Max();
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
            foreach (var parameterLayer in plan.ParameterLayers)
            {
                if (parameterLayer is IScaleShiftPlan norm)
                {
                    var running = norm is BatchNormPlan;
                    writer.WriteLine(running ? $"// {norm.Name}: γ = 1, β = 0; running mean 0, running variance 1" : $"// {norm.Name}: γ = 1, β = 0");
                    writer.WriteLine($"{norm.Identifier}Gamma.Fill(1f);");
                    if (running)
                    {
                        writer.WriteLine($"{norm.Identifier}RunningVariance.Fill(1f);");
                    }

                    continue;
                }

                var layer = (IWeightedPlan)parameterLayer;
                writer.WriteLine(layer.HasBias ? $"// {layer.Name}: W ~ {InitializerDescription(layer)}; b = 0" : $"// {layer.Name}: W ~ {InitializerDescription(layer)}; no bias");
                writer.WriteLine($"global::ModelGen.Initializers.WeightInitializer.Fill({layer.Identifier}Weights, global::ModelGen.Initializer.{layer.Initializer}, fanIn: {layer.WeightRows}, fanOut: {layer.FanOut}, ref random);");
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
        foreach (var layer in plan.Layers.OfType<IWeightedPlan>())
        {
            var count = layer.WeightRows * layer.WeightColumns;
            writer.WriteLine(layer is ConvPlan
                ? $"/// <summary>{layer.Name} kernels W [{WeightShape(layer)}], row-major (Keras' layout): row (kh, kw, c) holds that input's weight to every filter.</summary>"
                : $"/// <summary>{layer.Name} weights W [{WeightShape(layer)}], row-major: row i holds input i's weight to every output.</summary>");
            writer.WriteLine($"public {Span} {layer.Identifier}Weights => _parameters.Span.Slice({layer.Identifier}WeightsOffset, {count});");
            writer.WriteLine();
            if (layer.HasBias)
            {
                writer.WriteLine($"/// <summary>{layer.Name} bias b [{layer.WeightColumns}].</summary>");
                writer.WriteLine($"public {Span} {layer.Identifier}Bias => _parameters.Span.Slice({layer.Identifier}BiasOffset, {layer.WeightColumns});");
            }
            else
            {
                writer.WriteLine($"// {layer.Name} has no bias (UseBias = false): its products add zeros, and its bias gradient goes where no optimizer reads.");
                writer.WriteLine($"private {Span} {layer.Identifier}Bias => _zeroBias.Span.Slice(0, {layer.WeightColumns});");
            }

            writer.WriteLine();
            writer.WriteLine($"private {Span} {layer.Identifier}WeightGradients => _gradients.Span.Slice({layer.Identifier}WeightsOffset, {count});");
            writer.WriteLine();
            writer.WriteLine(layer.HasBias
                ? $"private {Span} {layer.Identifier}BiasGradients => _gradients.Span.Slice({layer.Identifier}BiasOffset, {layer.WeightColumns});"
                : $"private {Span} {layer.Identifier}BiasGradients => _discardedBiasGradients.Span.Slice(0, {layer.WeightColumns});");
            writer.WriteLine();
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
        foreach (var norm in plan.Layers.OfType<IScaleShiftPlan>())
        {
            writer.WriteLine($"/// <summary>{norm.Name} scale γ [{norm.Features}].</summary>");
            writer.WriteLine($"public {Span} {norm.Identifier}Gamma => _parameters.Span.Slice({norm.Identifier}GammaOffset, {norm.Features});");
            writer.WriteLine();
            writer.WriteLine($"/// <summary>{norm.Name} shift β [{norm.Features}].</summary>");
            writer.WriteLine($"public {Span} {norm.Identifier}Beta => _parameters.Span.Slice({norm.Identifier}BetaOffset, {norm.Features});");
            writer.WriteLine();
            if (norm is BatchNormPlan)
            {
                writer.WriteLine($"/// <summary>{norm.Name} running mean [{norm.Features}], used in inference.</summary>");
                writer.WriteLine($"public {Span} {norm.Identifier}RunningMean => _state.Span.Slice({norm.Identifier}MeanOffset, {norm.Features});");
                writer.WriteLine();
                writer.WriteLine($"/// <summary>{norm.Name} running variance [{norm.Features}], used in inference.</summary>");
                writer.WriteLine($"public {Span} {norm.Identifier}RunningVariance => _state.Span.Slice({norm.Identifier}VarianceOffset, {norm.Features});");
                writer.WriteLine();
            }

            writer.WriteLine($"private {Span} {norm.Identifier}GammaGradients => _gradients.Span.Slice({norm.Identifier}GammaOffset, {norm.Features});");
            writer.WriteLine();
            writer.WriteLine($"private {Span} {norm.Identifier}BetaGradients => _gradients.Span.Slice({norm.Identifier}BetaOffset, {norm.Features});");
            writer.WriteLine();
        }

        writer.WriteLine("int global::ModelGen.ITrainableModel.InputSize => InputSize;");
        writer.WriteLine();
        writer.WriteLine("int global::ModelGen.ITrainableModel.OutputSize => OutputSize;");
        writer.WriteLine();
        writer.WriteLine("int global::ModelGen.ITrainableModel.ParameterCount => ParameterCount;");
        writer.WriteLine();
        writer.WriteLine("/// <summary>The loss this model was compiled with.</summary>");
        writer.WriteLine($"public global::ModelGen.Loss Loss => global::ModelGen.Loss.{plan.Loss};");
        writer.WriteLine();
    }

    /// <summary>The distribution a layer's weights are drawn from, with its numbers, for the constructor's comments.</summary>
    private static string InitializerDescription(IWeightedPlan layer)
    {
        var (fanIn, fanOut) = (layer.WeightRows, layer.FanOut);
        string Number(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
        return layer.Initializer switch
        {
            Initializer.HeUniform => $"U(±√(6 / {fanIn})) = U(±{Number(Math.Sqrt(6.0 / fanIn))}), He uniform",
            Initializer.HeNormal => $"N(0, 2 / {fanIn}) truncated at 2σ, He normal",
            Initializer.LecunUniform => $"U(±√(3 / {fanIn})) = U(±{Number(Math.Sqrt(3.0 / fanIn))}), LeCun uniform",
            Initializer.LecunNormal => $"N(0, 1 / {fanIn}) truncated at 2σ, LeCun normal",
            Initializer.GlorotNormal => $"N(0, 2 / ({fanIn} + {fanOut})) truncated at 2σ, Glorot normal",
            _ => $"U(±√(6 / ({fanIn} + {fanOut}))) = U(±{Number(Math.Sqrt(6.0 / (fanIn + fanOut)))}), Glorot uniform",
        };
    }
}
