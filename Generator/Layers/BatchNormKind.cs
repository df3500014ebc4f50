using System;
using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;
using ModelGen.Generator.Weights;

namespace ModelGen.Generator.Layers;

/// <summary><c>[BatchNorm(Momentum = …, Epsilon = …)]</c>: per feature of a vector, per channel of an image.</summary>
internal sealed class BatchNormKind : LayerKind
{
    public override string AttributeName => "BatchNormAttribute";

    public override Type SpecType => typeof(BatchNormSpec);

    public override LayerSpec? Read(AttributeReader attribute)
    {
        var (momentum, momentumLocation) = attribute.Named("Momentum", 0.99f);
        var (epsilon, epsilonLocation) = attribute.Named("Epsilon", 1e-3f);
        return new BatchNormSpec(momentum, momentumLocation, epsilon, epsilonLocation, attribute.Location);
    }

    public override Shape? Infer(LayerSpec layer, LayerInput input, List<DiagnosticInfo> diagnostics)
    {
        var norm = (BatchNormSpec)layer;
        var valid = true;
        if (input.Shape.Rank == 3 && input.Shape.Dimensions[0] > 1 && !input.ChannelsLast)
        {
            // Per-channel statistics are computed on channels-last values; the model's own input is channels-first.
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BatchNormOnInputImage, norm.Location, input.Position, input.Shape));
            valid = false;
        }

        if (!(norm.Momentum >= 0f && norm.Momentum < 1f))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MomentumOutOfRange, norm.MomentumLocation, input.Position, norm.Momentum));
            valid = false;
        }

        valid &= IsValidEpsilon(norm.Epsilon, norm.EpsilonLocation, input.Position, norm.Kind, diagnostics);
        return valid ? input.Shape : null;
    }

    public override long Parameters(LayerSpec layer, Shape input) => 2L * BatchNormSpec.Features(input);

    /// <summary>γ and β in the parameters, x̂ in the workspace, the running mean and variance and the last batch's 1/σ in the state.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var norm = (BatchNormSpec)layer.Layer;
        // One γ, β and pair of statistics per feature of a vector, per channel of an image: the values of an image lie
        // channels-last here (or it has one channel), so each row of Size / features values is one position's channels
        // and the batch's statistics run over every position of every sample.
        var features = BatchNormSpec.Features(layer.Input);
        var (gamma, beta) = (context.Parameters.Take(features), context.Parameters.Take(features));
        var normalized = context.Workspace.Take(layer.Input.Size);
        var (mean, variance, inverse) = (context.State.Take(features), context.State.Take(features), context.State.Take(features));
        return new BatchNormPlan(
            context.Position, context.Next("batch_norm"), layer.Input.Size, features, norm.Momentum, norm.Epsilon, gamma, beta, context.OutputOffset, normalized,
            mean, variance, inverse);
    }
}

