using System.Collections.Generic;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Layers;

/// <summary><c>[Dense(units, activation)]</c>: a fully connected layer on a vector.</summary>
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

        if (input.Shape.Rank != 1)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DenseNeedsVectorInput, dense.Location, input.Position, input.Shape));
            valid = false;
        }

        if (valid && (long)dense.Units * input.Shape.Size > MaxTensorSize)
        {
            diagnostics.Add(DiagnosticInfo.Create(
                DiagnosticDescriptors.ModelTooLarge, dense.Location, $"{what}: its weights, {dense.Units} units by {input.Shape.Size} inputs,", (long)dense.Units * input.Shape.Size, MaxTensorSize));
            valid = false;
        }

        return valid ? Shape.Vector(dense.Units) : null;
    }

    public override long Parameters(LayerSpec layer, Shape input) => ((long)((DenseSpec)layer).Units * input.Size) + ((DenseSpec)layer).Units;

    /// <summary>W, then b, in the parameters; z after its outputs for GELU and SiLU; a strategy by size.</summary>
    public override LayerPlan Plan(CheckedLayer layer, PlanContext context)
    {
        var dense = (DenseSpec)layer.Layer;
        var inputs = layer.Input.Size;
        var weightsOffset = context.Parameters.Take(dense.Units * inputs);
        var biasOffset = dense.UseBias ? context.Parameters.Take(dense.Units) : -1;
        var strategy = dense.Units * inputs <= MaxUnrolledWeights ? DenseStrategy.Unrolled
            : inputs < MinGemmInputs ? DenseStrategy.VectorLoops
            : DenseStrategy.Gemm;
        return new DensePlan(
            context.Position, context.Next("dense"), inputs, dense.Units, dense.Activation, weightsOffset, biasOffset, context.OutputOffset, strategy,
            ResolveInitializer(dense.Initializer, dense.Activation), Alpha(dense.Activation, dense.Alpha),
            context.TakePreActivations(dense.Activation, dense.Units), dense.UseBias);
    }
}
