using System.Linq;
using ModelGen.Generator.Helpers;
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

    /// <summary>
    /// <c>LayerForward(x, y, batch)</c>: y = f(x·Wᵀ + b) for each of the batch's samples.
    /// </summary>
    public static void WriteForward(SourceWriter writer, DensePlan layer)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        writer.WriteLine($"/// <summary>{layer.Name} forward: y = {Apply(layer.Activation, "x·Wᵀ + b")}, [batch×{inputs}] → [batch×{units}].</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{ReadOnlySpan} b = {layer.Identifier}Bias;");
            switch (layer.Strategy)
            {
                case DenseStrategy.Unrolled:
                    WriteUnrolledForward(writer, layer);
                    break;
                case DenseStrategy.VectorLoops:
                    WriteLoopedForward(writer, layer);
                    break;
                default:
                    WriteGemmForward(writer, layer);
                    break;
            }
        }
    }

    /// <summary>
    /// <c>LayerBackward(x, y, dy[, dx], batch)</c>: turns dy = ∂L/∂y into dz = ∂L/∂z in place (z the pre-activation),
    /// adds ∂L/∂W and ∂L/∂b to the gradient buffer and, unless the layer is the first, writes dx = ∂L/∂x.
    /// </summary>
    public static void WriteBackward(SourceWriter writer, DensePlan layer, bool isFirst)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        var dxParameter = isFirst ? string.Empty : $" {Span} dx,";
        var dxDoc = isFirst ? " (the first layer: no input gradient)" : ", dx = dz·W";
        var dz = layer.Activation == Activation.Linear ? "dz = dy" : $"dz = dy ⊙ {Derivative(layer.Activation)}";
        writer.WriteLine($"/// <summary>{layer.Name} backward: {dz}, ∂L/∂W += dzᵀ·x, ∂L/∂b += Σ dz{dxDoc}.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} x, {ReadOnlySpan} y, {Span} dy,{dxParameter} int batch)"))
        {
            if (!isFirst)
            {
                writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            }

            writer.WriteLine($"{Span} dw = {layer.Identifier}WeightGradients;");
            writer.WriteLine($"{Span} db = {layer.Identifier}BiasGradients;");
            switch (layer.Strategy)
            {
                case DenseStrategy.Unrolled:
                    WriteUnrolledBackward(writer, layer, isFirst);
                    break;
                case DenseStrategy.VectorLoops:
                    WriteLoopedBackward(writer, layer, isFirst, inputs, units);
                    break;
                default:
                    WriteGemmBackward(writer, layer, isFirst, inputs, units);
                    break;
            }
        }
    }

    private static void WriteUnrolledForward(SourceWriter writer, DensePlan layer)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            writer.WriteLine($"var yn = y.Slice(n * {units}, {units});");
            for (var o = 0; o < units; o++)
            {
                var terms = Enumerable.Range(0, inputs).Select(i => $"xn[{i}] * w[{(o * inputs) + i}]");
                var sum = string.Join(" + ", terms) + $" + b[{o}]";
                writer.WriteLine($"yn[{o}] = {ScalarActivation(layer.Activation, sum)};");
            }
        }
    }

    private static void WriteLoopedForward(SourceWriter writer, DensePlan layer)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            writer.WriteLine($"var yn = y.Slice(n * {units}, {units});");
            writer.WriteLine($"// z[o] = x·W[o, :] + b[o]");
            using (writer.OpenBlock($"for (var o = 0; o < {units}; o++)"))
            {
                writer.WriteLine($"yn[o] = {Blas}.Dot(xn, w.Slice(o * {inputs}, {inputs})) + b[o];");
            }
        }

        if (layer.Activation != Activation.Linear)
        {
            writer.WriteLine();
            writer.WriteLine($"{Activations}.{layer.Activation}(y.Slice(0, batch * {units}));");
        }
    }

    private static void WriteGemmForward(SourceWriter writer, DensePlan layer)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        writer.WriteLine($"// z = x·Wᵀ: [batch×{inputs}]·[{inputs}×{units}], one register-blocked GEMM over the batch");
        writer.WriteLine($"{Gemm}.MultiplyTransposed(x.Slice(0, batch * {inputs}), w, y.Slice(0, batch * {units}), batch, {units}, {inputs});");
        writer.WriteLine("// z[n, :] += b");
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"{Blas}.Add(b, y.Slice(n * {units}, {units}));");
        }

        if (layer.Activation != Activation.Linear)
        {
            writer.WriteLine();
            writer.WriteLine($"{Activations}.{layer.Activation}(y.Slice(0, batch * {units}));");
        }
    }

    private static void WriteGemmBackward(SourceWriter writer, DensePlan layer, bool isFirst, int inputs, int units)
    {
        writer.WriteLine($"var dz = dy.Slice(0, batch * {units});");
        if (layer.Activation != Activation.Linear)
        {
            writer.WriteLine($"// dz = dy ⊙ {Derivative(layer.Activation)}, in place");
            writer.WriteLine($"{Activations}.{layer.Activation}Backward(y.Slice(0, batch * {units}), dz);");
        }

        writer.WriteLine($"// ∂L/∂W += dzᵀ·x: [{units}×batch]·[batch×{inputs}]");
        writer.WriteLine($"{Gemm}.MultiplyAddTransposedA(dz, x.Slice(0, batch * {inputs}), dw, {units}, {inputs}, batch);");
        writer.WriteLine("// ∂L/∂b += Σₙ dz[n, :]");
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"{Blas}.Add(dz.Slice(n * {units}, {units}), db);");
        }

        if (!isFirst)
        {
            writer.WriteLine();
            writer.WriteLine($"// dx = dz·W: [batch×{units}]·[{units}×{inputs}]");
            writer.WriteLine($"{Gemm}.Multiply(dz, w, dx.Slice(0, batch * {inputs}), batch, {inputs}, {units});");
        }
    }

    private static void WriteUnrolledBackward(SourceWriter writer, DensePlan layer, bool isFirst)
    {
        var (inputs, units) = (layer.InputSize, layer.Units);
        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            if (layer.Activation != Activation.Linear)
            {
                writer.WriteLine($"var yn = y.Slice(n * {units}, {units});");
            }

            writer.WriteLine($"var dyn = dy.Slice(n * {units}, {units});");
            for (var o = 0; o < units; o++)
            {
                var derivative = layer.Activation == Activation.Linear
                    ? string.Empty
                    : $" * {Activations}.{layer.Activation}Derivative(yn[{o}])";
                writer.WriteLine($"var dz{o} = dyn[{o}]{derivative};");
            }

            writer.WriteLine("// ∂L/∂W[o, i] += dz[o]·x[i];  ∂L/∂b[o] += dz[o]");
            for (var o = 0; o < units; o++)
            {
                for (var i = 0; i < inputs; i++)
                {
                    writer.WriteLine($"dw[{(o * inputs) + i}] += dz{o} * xn[{i}];");
                }

                writer.WriteLine($"db[{o}] += dz{o};");
            }

            if (!isFirst)
            {
                writer.WriteLine("// ∂L/∂x[i] = Σₒ dz[o]·W[o, i]");
                writer.WriteLine($"var dxn = dx.Slice(n * {inputs}, {inputs});");
                for (var i = 0; i < inputs; i++)
                {
                    var terms = Enumerable.Range(0, units).Select(o => $"dz{o} * w[{(o * inputs) + i}]");
                    writer.WriteLine($"dxn[{i}] = {string.Join(" + ", terms)};");
                }
            }
        }
    }

    private static void WriteLoopedBackward(SourceWriter writer, DensePlan layer, bool isFirst, int inputs, int units)
    {
        if (layer.Activation != Activation.Linear)
        {
            writer.WriteLine($"// dz = dy ⊙ {Derivative(layer.Activation)}, in place");
            writer.WriteLine($"{Activations}.{layer.Activation}Backward(y.Slice(0, batch * {units}), dy.Slice(0, batch * {units}));");
            writer.WriteLine();
        }

        using (writer.OpenBlock("for (var n = 0; n < batch; n++)"))
        {
            writer.WriteLine($"var xn = x.Slice(n * {inputs}, {inputs});");
            writer.WriteLine($"var dzn = dy.Slice(n * {units}, {units});");
            if (!isFirst)
            {
                writer.WriteLine($"var dxn = dx.Slice(n * {inputs}, {inputs});");
                writer.WriteLine("dxn.Clear();");
            }

            writer.WriteLine("// ∂L/∂b += dz");
            writer.WriteLine($"{Blas}.Add(dzn, db);");
            var comment = isFirst
                ? "// ∂L/∂W[o, :] += dz[o]·x"
                : "// ∂L/∂W[o, :] += dz[o]·x;  ∂L/∂x += dz[o]·W[o, :]";
            writer.WriteLine(comment);
            using (writer.OpenBlock($"for (var o = 0; o < {units}; o++)"))
            {
                writer.WriteLine($"{Blas}.Axpy(dzn[o], xn, dw.Slice(o * {inputs}, {inputs}));");
                if (!isFirst)
                {
                    writer.WriteLine($"{Blas}.Axpy(dzn[o], w.Slice(o * {inputs}, {inputs}), dxn);");
                }
            }
        }
    }

    /// <summary>The math of an activation applied to an expression, for comments.</summary>
    private static string Apply(Activation activation, string expression) => activation switch
    {
        Activation.Relu => $"relu({expression})",
        Activation.Sigmoid => $"σ({expression})",
        Activation.Tanh => $"tanh({expression})",
        _ => expression,
    };

    /// <summary>The activation's derivative written in terms of its output y, for comments.</summary>
    private static string Derivative(Activation activation) => activation switch
    {
        Activation.Relu => "[y > 0]",
        Activation.Sigmoid => "y·(1 − y)",
        Activation.Tanh => "(1 − y²)",
        _ => "1",
    };

    private static string ScalarActivation(Activation activation, string expression) =>
        activation == Activation.Linear ? expression : $"{Activations}.{activation}({expression})";
}
