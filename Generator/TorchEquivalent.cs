using System.Collections.Generic;
using System.Globalization;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// The PyTorch module a model is equivalent to: an <c>nn.Sequential</c> called <c>layers</c> in which every module
/// counts (activations, <c>Flatten</c>, dropout and pooling too), so that a weights file is that module's
/// <c>state_dict</c> and loads with <c>load_state_dict(…, strict=True)</c> both ways. It decides each tensor's name,
/// its shape in the file (PyTorch's), and how the model's buffer orders it: ModelGen keeps images channels-last and
/// dense weights [inputs × units], PyTorch keeps both the other way round.
/// </summary>
internal static class TorchEquivalent
{
    /// <summary>The zero rows below and columns right of a window's input: what the output size leaves after the top and left padding.</summary>
    public static (int Bottom, int Right) TrailingPadding(WindowPlan window) =>
        (System.Math.Max(0, ((window.OutputHeight - 1) * window.Stride) + window.Kernel - window.Height - window.PadTop),
         System.Math.Max(0, ((window.OutputWidth - 1) * window.Stride) + window.Kernel - window.Width - window.PadLeft));

    /// <summary>What flows between two layers, as PyTorch sees it.</summary>
    private sealed record Flow(int Channels, int Height, int Width, bool Image, bool ChannelsLast, bool FlatImage, int Size)
    {
        public static Flow Vector(int size) => new(0, 0, 0, false, false, false, size);

        public static Flow Picture(int channels, int height, int width, bool channelsLast) =>
            new(channels, height, width, true, channelsLast, false, channels * height * width);

        /// <summary>Values in ModelGen's (h, w, c) order that PyTorch orders (c, h, w): an image after a window layer, or its flattening.</summary>
        public bool Permuted => (Image || FlatImage) && ChannelsLast;
    }

