using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>Writes the forward and backward methods of one dense layer, in the strategy its plan chose.</summary>
internal static class DenseEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Activations = "global::ModelGen.Kernels.Activations";
    private const string Blas = "global::ModelGen.Kernels.Blas";
    private const string Gemm = "global::ModelGen.Kernels.Gemm";
    private const string Reductions = "global::ModelGen.Kernels.Reductions";

    /// <summary>
    /// <c>LayerForward(x, y, batch)</c>: y = f(x·W + b) for each of the batch's samples, W stored [inputs × units].
    /// </summary>
    public static void WriteForward(SourceWriter writer, DensePlan layer)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        writer.WriteLine($"/// <summary>{layer.Name} forward: y = {Apply(layer, "x·W + b")}, [batch×{inputs}] → [batch×{units}].</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{ReadOnlySpan} b = {layer.Identifier}Bias;");
            // GELU and SiLU keep z for their derivatives: the product goes to z, the activation from z to y.
            var output = layer.KeepsPreActivation ? "z" : "y";
            var activation = layer.KeepsPreActivation ? Activation.Linear : layer.Activation;
            if (layer.KeepsPreActivation)
            {
                writer.WriteLine($"var z = Workspace({layer.Identifier}PreActivation, {units}, batch);");
            }

            switch (layer.Strategy)
            {
                case DenseStrategy.Unrolled:
                    WriteUnrolledForward(writer, layer, output, activation);
                    break;
                case DenseStrategy.VectorLoops:
                    WriteLoopedForward(writer, layer, output, activation);
                    break;
                default:
                    WriteGemmForward(writer, layer, output, activation);
                    break;
            }

            if (layer.KeepsPreActivation)
            {
                writer.WriteLine();
                WriteActivationFromPreActivation(writer, layer, units);
            }
        }
    }

    /// <summary>
    /// <c>LayerAndDropoutForward(x, y, dropped, batch)</c>, training only: y = f(x·W + b) as <see cref="WriteForward"/>
    /// computes it, and the dropout layer after it in the same product (<see cref="ForwardFusion"/>).
    /// </summary>
    public static void WriteForwardWithDropout(SourceWriter writer, DensePlan layer, DropoutPlan dropout)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        var rate = dropout.RateLiteral;
        writer.WriteLine($"/// <summary>{layer.Name} forward, y = {Apply(layer, "x·W + b")}, and {dropout.Name} while training, dropped = y ⊙ mask, in one product.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}And{dropout.Identifier}Forward({ReadOnlySpan} x, {Span} y, {Span} dropped, int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{ReadOnlySpan} b = {layer.Identifier}Bias;");
            writer.WriteLine($"var mask = Workspace({dropout.Identifier}Mask, {units}, batch);");
            var relu = layer.Activation == Activation.Relu;
            writer.WriteLine($"{GemmForwardComment(inputs, units, relu)};");
            writer.WriteLine($"// each value of the mask 0 with probability {rate} and 1 / (1 − {rate}) otherwise, drawn for each part of y by the thread that finished it");
            writer.WriteLine($"{Gemm}.MultiplyDropout(x.Slice(0, batch * {inputs}), w, y.Slice(0, batch * {units}), batch, {units}, {inputs}, b, {Gemm}Activation.{(relu ? "Relu" : "None")},");
            writer.WriteLine($"    mask, dropped.Slice(0, batch * {units}), rate: {rate}f, ref _trainingRandom);");
        }
    }

    /// <summary>
    /// <c>LayerBackward(x, y, dy, dx, batch)</c>: turns dy = ∂L/∂y into dz = ∂L/∂z in place (z the pre-activation),
    /// adds ∂L/∂W and ∂L/∂b to the gradient buffer and writes dx = ∂L/∂x; for the first layer only when dx is given
    /// (the pass to the inputs gives it, TrainStep does not).
    /// </summary>
    /// <param name="fusion">What this layer's input gradient applies of the layers below it, or null.</param>
    /// <param name="gatedBy">The fusion above that applies this layer's ReLU derivative to dy already, or null.</param>
    public static void WriteBackward(SourceWriter writer, DensePlan layer, bool isFirst, BackwardFusion? fusion, BackwardFusion? gatedBy)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        var dxParameter = $" {Span} dx,";
        var dxDoc = isFirst ? $", dx = dz·Wᵀ {WhenGiven}" : fusion is null ? ", dx = dz·Wᵀ" : $", dx = {GatedInputGradient(fusion)}";
        var dz = layer.Activation == Activation.Linear ? "dz = dy"
            : gatedBy is null ? $"dz = dy ⊙ {Derivative(layer)}"
            : $"dz = dy ⊙ {Derivative(layer)} (applied by {gatedBy.Layer.Name}'s input gradient)";
        writer.WriteLine($"/// <summary>{layer.Name} backward: {dz}, ∂L/∂W = xᵀ·dz, ∂L/∂b = Σ dz{dxDoc}.</summary>");
        // A linear layer, or one whose derivative the layer above applies or the pre-activations give, reads no outputs here.
        var yParameter = ReadsOutputs(layer, gated: gatedBy is not null) ? $" {ReadOnlySpan} y," : string.Empty;
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} x,{yParameter} {Span} dy,{dxParameter} int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{Span} dw = {layer.Identifier}WeightGradients;");
            writer.WriteLine($"{Span} db = {layer.Identifier}BiasGradients;");
            if (layer.KeepsPreActivation)
            {
                writer.WriteLine($"var z = Workspace({layer.Identifier}PreActivation, {units}, batch);");
            }

            if (layer.Strategy != DenseStrategy.Gemm)
            {
                writer.WriteLine("// the gradients are sums over the batch, accumulated sample by sample");
                writer.WriteLine("dw.Clear();");
                writer.WriteLine("db.Clear();");
            }

            switch (layer.Strategy)
            {
                case DenseStrategy.Unrolled:
                    WriteUnrolledBackward(writer, layer, isFirst);
                    break;
                case DenseStrategy.VectorLoops:
                    WriteLoopedBackward(writer, layer, isFirst, inputs, units);
                    break;
                default:
                    WriteGemmBackward(writer, layer, isFirst, fusion, gatedBy);
                    break;
            }
        }
    }

    private static void WriteUnrolledForward(SourceWriter writer, DensePlan layer, string output, Activation activation)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            writer.WriteLine($"var {output}n = {output}.Slice(n * {units}, {units});");
            for (var o = 0; o < units; o++)
            {
                var terms = Enumerable.Range(0, inputs).Select(i => $"xn[{i}] * w[{(i * units) + o}]");
                var sum = string.Join(" + ", terms) + $" + b[{o}]";
                writer.WriteLine($"{output}n[{o}] = {ScalarActivation(layer, activation, sum)};");
            }
        }
    }

    private static void WriteLoopedForward(SourceWriter writer, DensePlan layer, string output, Activation activation)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            writer.WriteLine($"var {output}n = {output}.Slice(n * {units}, {units});");
            writer.WriteLine("// z = b + Σᵢ x[i]·W[i, :]");
            writer.WriteLine($"b.CopyTo({output}n);");
            using (writer.OpenBlock($"for (var i = 0; i < {inputs}; i++)"))
            {
                writer.WriteLine($"{Blas}.Axpy(xn[i], w.Slice(i * {units}, {units}), {output}n);");
            }
        }

        if (activation != Activation.Linear)
        {
            writer.WriteLine();
            writer.WriteLine($"{Activations}.{activation}({output}.Slice(0, batch * {units}){AlphaArgument(layer)});");
        }
    }

    /// <summary>The comment above a forward product: its shapes, and whether it applies ReLU as it stores.</summary>
    private static string GemmForwardComment(int inputs, int units, bool relu, string rows = "batch") =>
        $"// z = x·W + b: [{rows}×{inputs}]·[{inputs}×{units}], one blocked GEMM over the batch with the bias added{(relu ? ", then ReLU as it is stored" : string.Empty)}";

    private static void WriteGemmForward(SourceWriter writer, DensePlan layer, string output, Activation activation)
    {
        var (inputs, units, rows) = (layer.WeightRows, layer.WeightColumns, Rows(layer));
        var fused = activation == Activation.Relu;
        WriteRowCount(writer, layer);
        writer.WriteLine(GemmForwardComment(inputs, units, fused, RowsLabel(layer)));
        var epilogueArgument = fused ? $", {Gemm}Activation.Relu" : string.Empty;
        writer.WriteLine($"{Gemm}.Multiply(x.Slice(0, {rows} * {inputs}), w, {output}.Slice(0, {rows} * {units}), {rows}, {units}, {inputs}, b{epilogueArgument});");
        if (activation != Activation.Linear && !fused)
        {
            WriteActivationInPlace(writer, layer, output, layer.Units);
        }
    }

    private static void WriteGemmBackward(SourceWriter writer, DensePlan layer, bool isFirst, BackwardFusion? fusion, BackwardFusion? gatedBy)
    {
        var (inputs, units, rows, label) = (layer.WeightRows, layer.WeightColumns, Rows(layer), RowsLabel(layer));
        WriteRowCount(writer, layer);
        writer.WriteLine($"var dz = dy.Slice(0, {rows} * {units});");
        if (gatedBy is not null)
        {
            writer.WriteLine($"// dz = dy: {gatedBy.Layer.Name}'s input gradient has already multiplied it by {Derivative(layer)}");
        }
        else if (layer.Activation != Activation.Linear)
        {
            WriteDerivativeInPlace(writer, layer, "dz", layer.Units);
        }

        writer.WriteLine($"// ∂L/∂W = xᵀ·dz: [{inputs}×{label}]·[{label}×{units}]");
        writer.WriteLine($"{Gemm}.MultiplyTransposedA(x.Slice(0, {rows} * {inputs}), dz, dw, {inputs}, {units}, {rows});");
        writer.WriteLine(layer.Positions == 1 ? "// ∂L/∂b = Σₙ dz[n, :]" : "// ∂L/∂b = Σ dz[n, t, :] over samples and positions");
        writer.WriteLine($"{Reductions}.ColumnSums(dz, db);");
        writer.WriteLine();
        if (isFirst)
        {
            WriteReturnUnlessGiven(writer);
        }

        if (fusion is null)
        {
            writer.WriteLine($"// dx = dz·Wᵀ: [{label}×{units}]·[{units}×{inputs}]");
            writer.WriteLine($"{Gemm}.MultiplyTransposed(dz, w, dx.Slice(0, {rows} * {inputs}), {rows}, {inputs}, {units});");
            return;
        }

        // The layers below: their backward steps applied to each part of dx as it is computed.
        writer.WriteLine($"// dx = {GatedInputGradient(fusion)}: [{label}×{units}]·[{units}×{inputs}], {GateDescription(fusion)}");
        var mask = fusion.Dropout is null ? $"{ReadOnlySpan}.Empty" : $"Workspace({fusion.Dropout.Identifier}Mask, {layer.InputSize}, batch)";
        var outputs = fusion.Relu is null ? $"{ReadOnlySpan}.Empty" : $"Workspace({fusion.Relu.Identifier}Output, {layer.InputSize}, batch)";
        writer.WriteLine($"{Gemm}.MultiplyTransposedGated(dz, w, dx.Slice(0, {rows} * {inputs}), {rows}, {inputs}, {units}, {mask}, {outputs});");
    }

    /// <summary>The rows a dense layer's products run over: the batch's samples, or for a layer on a sequence every position of every sample.</summary>
    private static string Rows(DensePlan layer) => layer.Positions == 1 ? "batch" : "rows";

    /// <summary>The rows as the comments write them: <c>batch</c>, or <c>batch·64</c> for 64 positions.</summary>
    private static string RowsLabel(DensePlan layer) => layer.Positions == 1 ? "batch" : $"batch·{layer.Positions}";

    /// <summary>For a layer on a sequence, the line that counts its rows: the same weights apply at every position.</summary>
    private static void WriteRowCount(SourceWriter writer, DensePlan layer)
    {
        if (layer.Positions > 1)
        {
            writer.WriteLine($"var rows = batch * {layer.Positions}; // the same weights at each of the {layer.Positions} positions of every sample");
        }
    }

    /// <summary>How a first layer's backward comments its input gradient.</summary>
    internal const string WhenGiven = "when dx is given (InputGradients; TrainStep needs none: no layer before has parameters)";

    /// <summary>Ends a first layer's backward method where TrainStep asks no input gradient of it.</summary>
    internal static void WriteReturnUnlessGiven(SourceWriter writer)
    {
        using (writer.OpenBlock("if (dx.IsEmpty)"))
        {
            writer.WriteLine("return; // TrainStep: no layer before has parameters");
        }

        writer.WriteLine();
    }

    /// <summary>
    /// Whether the layer's backward method takes its outputs y, whose only use is the activation's derivative: not for
    /// a linear layer, nor for GELU and SiLU (their derivative reads the kept pre-activations), nor when a layer
    /// above applies the ReLU derivative (<paramref name="gated"/>).
    /// </summary>
    public static bool ReadsOutputs(IWeightedPlan layer, bool gated) =>
        !gated && layer.Activation != Activation.Linear && !layer.KeepsPreActivation;

    /// <summary>The fused input gradient as a formula, for comments: dz·Wᵀ ⊙ mask ⊙ [y > 0].</summary>
    private static string GatedInputGradient(BackwardFusion fusion) =>
        "dz·Wᵀ" + (fusion.Dropout is null ? string.Empty : $" ⊙ {fusion.Dropout.Name} mask") + (fusion.Relu is null ? string.Empty : $" ⊙ [{fusion.Relu.Name} y > 0]");

    /// <summary>Which backward steps of the layers below the fused product takes over, for comments.</summary>
    private static string GateDescription(BackwardFusion fusion) => (fusion.Dropout, fusion.Relu) switch
    {
        ({ } dropout, { } relu) => $"the backward of {dropout.Name} and of {relu.Name}'s ReLU fused in",
        ({ } dropout, null) => $"the backward of {dropout.Name} fused in",
        _ => $"the backward of {fusion.Relu!.Name}'s ReLU fused in",
    };

    private static void WriteUnrolledBackward(SourceWriter writer, DensePlan layer, bool isFirst)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            var source = DerivativeSource(layer);
            if (layer.Activation != Activation.Linear)
            {
                writer.WriteLine($"var {source}n = {source}.Slice(n * {units}, {units});");
            }

            writer.WriteLine($"var dyn = dy.Slice(n * {units}, {units});");
            if (layer.Activation != Activation.Linear)
            {
                writer.WriteLine($"// dz = dy ⊙ {Derivative(layer)}, kept in dy");
                for (var o = 0; o < units; o++)
                {
                    writer.WriteLine($"dyn[{o}] *= {Activations}.{layer.Activation}Derivative({source}n[{o}]{AlphaArgument(layer)});");
                }
            }

            for (var o = 0; o < units; o++)
            {
                writer.WriteLine($"var dz{o} = dyn[{o}];");
            }

            writer.WriteLine("// ∂L/∂W[i, o] += x[i]·dz[o];  ∂L/∂b[o] += dz[o]");
            for (var i = 0; i < inputs; i++)
            {
                for (var o = 0; o < units; o++)
                {
                    writer.WriteLine($"dw[{(i * units) + o}] += xn[{i}] * dz{o};");
                }
            }

            for (var o = 0; o < units; o++)
            {
                writer.WriteLine($"db[{o}] += dz{o};");
            }

            using (isFirst ? writer.OpenBlock("if (!dx.IsEmpty)") : default)
            {
                writer.WriteLine("// ∂L/∂x[i] = Σₒ W[i, o]·dz[o]");
                writer.WriteLine($"var dxn = dx.Slice(n * {inputs}, {inputs});");
                for (var i = 0; i < inputs; i++)
                {
                    var terms = Enumerable.Range(0, units).Select(o => $"w[{(i * units) + o}] * dz{o}");
                    writer.WriteLine($"dxn[{i}] = {string.Join(" + ", terms)};");
                }
            }
        }
    }

    private static void WriteLoopedBackward(SourceWriter writer, DensePlan layer, bool isFirst, int inputs, int units)
    {
        if (layer.Activation != Activation.Linear)
        {
            WriteDerivativeInPlace(writer, layer, $"dy.Slice(0, batch * {units})", units);
            writer.WriteLine();
        }

        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            writer.WriteLine($"var dzn = dy.Slice(n * {units}, {units});");
            writer.WriteLine("// ∂L/∂b += dz");
            writer.WriteLine($"{Blas}.Add(dzn, db);");
            writer.WriteLine("// ∂L/∂W[i, :] += x[i]·dz");
            using (writer.OpenBlock($"for (var i = 0; i < {inputs}; i++)"))
            {
                writer.WriteLine($"{Blas}.Axpy(xn[i], dzn, dw.Slice(i * {units}, {units}));");
            }

            writer.WriteLine();
            using (isFirst ? writer.OpenBlock("if (!dx.IsEmpty)") : default)
            {
                writer.WriteLine("// ∂L/∂x[i] = W[i, :]·dz");
                writer.WriteLine($"var dxn = dx.Slice(n * {inputs}, {inputs});");
                using (writer.OpenBlock($"for (var i = 0; i < {inputs}; i++)"))
                {
                    writer.WriteLine($"dxn[i] = {Blas}.Dot(w.Slice(i * {units}, {units}), dzn);");
                }
            }
        }
    }

    /// <summary>The math of the layer's activation applied to an expression, for comments.</summary>
    internal static string Apply(IWeightedPlan layer, string expression) => layer.Activation switch
    {
        Activation.Relu => $"relu({expression})",
        Activation.Sigmoid => $"σ({expression})",
        Activation.Tanh => $"tanh({expression})",
        Activation.LeakyRelu => $"leaky_relu({expression}, α = {Number(layer.Alpha)})",
        Activation.Elu => $"elu({expression}, α = {Number(layer.Alpha)})",
        Activation.Gelu => $"gelu({expression})",
        Activation.Silu => $"silu({expression})",
        _ => expression,
    };

    /// <summary>The activation's derivative, written from y where it can be and from z otherwise, for comments.</summary>
    internal static string Derivative(IWeightedPlan layer) => layer.Activation switch
    {
        Activation.Relu => "[y > 0]",
        Activation.Sigmoid => "y·(1 − y)",
        Activation.Tanh => "(1 − y²)",
        Activation.LeakyRelu => $"(y > 0 ? 1 : {Number(layer.Alpha)})",
        Activation.Elu => $"(y > 0 ? 1 : y + {Number(layer.Alpha)})",
        Activation.Gelu => "gelu′(z)",
        Activation.Silu => "silu′(z)",
        _ => "1",
    };

    /// <summary>What the derivative reads: the outputs y, or the kept pre-activations z for GELU and SiLU.</summary>
    private static string DerivativeSource(IWeightedPlan layer) => layer.KeepsPreActivation ? "z" : "y";

    /// <summary>The trailing α argument of the leaky ReLU and ELU kernels, else nothing.</summary>
    private static string AlphaArgument(IWeightedPlan layer) =>
        layer.Activation is Activation.LeakyRelu or Activation.Elu ? $", {Number(layer.Alpha)}f" : string.Empty;

    /// <summary>y = f(z) from the kept pre-activations (GELU, SiLU), after the product wrote z.</summary>
    internal static void WriteActivationFromPreActivation(SourceWriter writer, IWeightedPlan layer, int units)
    {
        writer.WriteLine($"// y = {Apply(layer, "z")}");
        writer.WriteLine($"{Activations}.{layer.Activation}(z, y.Slice(0, batch * {units}));");
    }

    /// <summary>y = f(z) over the product's output, in place: for activations the product does not apply as it stores.</summary>
    internal static void WriteActivationInPlace(SourceWriter writer, IWeightedPlan layer, string output, int units)
    {
        writer.WriteLine($"// y = {Apply(layer, "z")}, in place");
        writer.WriteLine($"{Activations}.{layer.Activation}({output}.Slice(0, batch * {units}){AlphaArgument(layer)});");
    }

    /// <summary>dz = dy ⊙ f′ in place, f′ read from y or from the kept z.</summary>
    internal static void WriteDerivativeInPlace(SourceWriter writer, IWeightedPlan layer, string dz, int units)
    {
        writer.WriteLine($"// dz = dy ⊙ {Derivative(layer)}, in place");
        writer.WriteLine($"{Activations}.{layer.Activation}Backward({DerivativeSource(layer)}.Slice(0, batch * {units}), {dz}{AlphaArgument(layer)});");
    }

    private static string ScalarActivation(DensePlan layer, Activation activation, string expression) =>
        activation == Activation.Linear ? expression : $"{Activations}.{activation}({expression}{AlphaArgument(layer)})";

    private static string Number(float value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
