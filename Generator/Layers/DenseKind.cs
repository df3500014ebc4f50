using System.Collections.Generic;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Layers;

/// <summary>
/// <c>[Dense(units, activation)]</c>: a fully connected layer on a vector. The kind's reading, checking and plan are
/// here, and its plan's code (written with <see cref="DenseEmitter"/>), remarks row, PyTorch module and ONNX layer.
/// </summary>
internal sealed class DenseKind : LayerKind
{
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

    public override string AttributeName => "DenseAttribute";

    public override System.Type SpecType => typeof(DenseSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var activation = (Activation)attribute.Constructor(1, (int)Activation.Linear);
        var (activationValue, activationLocation) = attribute.Named("Activation", (int)activation, attribute.ArgumentLocation(1, "activation"));
        var (initializer, initializerLocation) = attribute.Named("Initializer", (int)Initializer.Auto);
        var (alpha, alphaLocation) = attribute.Named("Alpha", float.NaN);
        return new DenseSpec(
            attribute.Constructor(0, 0), attribute.ArgumentLocation(0, "units"), (Activation)activationValue, activationLocation, attribute.Location,
            (Initializer)initializer, initializerLocation, alpha, alphaLocation, attribute.Named("UseBias", true).Value);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var dense = (DenseSpec)layer;
        var what = $"Layer {input.Position} ([Dense])";
        var valid = IsPositive(dense.Units, dense.UnitsLocation, what + ": the number of units", diagnostics);
        valid &= CheckActivation(
            dense.Kind, input.Position, dense.Activation, dense.ActivationLocation, dense.Alpha, dense.AlphaLocation, dense.Initializer, dense.InitializerLocation, diagnostics);

        if (input.Shape.Rank != 1 && !input.Shape.IsSequence)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DenseNeedsVectorInput, dense.Location, input.Position, input.Shape));
            valid = false;
        }

        var features = input.Shape.Features;
        if (valid && ((long)dense.Units * features > MaxTensorSize || (long)dense.Units * input.Shape.Positions > MaxTensorSize))
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, dense.Location, $"{what}: its weights, {dense.Units} units by {features} inputs,", (long)dense.Units * features, MaxTensorSize));
            valid = false;
        }

        // On a sequence the layer applies at each position: [T × features] → [T × units].
        return !valid ? null : input.Shape.IsSequence ? Shape.Sequence(input.Shape.Positions, dense.Units) : Shape.Vector(dense.Units);
    }

    public override (Activation Activation, LocationInfo? Location)? OutputActivation(LayerSpec layer)
    {
        var dense = (DenseSpec)layer;
        return (dense.Activation, dense.ActivationLocation ?? dense.Location);
    }

    public override long Parameters(LayerSpec layer, Shape input) => ((long)((DenseSpec)layer).Units * input.Features) + ((DenseSpec)layer).Units;

    /// <summary>
    /// W, then b, in the parameters; z after its outputs for GELU and SiLU; a strategy by size. On a sequence, one W
    /// for every position and always a GEMM over all positions of the batch.
    /// </summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var dense = (DenseSpec)layer.Layer;
        var (inputs, positions) = (layer.Input.Features, layer.Input.Positions);
        var weightsOffset = context.Parameters.Take(dense.Units * inputs);
        var biasOffset = dense.UseBias ? context.Parameters.Take(dense.Units) : -1;
        var strategy = positions > 1 ? DenseStrategy.Gemm
            : dense.Units * inputs <= MaxUnrolledWeights ? DenseStrategy.Unrolled
            : inputs < MinGemmInputs ? DenseStrategy.VectorLoops
            : DenseStrategy.Gemm;
        return new DensePlan(
            context.Position, context.Next("dense"), positions * inputs, positions * dense.Units, dense.Activation, weightsOffset, biasOffset, context.OutputOffset, strategy,
            ResolveInitializer(dense.Initializer, dense.Activation), Alpha(dense.Activation, dense.Alpha),
            context.TakePreActivations(dense.Activation, positions * dense.Units), dense.UseBias) { Positions = positions };
    }
}

/// <summary>How a dense layer is computed.</summary>
internal enum DenseStrategy
{
    /// <summary>Every multiply-add written out: for tiny layers, where loop overhead would dominate.</summary>
    Unrolled,

    /// <summary>
    /// Constant-length loops over rows, each row a vectorized dot product or multiply-add: for layers whose inputs are
    /// too few to fill a vector, where a matrix kernel would fall back to scalar code.
    /// </summary>
    VectorLoops,