    public static TorchPlan Of(ModelPlan plan)
    {
        var modules = new List<TorchModule>();
        var tensors = new List<PlannedTensor>();
        var prefixes = new List<string>();
        var input = plan.InputShape;
        var flows = new List<Flow> { input.Count == 3 ? Flow.Picture(input[0], input[1], input[2], channelsLast: false) : Flow.Vector(plan.InputSize) };

        // The nn.Sequential being filled: the model's, or a residual connection's block or shortcut, innermost last,
        // each with its path and its modules so far. A residual connection is one module, Residual(branch, shortcut).
        var top = new Container("layers", string.Empty);
        var open = new List<Container>();
        var residualPaths = new Dictionary<string, string>();
        Container Current() => open.Count == 0 ? top : open[open.Count - 1];
        string Indent(int extra = 0) => new(' ', 4 * ((2 * open.Count) + extra));

        void Add(string code)
        {
            var container = Current();
            modules.Add(new TorchModule(container.Path + "." + Int(container.Count), Indent() + code + ","));
            container.Count++;
        }

        string Prefix() => Current().Path + "." + Int(Current().Count - 1) + ".";

        // Opens and closes the residual connections' containers until the innermost open one is the node's.
        void Enter(EquatableArray<string> scope)
        {
            var common = 0;
            while (common < open.Count && common < scope.Count && open[common].Segment == scope[common])
            {
                common++;
            }

            while (open.Count > common)
            {
                open.RemoveAt(open.Count - 1);
                modules.Add(new TorchModule(string.Empty, Indent(1) + "),"));
            }

            for (var i = common; i < scope.Count; i++)
            {
                var number = scope[i].Substring(0, scope[i].IndexOf('.'));
                var part = scope[i].Substring(number.Length + 1);
                if (!residualPaths.TryGetValue(number, out var path))
                {
                    path = Current().Path + "." + Int(Current().Count);
                    residualPaths[number] = path;
                    modules.Add(new TorchModule(path, Indent() + "Residual("));
                    Current().Count++;
                }

                modules.Add(new TorchModule(path + "." + part, Indent(1) + (part == "branch" ? "nn.Sequential(" : "shortcut=nn.Sequential(")));
                open.Add(new Container(path + "." + part, scope[i]));
            }
        }

        foreach (var layer in plan.Layers)
        {
            var tensorCount = tensors.Count;
            Enter(layer.Scope);
            var flow = flows[layer.Inputs[0]];
            switch (layer)
            {
                case ILayerWriter unit:
                    if (unit.TorchModule is { } module)
                    {
                        Add(module);
                    }

                    break;

                case AddPlan add:
                    var residual = residualPaths[Int(add.Index)];
                    if (ActivationModule(add.Activation, add.Alpha) is { } function)
                    {
                        modules.Add(new TorchModule(string.Empty, Indent(1) + "activation=" + function + ","));
                    }

                    modules.Add(new TorchModule(string.Empty, Indent() + "),"));
                    prefixes.Add(residual + ".");
                    flows.Add(flow);
                    continue;

                case DensePlan dense:
                    Add($"nn.Linear({dense.InputSize}, {dense.Units}{(dense.HasBias ? string.Empty : ", bias=False")})");
                    var denseView = flow.Permuted ? new[] { dense.Units, flow.Channels, flow.Height, flow.Width } : new[] { dense.Units, dense.InputSize };
                    var denseAxes = flow.Permuted ? new[] { 2, 3, 1, 0 } : new[] { 1, 0 };
                    tensors.Add(new PlannedTensor(Prefix() + "weight", dense.Identifier + "WeightsOffset", dense.WeightsOffset, Dims(dense.Units, dense.InputSize))
                    {
                        View = flow.Permuted ? denseView.ToEquatableArray() : default,
                        StoredAxes = denseAxes.ToEquatableArray(),
                    });
                    if (dense.HasBias)
                    {
                        tensors.Add(new PlannedTensor(Prefix() + "bias", dense.Identifier + "BiasOffset", dense.BiasOffset, Dims(dense.Units)));
                    }

                    AddActivation(dense.Activation, dense.Alpha);
                    flow = Flow.Vector(dense.Units);
                    break;

                case ConvPlan conv:
                    var window = conv.Window;
                    var (padBottom, padRight) = TrailingPadding(window);
                    var padding = "0";
                    if (padBottom != window.PadTop || padRight != window.PadLeft)
                    {
                        Add($"nn.ZeroPad2d(({window.PadLeft}, {padRight}, {window.PadTop}, {padBottom}))");
                    }
                    else if (window.PadTop > 0)
                    {
                        padding = window.PadTop == window.PadLeft ? Int(window.PadTop) : $"({window.PadTop}, {window.PadLeft})";
                    }

                    Add($"nn.Conv2d({window.Channels}, {conv.Filters}, {window.Kernel}{(window.Stride > 1 ? ", stride=" + Int(window.Stride) : string.Empty)}{(padding != "0" ? ", padding=" + padding : string.Empty)}{(conv.HasBias ? string.Empty : ", bias=False")})");
                    tensors.Add(new PlannedTensor(Prefix() + "weight", conv.Identifier + "WeightsOffset", conv.WeightsOffset, Dims(conv.Filters, window.Channels, window.Kernel, window.Kernel))
                    {
                        StoredAxes = Dims(2, 3, 1, 0),
                    });
                    if (conv.HasBias)
                    {
                        tensors.Add(new PlannedTensor(Prefix() + "bias", conv.Identifier + "BiasOffset", conv.BiasOffset, Dims(conv.Filters)));
                    }

                    AddActivation(conv.Activation, conv.Alpha);
                    flow = Flow.Picture(conv.Filters, window.OutputHeight, window.OutputWidth, channelsLast: true);
                    break;

                case PoolPlan pool:
                    var poolWindow = pool.Window;
                    var stride = poolWindow.Stride == poolWindow.Kernel ? string.Empty : ", stride=" + Int(poolWindow.Stride);
                    Add($"nn.{(pool.Average ? "AvgPool2d" : "MaxPool2d")}({poolWindow.Kernel}{stride})");
                    flow = Flow.Picture(poolWindow.Channels, poolWindow.OutputHeight, poolWindow.OutputWidth, channelsLast: true);
                    break;

                case GlobalPoolPlan global:
                    Add("nn.AdaptiveAvgPool2d(1)");
                    Add("nn.Flatten()");
                    flow = Flow.Vector(global.Channels);
                    break;

                case FlattenPlan:
                    Add("nn.Flatten()");
                    flow = flow.Image ? flow with { Image = false, FlatImage = true } : flow;
                    break;

                case DropoutPlan dropout:
                    Add($"nn.Dropout({Float(dropout.Rate)})");
                    break;

                case LayerNormPlan norm:
                    var normShape = flow.Image ? $"[{flow.Channels}, {flow.Height}, {flow.Width}]" : Int(norm.Size);
                    Add($"nn.LayerNorm({normShape}, eps={Float(norm.Epsilon)})");
                    var normDims = flow.Image ? Dims(flow.Channels, flow.Height, flow.Width) : Dims(norm.Size);
                    var normView = flow.Permuted ? Dims(flow.Channels, flow.Height, flow.Width) : default;
                    var normAxes = flow.Permuted ? Dims(1, 2, 0) : default;
                    tensors.Add(new PlannedTensor(Prefix() + "weight", norm.Identifier + "GammaOffset", norm.GammaOffset, normDims) { View = normView, StoredAxes = normAxes });
                    tensors.Add(new PlannedTensor(Prefix() + "bias", norm.Identifier + "BetaOffset", norm.BetaOffset, normDims) { View = normView, StoredAxes = normAxes });
                    break;

                case BatchNormPlan batch:
                    // Keras' momentum m keeps m of the old average; PyTorch's momentum is the weight of the new batch.
                    var perChannel = flow.Image;
                    Add($"nn.BatchNorm{(perChannel ? "2d" : "1d")}({batch.Features}, eps={Float(batch.Epsilon)}, momentum={Decimal(1m - (decimal)batch.Momentum)})");
                    var batchView = !perChannel && flow.Permuted ? Dims(flow.Channels, flow.Height, flow.Width) : default;
                    var batchAxes = !perChannel && flow.Permuted ? Dims(1, 2, 0) : default;
                    PlannedTensor Statistic(string name, string constant, int offset, bool inState) =>
                        new(Prefix() + name, batch.Identifier + constant, offset, Dims(batch.Features)) { View = batchView, StoredAxes = batchAxes, InState = inState };
                    tensors.Add(Statistic("weight", "GammaOffset", batch.GammaOffset, inState: false));
                    tensors.Add(Statistic("bias", "BetaOffset", batch.BetaOffset, inState: false));
                    tensors.Add(Statistic("running_mean", "MeanOffset", batch.MeanOffset, inState: true));
                    tensors.Add(Statistic("running_var", "VarianceOffset", batch.VarianceOffset, inState: true));
                    tensors.Add(new PlannedTensor(Prefix() + "num_batches_tracked", "-1", -1, default) { IsBatchCounter = true, InState = true });
                    break;
            }

            var name = tensors.Count > tensorCount ? tensors[tensorCount].Name : Prefix();
            prefixes.Add(name.Substring(0, name.LastIndexOf('.') + 1));
            flows.Add(flow);
        }

        Enter(EquatableArray<string>.Empty);
        return new TorchPlan(modules.ToEquatableArray(), tensors.ToEquatableArray(), prefixes.ToEquatableArray());

        void AddActivation(Activation activation, float alpha)
        {
            if (ActivationModule(activation, alpha) is { } module)
            {
                Add(module);
            }
        }
    }

