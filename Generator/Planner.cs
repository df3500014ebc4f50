using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Stage 3: lays out the parameter buffer and the workspace, and picks how each layer is computed. All sizes are
/// known here, so every offset becomes a constant in the generated code.
/// </summary>
internal static class Planner
{
    /// <summary>Floats per 64-byte cache line: every tensor starts on one, so vector loads of a row start aligned.</summary>
    public const int Alignment = 16;

    /// <summary>
    /// A dense layer with at most this many weights is written out multiply by multiply: for such sizes a vector
    /// kernel's setup costs more than the arithmetic.
    /// </summary>
    public const int MaxUnrolledWeights = 16;

    /// <summary>
    /// Inputs from which a dense layer runs as GEMM: the kernels vectorize along the input dimension, and below one
    /// AVX-512 vector (16 floats) they would be mostly remainder.
    /// </summary>
    public const int MinGemmInputs = 16;

    /// <summary>
    /// Floats of windows a convolution builds at once (512 KiB): a quarter of a 2 MiB L2, so that im2col's output is still
    /// there when the product reads it, and again in backward. A whole batch's windows (7 MB for the Fashion CNN's
    /// second layer at batch 64) went to memory and back.
    /// </summary>
    public const int WindowBudget = 1 << 17;

    /// <summary>
    /// The most values a window may hold, and the most floats a zero-padded sample may take, for a convolution to read
    /// its windows in place (the runtime's <c>Convolution.MaxDirectPatch</c> and <c>MaxDirectPaddedSample</c>, which a
    /// test holds these to).
    /// </summary>
    public const int MaxDirectPatch = 32;

    /// <inheritdoc cref="MaxDirectPatch"/>
    public const int MaxDirectPaddedSample = 8192;