    /// <summary>The whole batch as three register-blocked matrix products (forward, ∂W, ∂x) in the runtime.</summary>
    Gemm,
}

/// <summary>One dense layer of a plan.</summary>
/// <param name="Position">1-based position among all layers.</param>
/// <param name="Index">1-based position among the dense layers (dense_1, dense_2 …).</param>
/// <param name="InputSize">Inputs per sample.</param>
/// <param name="Units">Outputs per sample.</param>
/// <param name="Activation">The activation.</param>
/// <param name="WeightsOffset">Offset of W [InputSize × Units], row-major, in the parameter buffer.</param>
/// <param name="BiasOffset">Offset of b [Units] in the parameter buffer.</param>
/// <param name="OutputOffset">Offset of this layer's activations in the workspace, per sample of the batch.</param>
/// <param name="Strategy">How the layer is computed.</param>
/// <param name="Initializer">How the weights are drawn, with <see cref="Initializer.Auto"/> already resolved.</param>
/// <param name="Alpha">α of leaky ReLU or ELU, defaults resolved; 0 for other activations.</param>
/// <param name="PreActivationOffset">Where the pre-activations z are kept for GELU's and SiLU's derivatives, or −1.</param>
internal sealed record DensePlan(
    int Position,
    int Index,
    int InputSize,
    int Units,
    Activation Activation,
    int WeightsOffset,
    int BiasOffset,
    int OutputOffset,
    DenseStrategy Strategy,
    Initializer Initializer,
    float Alpha = 0f,
    int PreActivationOffset = -1,
    bool HasBias = true) : LayerPlan(Position, InputSize, Units, OutputOffset), IWeightedPlan
{
    public override string Name => "dense_" + Index;

    public override string Identifier => "Dense" + Index;

    /// <summary>Positions of the sequence it applies to, each with the same weights; 1 on a vector.</summary>
    public int Positions { get; init; } = 1;

    public int WeightRows => InputSize / Positions;

    public int WeightColumns => Units / Positions;

    public int FanOut => WeightColumns;

    /// <summary>Whether backward needs z rather than y: the derivatives of GELU and SiLU cannot be written from y.</summary>
    public bool KeepsPreActivation => PreActivationOffset >= 0;

    public override bool ChangesOutputGradient => Activation != Activation.Linear;

    public int WeightCount => WeightRows * WeightColumns;

    public override int ParameterCount => WeightCount + (HasBias ? WeightColumns : 0);

    public string WeightShape => $"{WeightRows}×{WeightColumns}";

    public override int ZeroBiasLength => HasBias ? 0 : WeightColumns;

    public override int QuantizedDepth => WeightRows;

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, "Dense", Activation.ToString(), Emitter.Count(InputSize), Emitter.Count(Units), Emitter.Count(ParameterCount),
        Strategy switch { DenseStrategy.Unrolled => "unrolled", DenseStrategy.VectorLoops => "vector loops", _ => Positions > 1 ? $"GEMM, {Positions} positions" : "GEMM" },
    ];

    public override void WriteParameterLayout(SourceWriter writer) => WeightedLayout.WriteParameterLayout(writer, this);

    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        WeightedLayout.WritePreActivationLayout(writer, this);
    }

    public override void WriteInitialization(SourceWriter writer) => WeightedLayout.WriteInitialization(writer, this);

    public override void WriteAccessors(SourceWriter writer) =>
        WeightedLayout.WriteAccessors(writer, this, $"weights W [{WeightShape}], row-major: row i holds input i's weight to every output.");

    /// <summary>
    /// Its call; where the dropout layer after it draws its mask in this product (<see cref="ForwardFusion"/>), both
    /// layers' outputs, the fused call while training, and in inference its own call and the dropout layer's copy if it needs one.
    /// </summary>
    public override void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        if (ForwardFusion.DropoutAfter(context.Plan, this) is not { } dropout)
        {
            base.WriteForwardCall(writer, context);
            return;
        }

        var input = context.InputOf(this);
        var forward = $"{Identifier}Forward({input}, {Output}, batch);";
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, batch);");
        writer.WriteLine($"var {dropout.Output} = {dropout.OutputSpan(context.Plan, Output)};");
        context.WriteTrainingSplit(
            writer, dropout, $"{Identifier}And{dropout.Identifier}Forward({input}, {Output}, {dropout.Output}, batch);",
            dropout.PassesInputThrough(context.Plan) ? [forward] : [forward, $"{Output}.Slice(0, batch * {Units}).CopyTo({dropout.Output});"]);
    }

    public override bool Steps => Positions > 1 && Activation is Activation.Linear or Activation.Relu or Activation.Gelu or Activation.Silu or Activation.Tanh or Activation.Sigmoid;

    /// <summary>Its row: one row's product, then the activation as its forward applies it.</summary>
    public override void WriteStep(SourceWriter writer, LayerWriting context)
    {
        const string Gemm = "global::ModelGen.Kernels.Gemm";
        const string Activations = "global::ModelGen.Kernels.Activations";
        var (x, y) = (Row(context, context.InputOf(this), InputSize), Row(context, Output, Units));
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, 1);");
        if (KeepsPreActivation)
        {
            var z = $"dense{Index}PreActivation";
            writer.WriteLine($"var {z} = {Row(context, $"Workspace({Identifier}PreActivation, {Units}, 1)", Units)};");
            writer.WriteLine($"{Gemm}.Multiply({x}, {Identifier}Weights, {z}, 1, {WeightColumns}, {WeightRows}, {Identifier}Bias);");
            writer.WriteLine($"{Activations}.{Activation}({z}, {y});");
            return;
        }

        var relu = Activation == Activation.Relu ? $", {Gemm}Activation.Relu" : string.Empty;
        writer.WriteLine($"{Gemm}.Multiply({x}, {Identifier}Weights, {y}, 1, {WeightColumns}, {WeightRows}, {Identifier}Bias{relu});");
        if (Activation is Activation.Tanh or Activation.Sigmoid)
        {
            writer.WriteLine($"{Activations}.{Activation}({y});");
        }
    }

    /// <summary>Forward; forward with the dropout above it when that dropout draws its mask in this product; backward.</summary>
    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        DenseEmitter.WriteForward(writer, this);
        writer.WriteLine();
        if (ForwardFusion.DropoutAfter(context.Plan, this) is { } fusedDropout)
        {
            DenseEmitter.WriteForwardWithDropout(writer, this, fusedDropout);
            writer.WriteLine();
        }

        DenseEmitter.WriteBackward(writer, this, !NeedsInputGradient, context.FusionOf(this), context.GatingOf(this));
    }

    /// <summary>Reads its input for ∂L/∂W, and its outputs for its activation's derivative unless the layer above applies it.</summary>
    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads)
    {
        reads.Add(input);
        var outputs = string.Empty;
        if (DenseEmitter.ReadsOutputs(this, gated: context.GatingOf(this) is not null))
        {
            reads.Add(Output);
            outputs = $" {Output},";
        }

        return $"{Identifier}Backward({input},{outputs} {dy}, {dx ?? "dx: default"}, batch);";
    }

    public override string SampleNormsCall(string input, string dy) =>
        $"{Emitter.Norms}.AddDense({input}, {dy}, {InputSize}, {Units}, bias: {Emitter.Bool(HasBias)}, sampleNorms);";

    /// <summary>
    /// <c>nn.Linear</c>, whose weight is [units, inputs] where the buffer keeps [inputs × units]; after a flattened
    /// channels-last image, PyTorch's inputs are (c, h, w), so the file's weight is seen as [units, c, h, w] and kept (h, w, c, units).
    /// </summary>
    public override void AddTorch(TorchBuilder torch)
    {
        var flow = torch.Flow;
        torch.Add($"nn.Linear({WeightRows}, {WeightColumns}{(HasBias ? string.Empty : ", bias=False")})");
        torch.AddTensor(new PlannedTensor(torch.Prefix + "weight", Identifier + "WeightsOffset", WeightsOffset, TorchEquivalent.Dims(WeightColumns, WeightRows))
        {
            View = flow.Permuted ? TorchEquivalent.Dims(WeightColumns, flow.Channels, flow.Height, flow.Width) : default,
            StoredAxes = flow.Permuted ? TorchEquivalent.Dims(2, 3, 1, 0) : TorchEquivalent.Dims(1, 0),
        });
        if (HasBias)
        {
            torch.AddTensor(new PlannedTensor(torch.Prefix + "bias", Identifier + "BiasOffset", BiasOffset, TorchEquivalent.Dims(WeightColumns)));
        }

        torch.AddActivation(Activation, Alpha);
        torch.Flow = TorchFlow.Vector(Units);
    }

    public override void Quantize(QuantizedModelBuilder int8) => int8.AddProduct(this);

    public override string OnnxLayer(string tensors) =>
        $"{OnnxEmitter.Layer}.Dense(\"{tensors}weight\", {OnnxEmitter.Bias(this, tensors)}, {OnnxEmitter.Activation(Activation, Alpha)})";
}