/// <summary>One batch-normalization layer of a plan: γ and β in the parameters; running statistics and 1/σ in the state.</summary>
/// <param name="Index">1-based position among the batch-normalization layers.</param>
/// <param name="Size">Values per sample.</param>
/// <param name="Features">
/// Features normalized over the batch: <paramref name="Size"/> for a vector; the channels of an image, whose values lie
/// channels-last, so that each feature's statistics run over every position of every sample.
/// </param>
/// <param name="Momentum">m of the running averages.</param>
/// <param name="Epsilon">ε added to the variance.</param>
/// <param name="GammaOffset">Offset of γ [Features] in the parameters; β follows at <paramref name="BetaOffset"/>.</param>
/// <param name="NormalizedOffset">Offset of x̂ in the workspace, per sample.</param>
/// <param name="MeanOffset">Offset of the running mean [Features] in the state; the running variance follows at <paramref name="VarianceOffset"/>.</param>
/// <param name="InverseDeviationOffset">Offset in the state of the last training batch's 1 / √(σ²_B + ε) [Features].</param>
internal sealed record BatchNormPlan(
    int Position, int Index, int Size, int Features, float Momentum, float Epsilon, int GammaOffset, int BetaOffset, int OutputOffset, int NormalizedOffset,
    int MeanOffset, int VarianceOffset, int InverseDeviationOffset)
    : LayerPlan(Position, Size, Size, OutputOffset), IScaleShiftPlan
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Normalization = "global::ModelGen.Kernels.Normalization";

    public override string Name => "batch_norm_" + Index;

    public override string Identifier => "BatchNorm" + Index;

    public override int ParameterCount => 2 * Features;

    public override bool AccessorsAfterState => true;

    public override bool TrainsDifferently => true;

    public override bool TracksBatches => true;

    public override bool MixesSamples => true;

    public override string[] RemarksRow(ModelPlan plan) =>
    [
        Name, "BatchNorm", string.Empty, Emitter.Count(InputSize), Emitter.Count(Units), Emitter.Count(ParameterCount),
        $"{(Features == Size ? string.Empty : $"per channel ({Features}), ")}momentum {Momentum.ToString("R", CultureInfo.InvariantCulture)}, ε = {Epsilon.ToString("R", CultureInfo.InvariantCulture)}",
    ];

    public override void WriteParameterLayout(SourceWriter writer) => ScaleShiftLayout.WriteParameterLayout(writer, this);

    /// <summary>The running mean and variance, and 1/σ of the last training batch, which its backward pass reads.</summary>
    public override void WriteStateLayout(SourceWriter writer)
    {
        writer.WriteLine($"private const int {Identifier}MeanOffset = {MeanOffset}; // running mean [{Features}]");
        writer.WriteLine($"private const int {Identifier}VarianceOffset = {VarianceOffset}; // running variance [{Features}]");
        writer.WriteLine($"private const int {Identifier}InverseDeviation = {InverseDeviationOffset}; // 1 / √(σ²_B + ε) of the last training batch [{Features}]");
    }

    public override void WriteWorkspaceLayout(SourceWriter writer, ModelPlan plan)
    {
        base.WriteWorkspaceLayout(writer, plan);
        writer.WriteLine($"private const int {Identifier}Normalized = {NormalizedOffset}; // {Name} x̂ of the last training batch");
    }

    public override void WriteInitialization(SourceWriter writer)
    {
        writer.WriteLine($"// {Name}: γ = 1, β = 0; running mean 0, running variance 1");
        writer.WriteLine($"{Identifier}Gamma.Fill(1f);");
        writer.WriteLine($"{Identifier}RunningVariance.Fill(1f);");
    }

    /// <summary>γ and β, its running statistics, then the gradients of γ and β.</summary>
    public override void WriteAccessors(SourceWriter writer)
    {
        ScaleShiftLayout.WriteAccessors(writer, this);
        writer.WriteLine($"/// <summary>{Name} running mean [{Features}], used in inference.</summary>");
        writer.WriteLine($"public {Span} {Identifier}RunningMean => _state.Span.Slice({Identifier}MeanOffset, {Features});");
        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} running variance [{Features}], used in inference.</summary>");
        writer.WriteLine($"public {Span} {Identifier}RunningVariance => _state.Span.Slice({Identifier}VarianceOffset, {Features});");
        writer.WriteLine();
        ScaleShiftLayout.WriteGradientAccessors(writer, this);
    }

    /// <summary>Its forward with the batch's statistics while training, with the running ones otherwise.</summary>
    public override void WriteForwardCall(SourceWriter writer, LayerWriting context)
    {
        var input = context.InputOf(this);
        writer.WriteLine($"var {Output} = Workspace({Identifier}Output, {Units}, batch);");
        context.WriteTrainingSplit(writer, this, $"{Identifier}ForwardTraining({input}, {Output}, batch);", $"{Identifier}ForwardInference({input}, {Output}, batch);");
    }

    /// <summary>Folded into the product before it where it can be, as the runtime's int8 predictor folds it; else all its tensors stay in float.</summary>
    public override void Quantize(QuantizedModelBuilder int8)
    {
        if (!int8.TryFold(this, Features, Epsilon, GammaOffset, BetaOffset, MeanOffset, VarianceOffset))
        {
            ScaleShiftLayout.KeepFloat(int8, this);
            int8.KeepFloat(this, "running_mean", "running mean", "RunningMean", MeanOffset, Features, inState: true);
            int8.KeepFloat(this, "running_var", "running variance", "RunningVariance", VarianceOffset, Features, inState: true);
        }
    }

    /// <summary>Forward, backward, and the input gradient alone that the pass to the inputs calls (the statistics of inference, no parameter gradients).</summary>
    public override void WriteMethods(SourceWriter writer, LayerWriting context)
    {
        writer.WriteLine();
        WriteForward(writer);
        writer.WriteLine();
        WriteBackward(writer);
        writer.WriteLine();
        WriteInputGradient(writer);
    }

    public override string BackwardCall(LayerWriting context, string input, string dy, string? dx, ISet<string> reads) =>
        context.ToInputs ? $"{Identifier}InputGradient({dy}, {dx ?? "dx: default"}, batch);"
        : $"{Identifier}Backward({dy}, {dx ?? "global::System.Span<float>.Empty"}, batch);";

    /// <summary>None: batch normalization mixes a batch's samples, so <c>TrainStepClipped</c> is not supported with it.</summary>
    public override string? SampleNormsCall(string input, string dy) => null;

    /// <summary>
    /// <c>nn.BatchNorm1d</c> or <c>2d</c>, with its running statistics and batch counter in the state. Keras' momentum m
    /// keeps m of the old average; PyTorch's momentum is the weight of the new batch.
    /// </summary>
    public override void AddTorch(TorchBuilder torch)
    {
        var flow = torch.Flow;
        var perChannel = flow.Image;
        torch.Add($"nn.BatchNorm{(perChannel ? "2d" : "1d")}({Features}, eps={TorchEquivalent.Float(Epsilon)}, momentum={TorchEquivalent.Decimal(1m - (decimal)Momentum)})");
        var view = !perChannel && flow.Permuted ? TorchEquivalent.Dims(flow.Channels, flow.Height, flow.Width) : default;
        var axes = !perChannel && flow.Permuted ? TorchEquivalent.Dims(1, 2, 0) : default;
        var prefix = torch.Prefix;
        PlannedTensor Statistic(string name, string constant, int offset, bool inState) =>
            new(prefix + name, Identifier + constant, offset, TorchEquivalent.Dims(Features)) { View = view, StoredAxes = axes, InState = inState };
        torch.AddTensor(Statistic("weight", "GammaOffset", GammaOffset, inState: false));
        torch.AddTensor(Statistic("bias", "BetaOffset", BetaOffset, inState: false));
        torch.AddTensor(Statistic("running_mean", "MeanOffset", MeanOffset, inState: true));
        torch.AddTensor(Statistic("running_var", "VarianceOffset", VarianceOffset, inState: true));
        torch.AddTensor(new PlannedTensor(prefix + "num_batches_tracked", "-1", -1, default) { IsBatchCounter = true, InState = true });
    }

    public override string OnnxLayer(string tensors) =>
        $"{OnnxEmitter.Layer}.BatchNorm(\"{tensors}weight\", \"{tensors}bias\", \"{tensors}running_mean\", \"{tensors}running_var\", {Emitter.Float(Epsilon)})";

    private void WriteForward(SourceWriter writer)
    {
        var size = Size;
        var (momentum, epsilon) = (Number(Momentum), Number(Epsilon));
        writer.WriteLine($"/// <summary>{Name} forward while training: y = γ ⊙ (x − μ_B) / √(σ²_B + {epsilon}) + β with the batch's statistics{Over()}, which also move the running averages (momentum {momentum}).</summary>");
        using (writer.OpenBlock($"private void {Identifier}ForwardTraining({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormTraining(");
            writer.WriteLine($"    x.Slice(0, batch * {size}), y, Workspace({Identifier}Normalized, {size}, batch), _state.Span.Slice({Identifier}InverseDeviation, {Features}),");
            writer.WriteLine($"    {Identifier}Gamma, {Identifier}Beta, {Identifier}RunningMean, {Identifier}RunningVariance, momentum: {momentum}f, epsilon: {epsilon}f);");
        }

        writer.WriteLine();
        writer.WriteLine($"/// <summary>{Name} forward in inference: y = γ ⊙ (x − running mean) / √(running variance + {epsilon}) + β.</summary>");
        using (writer.OpenBlock($"private void {Identifier}ForwardInference({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormInference(");
            writer.WriteLine($"    x.Slice(0, batch * {size}), y, {Identifier}Gamma, {Identifier}Beta, {Identifier}RunningMean, {Identifier}RunningVariance, epsilon: {epsilon}f);");
        }
    }

    private void WriteBackward(SourceWriter writer)
    {
        var size = Size;
        writer.WriteLine($"/// <summary>{Name} backward: ∂L/∂γ = Σ dy ⊙ x̂, ∂L/∂β = Σ dy, dx = (g − mean_B g − x̂·mean_B(g ⊙ x̂)) / σ_B with g = dy ⊙ γ.</summary>");
        using (writer.OpenBlock($"private void {Identifier}Backward({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormBackward(");
            writer.WriteLine($"    dy, Workspace({Identifier}Normalized, {size}, batch), _state.Span.Slice({Identifier}InverseDeviation, {Features}), {Identifier}Gamma,");
            writer.WriteLine($"    {Identifier}GammaGradients, {Identifier}BetaGradients, dx);");
        }
    }

    /// <summary>The input gradient as the model predicts, where the layer is affine: the pass to the inputs calls it.</summary>
    private void WriteInputGradient(SourceWriter writer)
    {
        var size = Size;
        writer.WriteLine($"/// <summary>{Name} input gradient outside training, where it is affine: dx = dy ⊙ γ / √(running variance + {Number(Epsilon)}).</summary>");
        using (writer.OpenBlock($"private void {Identifier}InputGradient({ReadOnlySpan} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Normalization}.BatchNormInferenceBackward(dy.Slice(0, batch * {size}), dx.Slice(0, batch * {size}), {Identifier}Gamma, {Identifier}RunningVariance, epsilon: {Number(Epsilon)}f);");
        }
    }

    /// <summary>What the statistics run over, for an image: each channel's values at every position of every sample.</summary>
    private string Over() =>
        Features == Size ? string.Empty : $" of each channel, over its {Size / Features} positions in every sample";

    private static string Number(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
