using ModelGen.Generator.Helpers;
using ModelGen.Generator.Layers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>
/// Writes the forward and backward methods of convolution and max-pooling layers. A convolution is the product of its
/// windows (each a row) and its weights, over batch × positions rows, with the windows read where they lie: in place
/// from a padded copy of each sample (stride 1), by the product's packing (other strides), or by the direct kernels (a
/// first layer). The input gradient of a channels-last layer is a convolution of dz (one per phase for a stride over
/// 1); only a first layer's that the direct kernels do not take is the windows' gradient added back by col2im.
/// </summary>
internal static class ConvEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";
    private const string Convolution = "global::ModelGen.Kernels.Convolution";
    private const string Gemm = "global::ModelGen.Kernels.Gemm";
    private const string Pooling = "global::ModelGen.Kernels.Pooling";
    private const string Reductions = "global::ModelGen.Kernels.Reductions";

    /// <summary><c>ConvForward(x, y, batch)</c>: y = f(windows·W + b), the windows read from x by the product (no im2col).</summary>
    public static void WriteForward(SourceWriter writer, ConvPlan layer)
    {
        var window = layer.Window;
        var (positions, patch, filters) = (window.Positions, window.PatchSize, layer.Filters);
        var relu = layer.Activation == Activation.Relu;
        var product = layer.KeepsPreActivation ? "z" : "y";
        writer.WriteLine(
            $"/// <summary>{layer.Name} forward: y = {DenseEmitter.Apply(layer, "x ∗ W + b")}, " +
            $"[batch×{window.Channels}×{window.Height}×{window.Width}] → [batch×{filters}×{window.OutputHeight}×{window.OutputWidth}], kept (h, w, c).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{ReadOnlySpan} b = {layer.Identifier}Bias;");
            if (layer.KeepsPreActivation)
            {
                writer.WriteLine($"var z = Workspace({layer.Identifier}PreActivation, {layer.Units}, batch);");
            }

            var activation = relu ? $", {Gemm}Activation.Relu" : string.Empty;
            var stored = relu ? ", then ReLU as it is stored" : string.Empty;
            if (layer.Direct)
            {
                writer.WriteLine($"// z = x ∗ W + b, each output's {patch} window values read where they lie (no im2col){stored}");
                writer.WriteLine($"{Convolution}.DirectForward(x.Slice(0, batch * {layer.InputSize}), w, b, {product}.Slice(0, batch * {layer.Units}), {layer.Identifier}Window, batch{activation});");
            }
            else
            {
                writer.WriteLine($"// z = windows·W + b: [batch·{positions}×{patch}]·[{patch}×{filters}], one blocked GEMM whose packing reads each");
                writer.WriteLine($"// {window.Kernel}×{window.Kernel} window (kernel row, kernel column, channel) from x, with the bias added{stored}");
                writer.WriteLine($"{Convolution}.Forward(x.Slice(0, batch * {layer.InputSize}), w, b, {product}.Slice(0, batch * {layer.Units}), {layer.Identifier}Window, batch{activation});");
            }

            if (layer.KeepsPreActivation)
            {
                writer.WriteLine();
                DenseEmitter.WriteActivationFromPreActivation(writer, layer, layer.Units);
            }
            else if (layer.Activation != Activation.Linear && !relu)
            {
                writer.WriteLine();
                DenseEmitter.WriteActivationInPlace(writer, layer, "y", layer.Units);
            }
        }
    }

    /// <summary>
    /// <c>ConvAndPoolForward(x, y, batch)</c>: a direct convolution and the 2 × 2 max pooling after it in one pass
    /// (<see cref="PoolGate.FusesForward"/>), the pooling layer's outputs and indices written, the convolution's never.
    /// </summary>
    public static void WriteForwardMaxPool(SourceWriter writer, PoolGate fused)
    {
        var (layer, pool) = (fused.Conv, fused.Pool);
        var window = layer.Window;
        writer.WriteLine(
            $"/// <summary>{layer.Name} and {pool.Name} forward: y = the largest {DenseEmitter.Apply(layer, "x ∗ W + b")} of each 2×2 window, " +
            $"[batch×{window.Channels}×{window.Height}×{window.Width}] → [batch×{layer.Filters}×{pool.Window.OutputHeight}×{pool.Window.OutputWidth}], kept (h, w, c).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}And{pool.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{ReadOnlySpan} b = {layer.Identifier}Bias;");
            writer.WriteLine($"var argmax = {Argmax(pool)};");
            writer.WriteLine($"// each output's {window.PatchSize} window values read where they lie (no im2col), then ReLU, and each 2×2 window's first largest");
            writer.WriteLine($"// kept with where it lies in {layer.Name}'s outputs, as two windows' eight outputs are made: those outputs are never stored");
            writer.WriteLine(
                $"{Convolution}.DirectForwardMaxPool(x.Slice(0, batch * {layer.InputSize}), w, b, y.Slice(0, batch * {pool.Units}), argmax, " +
                $"{layer.Identifier}Window, {pool.Identifier}Window, batch, {Gemm}Activation.Relu);");
        }
    }

    /// <summary>
    /// <c>ConvBackward(x, [y,] dy[, dx], batch)</c>: dz = dy ⊙ f′ in place (unless the pooling layer above applied it),
    /// ∂L/∂b = Σ dz and ∂L/∂W = windowsᵀ·dz with the windows read from x; then dx as a convolution of dz (channels-last
    /// input), by the direct kernel, or as col2im(dz·Wᵀ) a chunk at a time; for the first layer with parameters only when
    /// dx is given (the pass to the inputs gives it, TrainStep does not).
    /// </summary>
    public static void WriteBackward(SourceWriter writer, ConvPlan layer, bool isFirst, PoolGate? gate)
    {
        var window = layer.Window;
        var (positions, patch, filters) = (window.Positions, window.PatchSize, layer.Filters);
        var dz = (layer.Activation, gate) switch
        {
            (_, { } pool) => $"dz = dy (the ReLU derivative applied{(layer.HasBias ? ", and ∂L/∂b summed," : string.Empty)} by {pool.Pool.Name}'s backward)",
            (Activation.Linear, _) => "dz = dy",
            _ => $"dz = dy ⊙ {DenseEmitter.Derivative(layer)}",
        };
        var biasDoc = gate is null ? ", ∂L/∂b = Σ dz" : string.Empty;
        var dxDoc = (layer.Direct, layer.InputGradientIsConvolution) switch
        {
            (true, _) => ", dx = each window's dz·Wᵀ added where it was read",
            (_, true) when layer.ReadsWindowsInPlace => ", dx = dz convolved with the flipped kernel",
            (_, true) => ", dx = dz convolved with each phase's taps of the flipped kernel",
            _ => ", dx = col2im(dz·Wᵀ)",
        } + (isFirst ? " " + (gate is { FusesBackward: true }
            ? $"when dx is given (InputGradients; TrainStep takes this layer's gradients in {gate.Pool.Name}'s backward, and private training calls this without dx)"
            : DenseEmitter.WhenGiven) : string.Empty);
        writer.WriteLine($"/// <summary>{layer.Name} backward: {dz}, ∂L/∂W = windowsᵀ·dz{biasDoc}{dxDoc}.</summary>");
        var yParameter = DenseEmitter.ReadsOutputs(layer, gated: gate is not null) ? $" {ReadOnlySpan} y," : string.Empty;
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} x,{yParameter} {Span} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{ReadOnlySpan} w = {layer.Identifier}Weights;");
            writer.WriteLine($"{Span} dw = {layer.Identifier}WeightGradients;");
            if (gate is null)
            {
                writer.WriteLine($"{Span} db = {layer.Identifier}BiasGradients;");
            }

            if (layer.KeepsPreActivation)
            {
                writer.WriteLine($"var z = Workspace({layer.Identifier}PreActivation, {layer.Units}, batch);");
            }

            writer.WriteLine($"var dz = dy.Slice(0, batch * {layer.Units});");
            if (gate is null)
            {
                if (layer.Activation != Activation.Linear)
                {
                    DenseEmitter.WriteDerivativeInPlace(writer, layer, "dz", layer.Units);
                }

                writer.WriteLine("// ∂L/∂b = Σ dz over every sample and position");
                writer.WriteLine($"{Reductions}.ColumnSums(dz, db);");
            }

            writer.WriteLine();
            if (layer.Direct)
            {
                writer.WriteLine($"// ∂L/∂W = Σ windowsᵀ·dz: [{patch}×batch·{positions}]·[batch·{positions}×{filters}], each window read where it lies (no im2col)");
                writer.WriteLine($"{Convolution}.DirectWeightGradient(x.Slice(0, batch * {layer.InputSize}), dz, dw, {layer.Identifier}Window, batch);");
                writer.WriteLine();
                DenseEmitter.WriteReturnUnlessGiven(writer);
                writer.WriteLine("// dx: each window value's gradient Σ_f dz·W added back where it was read from");
                writer.WriteLine($"{Convolution}.DirectInputGradient(dz, w, dx.Slice(0, batch * {layer.InputSize}), {layer.Identifier}Window, batch);");
                return;
            }

            writer.WriteLine($"// ∂L/∂W = Σ windowsᵀ·dz: [{patch}×batch·{positions}]·[batch·{positions}×{filters}], each window read from x by the product,");
            writer.WriteLine(layer.ReadsWindowsInPlace
                ? $"// in place where a padded sample fits the product's buffers, else {layer.Chunk} samples per product ({layer.Identifier}Chunk), summed in order"
                : $"// {layer.Chunk} samples per product ({layer.Identifier}Chunk), the products summed in order");
            writer.WriteLine($"{Convolution}.WeightGradient(x.Slice(0, batch * {layer.InputSize}), dz, dw, {layer.Identifier}Window, batch, {layer.Identifier}Chunk);");
            writer.WriteLine();
            if (isFirst)
            {
                DenseEmitter.WriteReturnUnlessGiven(writer);
            }

            if (layer.InputGradientIsConvolution && !layer.ReadsWindowsInPlace)
            {
                var (stride, tapped) = (window.Stride, System.Math.Min(window.Stride, window.Kernel));
                var phases = (tapped == stride, tapped) switch
                {
                    (true, _) => "each phase's gradient is",
                    (false, 1) => "only the phase of residues (0, 0) has kernel taps (the others' gradient is zero), and its gradient is",
                    _ => $"the {tapped * tapped} phases of residues below {window.Kernel} have kernel taps (the others' gradient is zero), and each one's gradient is",
                };
                writer.WriteLine($"// dx: the input's rows and columns fall into {stride * stride} phases, (h + {window.PadTop}) mod {stride} and (w + {window.PadLeft}) mod {stride}; {phases}");
                writer.WriteLine($"// dz convolved at stride 1 with the phase's taps of W (every {Ordinal(stride)} kernel row and column) flipped, channels and filters");
                writer.WriteLine("// swapped, read in place and written to the phase's rows and columns: no windows' gradient, no col2im");
                writer.WriteLine($"{Convolution}.InputGradient(dz, w, dx.Slice(0, batch * {layer.InputSize}), {layer.Identifier}Window, batch, _windows.Span);");
                return;
            }

            if (layer.InputGradientIsConvolution)
            {
                writer.WriteLine($"// dx = dz convolved with W flipped (kernel turned half a turn, channels and filters swapped): [batch·{window.Height * window.Width}×{window.Kernel * window.Kernel * filters}]·[{window.Kernel * window.Kernel * filters}×{window.Channels}],");
                writer.WriteLine("// each window of dz read by the product, the flipped kernel written to the window buffer: no col2im");
                writer.WriteLine($"{Convolution}.InputGradient(dz, w, dx.Slice(0, batch * {layer.InputSize}), {layer.Identifier}Window, batch, _windows.Span);");
                return;
            }

            using (OpenChunks(writer, layer))
            {
                writer.WriteLine($"// the windows' gradient dz·Wᵀ: [count·{positions}×{filters}]·[{filters}×{patch}]");
                writer.WriteLine($"{Gemm}.MultiplyTransposed(dz.Slice(start * {layer.Units}, count * {layer.Units}), w, windows, count * {positions}, {patch}, {filters});");
                writer.WriteLine("// dx: each window's gradient added back where the window was read from");
                writer.WriteLine($"{Convolution}.ColumnsToImage(windows, dx.Slice(start * {layer.InputSize}, count * {layer.InputSize}), {layer.Identifier}Window, count);");
            }
        }
    }

    /// <summary>Opens the loop over the batch's chunks, with <c>start</c>, <c>count</c> and the chunk's <c>windows</c> in scope.</summary>
    private static SourceWriter.Block OpenChunks(SourceWriter writer, ConvPlan layer)
    {
        var rows = layer.Window.Positions * layer.Window.PatchSize;
        writer.WriteLine($"// {layer.Chunk} samples at a time ({layer.Identifier}Chunk), so that their windows' gradient stays in L2 from the product to col2im");
        var loop = writer.OpenBlock($"for (var start = 0; start < batch; start += {layer.Identifier}Chunk)");
        writer.WriteLine($"var count = global::System.Math.Min({layer.Identifier}Chunk, batch - start);");
        writer.WriteLine($"var windows = _windows.Span.Slice(0, count * {rows});");
        return loop;
    }

    /// <summary><c>PoolForward(x, y, batch)</c>: the largest value of each window and channel, and where it was; or its mean.</summary>
    public static void WritePoolForward(SourceWriter writer, PoolPlan layer)
    {
        var window = layer.Window;
        if (layer.Average)
        {
            writer.WriteLine(
                $"/// <summary>{layer.Name} forward: the mean of each {window.Kernel}×{window.Kernel} window of each channel, " +
                $"[batch×{window.Channels}×{window.Height}×{window.Width}] → [batch×{window.Channels}×{window.OutputHeight}×{window.OutputWidth}], kept (h, w, c).</summary>");
            using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
            {
                writer.WriteLine($"{Pooling}.AverageForward(x.Slice(0, batch * {layer.InputSize}), y.Slice(0, batch * {layer.Units}), {layer.Identifier}Window, batch);");
            }

            return;
        }

        writer.WriteLine(
            $"/// <summary>{layer.Name} forward: the largest value of each {window.Kernel}×{window.Kernel} window of each channel, " +
            $"[batch×{window.Channels}×{window.Height}×{window.Width}] → [batch×{window.Channels}×{window.OutputHeight}×{window.OutputWidth}], kept (h, w, c).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"var argmax = {Argmax(layer)};");
            writer.WriteLine($"{Pooling}.MaxForward(x.Slice(0, batch * {layer.InputSize}), y.Slice(0, batch * {layer.Units}), argmax, {layer.Identifier}Window, batch);");
        }
    }

    /// <summary>
    /// <c>PoolBackward(dy, dx, batch)</c>: each output's gradient to the input it came from; with a <paramref name="gate"/>,
    /// <c>PoolBackward(y, dy, dx, batch)</c> also applies the ReLU derivative of the convolution below and sums its bias gradient.
    /// </summary>
    public static void WritePoolBackward(SourceWriter writer, PoolPlan layer, PoolGate? gate)
    {
        if (layer.Average)
        {
            writer.WriteLine($"/// <summary>{layer.Name} backward: dx = the sum over the windows that hold x of dy / {layer.Window.Kernel * layer.Window.Kernel}.</summary>");
            using (writer.OpenBlock($"private void {layer.Identifier}Backward({Span} dy, {Span} dx, int batch)"))
            {
                writer.WriteLine($"{Pooling}.AverageBackward(dy.Slice(0, batch * {layer.Units}), dx.Slice(0, batch * {layer.InputSize}), {layer.Identifier}Window, batch);");
            }

            return;
        }

        if (gate is null)
        {
            writer.WriteLine($"/// <summary>{layer.Name} backward: dx = dy at the input each output came from, 0 elsewhere.</summary>");
            using (writer.OpenBlock($"private void {layer.Identifier}Backward({Span} dy, {Span} dx, int batch)"))
            {
                writer.WriteLine($"var argmax = {Argmax(layer)};");
                writer.WriteLine($"{Pooling}.MaxBackward(dy.Slice(0, batch * {layer.Units}), argmax, dx.Slice(0, batch * {layer.InputSize}), {layer.Identifier}Window, batch);");
            }

            return;
        }

        var conv = gate.Conv;
        writer.WriteLine(
            $"/// <summary>{layer.Name} backward, with {conv.Name}'s ReLU derivative: dx = dy ⊙ [y > 0] at the input each output came from, 0 elsewhere" +
            (conv.HasBias ? $", and {conv.Name}'s ∂L/∂b = Σ dy ⊙ [y > 0].</summary>" : ".</summary>"));
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({ReadOnlySpan} y, {Span} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"var argmax = {Argmax(layer)};");
            writer.WriteLine($"var gate = y.Slice(0, batch * {layer.Units});");
            writer.WriteLine($"// each pooled output y is the {conv.Name} output it came from, so [y > 0] is {conv.Name}'s ReLU derivative there");
            if (conv.HasBias)
            {
                writer.WriteLine($"// {conv.Name}'s ∂L/∂b = Σ dy ⊙ [y > 0] over every sample's {layer.Units} pooled values (rather than its {conv.Units} outputs)");
                writer.WriteLine($"{Reductions}.GatedColumnSums(dy.Slice(0, batch * {layer.Units}), gate, {conv.Identifier}BiasGradients);");
            }

            writer.WriteLine("// dx = dy ⊙ [y > 0] at the input each output came from, 0 elsewhere");
            writer.WriteLine($"{Pooling}.MaxBackward(dy.Slice(0, batch * {layer.Units}), argmax, dx.Slice(0, batch * {layer.InputSize}), {layer.Identifier}Window, batch, gate);");
        }
    }

    /// <summary>
    /// <c>PoolAndConvBackward(x, y, dy, batch)</c>: training's backward of a max pooling layer and the direct convolution
    /// below it (<see cref="PoolGate.FusesBackward"/>): the convolution's bias and weight gradients from the pooled
    /// gradient, its output gradient made a sample at a time where it is summed.
    /// </summary>
    public static void WritePoolAndConvBackward(SourceWriter writer, PoolGate gate)
    {
        var (layer, conv) = (gate.Pool, gate.Conv);
        var window = conv.Window;
        writer.WriteLine(
            $"/// <summary>{layer.Name} and {conv.Name} backward while training: {conv.Name}'s ∂L/∂W = windowsᵀ·dz" + (conv.HasBias ? " and ∂L/∂b = Σ dz" : string.Empty) +
            $", where dz = dy ⊙ [y > 0] at the input each output came from is made a sample at a time, never for the batch (no layer before has parameters).</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}And{conv.Identifier}Backward({ReadOnlySpan} x, {ReadOnlySpan} y, {Span} dy, int batch)"))
        {
            writer.WriteLine($"var argmax = {Argmax(layer)};");
            writer.WriteLine($"// each pooled output y is the {conv.Name} output it came from, so [y > 0] is {conv.Name}'s ReLU derivative there;");
            writer.WriteLine($"// ∂L/∂W = Σ windowsᵀ·dz: [{window.PatchSize}×batch·{window.Positions}]·[batch·{window.Positions}×{conv.Filters}], each window read where it lies, each sample's");
            writer.WriteLine("// dz made in a buffer of the thread that sums it, while it is in L2" +
                (conv.HasBias ? $"; ∂L/∂b = Σ dy ⊙ [y > 0] over its {layer.Units} pooled values (rather than its {conv.Units} outputs)" : string.Empty));
            writer.WriteLine(
                $"{Convolution}.DirectWeightGradientMaxPool(x.Slice(0, batch * {conv.InputSize}), dy.Slice(0, batch * {layer.Units}), argmax, y.Slice(0, batch * {layer.Units}), " +
                $"{conv.Identifier}WeightGradients, {(conv.HasBias ? conv.Identifier + "BiasGradients" : "default")}, {conv.Identifier}Window, {layer.Identifier}Window, batch);");
        }
    }

    /// <summary><c>GlobalPoolForward(x, y, batch)</c>: each channel's mean over its positions.</summary>
    public static void WriteGlobalPoolForward(SourceWriter writer, GlobalPoolPlan layer)
    {
        writer.WriteLine(
            $"/// <summary>{layer.Name} forward: each channel's mean over its {layer.Height}×{layer.Width} positions, " +
            $"[batch×{layer.Channels}×{layer.Height}×{layer.Width}] stored {Layout(layer)} → [batch×{layer.Channels}].</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Forward({ReadOnlySpan} x, {Span} y, int batch)"))
        {
            writer.WriteLine($"{Pooling}.GlobalAverageForward(x.Slice(0, batch * {layer.InputSize}), y.Slice(0, batch * {layer.Units}), channels: {layer.Channels}, positions: {layer.Positions}, channelsLast: {Emitter.Bool(layer.ChannelsLast)}, batch);");
        }
    }

    /// <summary><c>GlobalPoolBackward(dy, dx, batch)</c>: each channel's gradient shared by its positions.</summary>
    public static void WriteGlobalPoolBackward(SourceWriter writer, GlobalPoolPlan layer)
    {
        writer.WriteLine($"/// <summary>{layer.Name} backward: dx = dy / {layer.Positions} at every position of its channel.</summary>");
        using (writer.OpenBlock($"private void {layer.Identifier}Backward({Span} dy, {Span} dx, int batch)"))
        {
            writer.WriteLine($"{Pooling}.GlobalAverageBackward(dy.Slice(0, batch * {layer.Units}), dx.Slice(0, batch * {layer.InputSize}), channels: {layer.Channels}, positions: {layer.Positions}, channelsLast: {Emitter.Bool(layer.ChannelsLast)}, batch);");
        }
    }

    private static string Layout(GlobalPoolPlan layer) => layer.ChannelsLast ? "(h, w, c)" : "(c, h, w) as declared";

    private static string Ordinal(int n) => n switch { 2 => "second", 3 => "third", _ => n + "th" };

    /// <summary>The pooling layer's workspace region of input indices, as ints.</summary>
    private static string Argmax(PoolPlan layer) =>
        $"global::System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(Workspace({layer.Identifier}Argmax, {layer.Units}, batch))";
}