    public static ModelPlan Plan(CheckedModel model)
    {
        var layers = new List<LayerPlan>();
        // Three runs of 64-byte-aligned regions: the parameters, the state beside them, one sample's workspace.
        var parameters = new Regions();
        var state = new Regions();
        var workspace = new Regions();
        var parameterCount = 0;
        var widest = 0;
        var windowsLength = 0;
        var numbers = new Dictionary<string, int>();
        int Next(string kind) => numbers[kind] = numbers.TryGetValue(kind, out var last) ? last + 1 : 1; // dense_1, dense_2 …
        foreach (var layer in model.Layers)
        {
            var inputs = layer.Input.Size;
            var position = layers.Count + 1;
            var producer = layer.Inputs[0];
            widest = System.Math.Max(widest, layer.Output.Size);
            // The model's input is (c, h, w); a convolution or pooling layer writes (h, w, c), which later layers keep.
            var channelsLast = producer > 0 && model.Layers[producer - 1].ChannelsLast;
            if (layer.Layer is FlattenSpec && producer > 0)
            {
                // A view of the producing layer's outputs: no workspace of its own.
                layers.Add(new FlattenPlan(position, Next("flatten"), inputs, layers[producer - 1].OutputOffset));
                continue;
            }

            var outputOffset = workspace.Take(layer.Output.Size);
            var context = new PlanContext(position, outputOffset, channelsLast, Next, parameters, state, workspace);
            if (layer.Layer is not AddSpec && LayerKinds.For(layer.Layer).Plan(layer, context) is { } unitPlan)
            {
                layers.Add(unitPlan);
                continue;
            }

            switch (layer.Layer)
            {
                case FlattenSpec:
                    layers.Add(new FlattenPlan(position, Next("flatten"), inputs, outputOffset));
                    break;
                case ConvSpec conv:
                    var convWindow = Window(layer, conv.Kernel, conv.Stride, conv.Padding, channelsLast);
                    var convWeights = parameters.Take(convWindow.PatchSize * conv.Filters);
                    var convBias = conv.UseBias ? parameters.Take(conv.Filters) : -1;
                    // A first layer on the model's own (channels-first) input, with short windows, reads them in place:
                    // its im2col matrix would be mostly its own traffic. It needs no input gradient, which only im2col's
                    // col2im provides.
                    var direct = !convWindow.ChannelsLast && parameterCount == 0 && convWindow.PatchSize <= MaxDirectPatch
                        && convWindow.Channels * (((convWindow.OutputHeight - 1) * convWindow.Stride) + convWindow.Kernel)
                            * (((convWindow.OutputWidth - 1) * convWindow.Stride) + convWindow.Kernel) <= MaxDirectPaddedSample;
                    var windowsPerSample = convWindow.Positions * convWindow.PatchSize;
                    // At least two samples a chunk where they fit twice the budget: building windows and adding their
                    // gradients back split over the chunk's samples, so a chunk of one keeps the second core idle.
                    var chunk = direct ? 0 : System.Math.Max(windowsPerSample <= 2 * WindowBudget ? 2 : 1, WindowBudget / windowsPerSample);
                    windowsLength = System.Math.Max(windowsLength, chunk * windowsPerSample);
                    layers.Add(new ConvPlan(
                        position, Next("conv"), inputs, layer.Output.Size, outputOffset, convWindow, conv.Filters, conv.Activation,
                        Alpha(conv.Activation, conv.Alpha), ResolveInitializer(conv.Initializer, conv.Activation), convWeights, convBias, chunk, direct,
                        PreActivationOffset(conv.Activation, layer.Output.Size, workspace), conv.UseBias));
                    parameterCount += (convWindow.PatchSize * conv.Filters) + (conv.UseBias ? conv.Filters : 0);
                    break;
                case PoolSpec pool:
                    var poolWindow = Window(layer, pool.Size, pool.Stride, Padding.Valid, channelsLast);
                    var argmaxOffset = pool.Average ? -1 : workspace.Take(layer.Output.Size);
                    layers.Add(new PoolPlan(position, Next("pool"), inputs, layer.Output.Size, outputOffset, poolWindow, pool.Average, argmaxOffset));
                    break;
                case GlobalPoolSpec:
                    var image = layer.Input.Dimensions;
                    layers.Add(new GlobalPoolPlan(position, Next("global_pool"), image[0], image[1], image[2], channelsLast, outputOffset));
                    break;
                case BatchNormSpec batchNorm:
                    // One γ, β and pair of statistics per feature of a vector, per channel of an image: the values of
                    // an image lie channels-last here (or it has one channel), so each row of Size / features values
                    // is one position's channels and the batch's statistics run over every position of every sample.
                    var features = BatchNormSpec.Features(layer.Input);
                    var (bnGamma, bnBeta) = (parameters.Take(features), parameters.Take(features));
                    var bnNormalized = workspace.Take(inputs);
                    var (meanOffset, varianceOffset, bnInverse) = (state.Take(features), state.Take(features), state.Take(features));
                    layers.Add(new BatchNormPlan(
                        position, Next("batch_norm"), inputs, features, batchNorm.Momentum, batchNorm.Epsilon, bnGamma, bnBeta, outputOffset, bnNormalized,
                        meanOffset, varianceOffset, bnInverse));
                    parameterCount += 2 * features;
                    break;
                case LayerNormSpec norm:
                    var (gammaOffset, betaOffset) = (parameters.Take(inputs), parameters.Take(inputs));
                    var (normalizedOffset, inverseOffset) = (workspace.Take(inputs), workspace.Take(1));
                    layers.Add(new LayerNormPlan(position, Next("layer_norm"), inputs, norm.Epsilon, gammaOffset, betaOffset, outputOffset, normalizedOffset, inverseOffset));
                    parameterCount += 2 * inputs;
                    break;
                case DropoutSpec dropout:
                    layers.Add(new DropoutPlan(position, Next("dropout"), inputs, dropout.Rate, outputOffset, workspace.Take(inputs)));
                    break;
                case AddSpec add:
                    layers.Add(new AddPlan(
                        position, add.Number, inputs, add.Residual.Activation, Alpha(add.Residual.Activation, float.NaN), outputOffset,
                        PreActivationOffset(add.Residual.Activation, inputs, workspace), add.Residual.Block.Name, add.Residual.Shortcut?.Name));
                    break;
                case DenseSpec dense:
                    var weightsOffset = parameters.Take(dense.Units * inputs);
                    var biasOffset = dense.UseBias ? parameters.Take(dense.Units) : -1;
                    var strategy = dense.Units * inputs <= MaxUnrolledWeights ? DenseStrategy.Unrolled
                        : inputs < MinGemmInputs ? DenseStrategy.VectorLoops
                        : DenseStrategy.Gemm;
                    var plan = new DensePlan(
                        position, Next("dense"), inputs, dense.Units, dense.Activation, weightsOffset, biasOffset, outputOffset, strategy,
                        ResolveInitializer(dense.Initializer, dense.Activation), Alpha(dense.Activation, dense.Alpha), PreActivationOffset(dense.Activation, dense.Units, workspace), dense.UseBias);
                    layers.Add(plan);
                    parameterCount += plan.ParameterCount;
                    break;
                default:
                    throw new System.InvalidOperationException("No plan for the layer kind " + layer.Layer.Kind);
            }
        }

        // Which layers hand a gradient back: those fed, directly or not, by a layer with parameters.
        var trainable = new bool[layers.Count + 1];
        for (var i = 0; i < layers.Count; i++)
        {
            var checkedLayer = model.Layers[i];
            var needsInputGradient = checkedLayer.Inputs.Any(input => trainable[input]);
            trainable[i + 1] = needsInputGradient || layers[i] is IWeightedPlan or LayerNormPlan or BatchNormPlan;
            layers[i] = layers[i] with { Inputs = checkedLayer.Inputs, Scope = checkedLayer.Scope, NeedsInputGradient = needsInputGradient };
        }

        // Backward passes the gradients through buffers each as wide as the widest layer: two used in turn for a chain of
        // layers, more where a residual connection keeps a gradient for its shortcut while its block's flows back.
        var planned = new ModelPlan(
            model.Type,
            model.Loss,
            model.HuberDelta,
            model.Input.Size,
            layers[layers.Count - 1].Units,
            parameterCount,
            parameters.End,
            layers.ToEquatableArray(),
            workspace.End,
            Align(workspace.End + widest),
            0) { StateLength = state.End, Weights = model.Weights, WindowsLength = windowsLength, InputShape = model.Input.Dimensions };
        var (steps, buffers) = BackwardPlanner.Plan(planned);
        var workspacePerSample = workspace.End + (buffers * Align(widest));
        planned = planned with { Backward = steps, GradientBuffers = buffers, WorkspacePerSample = workspacePerSample };
        return planned with { Torch = TorchEquivalent.Of(planned) };
    }