    /// <summary>The PyTorch module of an activation, or null for none.</summary>
    private static string? ActivationModule(Activation activation, float alpha) => activation switch
    {
        Activation.Relu => "nn.ReLU()",
        Activation.LeakyRelu => $"nn.LeakyReLU({Float(alpha)})",
        Activation.Elu => $"nn.ELU({Float(alpha)})",
        Activation.Gelu => "nn.GELU(approximate=\"tanh\")",
        Activation.Silu => "nn.SiLU()",
        Activation.Sigmoid => "nn.Sigmoid()",
        Activation.Tanh => "nn.Tanh()",
        _ => null,
    };

    /// <summary>An nn.Sequential being filled: its path in the state_dict, the scope segment that opened it, and its modules so far.</summary>
    private sealed class Container(string path, string segment)
    {
        public string Path { get; } = path;

        public string Segment { get; } = segment;

        public int Count { get; set; }
    }

    /// <summary>A decimal as Python writes it (0.01 rather than the float subtraction's 0.00999999).</summary>
    private static string Decimal(decimal value)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        return text.Contains(".") ? text.TrimEnd('0').TrimEnd('.') is var trimmed && trimmed.Contains(".") ? trimmed : trimmed + ".0" : text + ".0";
    }

    private static EquatableArray<int> Dims(params int[] dimensions) => dimensions.ToEquatableArray();

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A float as Python writes it: the shortest round-trip form, with a decimal point.</summary>
    internal static string Float(float value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains(".") || text.Contains("E") ? text.Replace("E", "e") : text + ".0";
    }
}