    /// <summary>The declared initializer, or for <see cref="Initializer.Auto"/> He for ReLU layers and Glorot for the others.</summary>
    private static Initializer ResolveInitializer(Initializer declared, Activation activation) =>
        declared != Initializer.Auto ? declared : activation == Activation.Relu ? Initializer.HeUniform : Initializer.GlorotUniform;

    /// <summary>
    /// Where a layer keeps its pre-activations z in the workspace, <paramref name="size"/> floats per sample taken from
    /// <paramref name="workspace"/>: only GELU's and SiLU's derivatives need z rather than y. −1 for the others.
    /// </summary>
    private static int PreActivationOffset(Activation activation, int size, Regions workspace) =>
        activation is Activation.Gelu or Activation.Silu ? workspace.Take(size) : -1;

    /// <summary>α of leaky ReLU (default 0.01) or ELU (default 1); 0 for other activations.</summary>
    private static float Alpha(Activation activation, float declared) => activation switch
    {
        Activation.LeakyRelu => float.IsNaN(declared) ? 0.01f : declared,
        Activation.Elu => float.IsNaN(declared) ? 1f : declared,
        _ => 0f,
    };

    /// <summary>The window of a convolution or pooling layer, from its checked input and output shapes (c, h, w).</summary>
    private static WindowPlan Window(CheckedLayer layer, int kernel, int stride, Padding padding, bool channelsLast)
    {
        var (input, output) = (layer.Input.Dimensions, layer.Output.Dimensions);
        return new WindowPlan(
            input[0], input[1], input[2], kernel, stride,
            Layers.Windows.PaddingBefore(input[1], kernel, stride, padding), Layers.Windows.PaddingBefore(input[2], kernel, stride, padding),
            output[1], output[2], channelsLast);
    }

    internal static int Align(int offset) => (offset + Alignment - 1) / Alignment * Alignment;
}

/// <summary>A run of regions handed out in order, each starting on a 64-byte boundary: the parameters, the state, or one sample's workspace.</summary>
internal sealed class Regions
{
    /// <summary>Where the next region starts: the run's length so far.</summary>
    public int End { get; private set; }

    /// <summary>Takes <paramref name="length"/> floats and returns where they start.</summary>
    public int Take(int length)
    {
        var offset = End;
        End = Planner.Align(offset + length);
        return offset;
    }
}

/// <summary>What a <see cref="LayerKind"/> plans its layer with: where it is, its outputs, and the regions it may take more from.</summary>
/// <param name="Position">The layer's 1-based position among all layers.</param>
/// <param name="OutputOffset">Where its outputs lie in the workspace, per sample (already taken).</param>
/// <param name="ChannelsLast">Whether its input image lies (h, w, c).</param>
/// <param name="Next">The next number of a kind of layer, for its name: <c>Next("dense")</c> gives 1, then 2 ….</param>
/// <param name="Parameters">The parameter buffer's regions.</param>
/// <param name="State">The state's regions (running statistics).</param>
/// <param name="Workspace">One sample's workspace regions.</param>
internal sealed record PlanContext(int Position, int OutputOffset, bool ChannelsLast, System.Func<string, int> Next, Regions Parameters, Regions State, Regions Workspace);
