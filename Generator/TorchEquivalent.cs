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

    public static TorchPlan Of(ModelPlan plan)
    {
        var input = plan.InputShape;
        var torch = new TorchBuilder();
        var prefixes = new List<string>();
        var flows = new List<TorchFlow> { input.Count == 3 ? TorchFlow.Picture(input[0], input[1], input[2], channelsLast: false) : TorchFlow.Vector(plan.InputSize) };
        foreach (var layer in plan.Layers)
        {
            torch.BeginLayer(layer.Scope, flows[layer.Inputs[0]]);
            layer.AddTorch(torch);
            prefixes.Add(torch.LayerPrefix);
            flows.Add(torch.Flow);
        }

        torch.Enter(EquatableArray<string>.Empty);
        return torch.Build(prefixes);
    }

    /// <summary>The PyTorch module of an activation, or null for none.</summary>
    public static string? ActivationModule(Activation activation, float alpha) => activation switch
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

    /// <summary>A decimal as Python writes it (0.01 rather than the float subtraction's 0.00999999).</summary>
    internal static string Decimal(decimal value)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        return text.Contains(".") ? text.TrimEnd('0').TrimEnd('.') is var trimmed && trimmed.Contains(".") ? trimmed : trimmed + ".0" : text + ".0";
    }

    /// <summary>Dimensions of a tensor, as a plan keeps them.</summary>
    public static EquatableArray<int> Dims(params int[] dimensions) => dimensions.ToEquatableArray();

    /// <summary>An integer as Python and C# write it.</summary>
    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A float as Python writes it: the shortest round-trip form, with a decimal point.</summary>
    internal static string Float(float value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains(".") || text.Contains("E") ? text.Replace("E", "e") : text + ".0";
    }
}

/// <summary>What flows between two layers, as PyTorch sees it.</summary>
internal sealed record TorchFlow(int Channels, int Height, int Width, bool Image, bool ChannelsLast, bool FlatImage, int Size)
{
    public static TorchFlow Vector(int size) => new(0, 0, 0, false, false, false, size);

    public static TorchFlow Picture(int channels, int height, int width, bool channelsLast) =>
        new(channels, height, width, true, channelsLast, false, channels * height * width);

    /// <summary>Values in ModelGen's (h, w, c) order that PyTorch orders (c, h, w): an image after a window layer, or its flattening.</summary>
    public bool Permuted => (Image || FlatImage) && ChannelsLast;
}

/// <summary>
/// The equivalent PyTorch module as it is filled, layer by layer: a layer adds its modules and the tensors of its
/// <c>state_dict</c> here, and says what leaves it (<see cref="Flow"/>).
/// </summary>
internal sealed class TorchBuilder
{
    /// <summary>The Python class of a residual connection's module, which <c>torch.nn</c> lacks.</summary>
    private static readonly string[] ResidualClass =
    [
        "class Residual(nn.Module):  # activation(branch(x) + shortcut(x))",
        "    def __init__(self, branch, shortcut=None, activation=None):",
        "        super().__init__()",
        "        self.branch = branch",
        "        self.shortcut = shortcut if shortcut is not None else nn.Identity()",
        "        self.activation = activation if activation is not None else nn.Identity()",
        string.Empty,
        "    def forward(self, x):",
        "        return self.activation(self.branch(x) + self.shortcut(x))",
        string.Empty,
    ];

    private readonly List<TorchModule> modules = [];
    private readonly List<PlannedTensor> tensors = [];
    private readonly List<string> classes = [];

    // The nn.Sequential being filled: the model's, or a residual connection's block or shortcut, innermost last, each
    // with its path and its modules so far. A residual connection is one module, Residual(branch, shortcut).
    private readonly Container top = new("layers", string.Empty);
    private readonly List<Container> open = [];
    private readonly Dictionary<string, string> residualPaths = [];
    private int firstTensor;
    private string? closedResidual;

    /// <summary>What reaches the layer being added; a layer that changes what flows sets what leaves it.</summary>
    public TorchFlow Flow { get; set; } = TorchFlow.Vector(0);

    /// <summary>The state_dict prefix of the module added last, e.g. <c>layers.3.</c>.</summary>
    public string Prefix => Current().Path + "." + TorchEquivalent.Int(Current().Count - 1) + ".";

    /// <summary>
    /// The name prefix of the module that holds the current layer's tensors (<c>layers.3.</c>): of its first tensor; of
    /// the last module it added, for a layer without tensors; of its <c>Residual</c> module, for a residual sum.
    /// </summary>
    public string LayerPrefix
    {
        get
        {
            if (closedResidual is not null)
            {
                return closedResidual + ".";
            }

            var name = tensors.Count > firstTensor ? tensors[firstTensor].Name : Prefix;
            return name.Substring(0, name.LastIndexOf('.') + 1);
        }
    }

    /// <summary>Starts a layer: in the containers of its <paramref name="scope"/>, receiving <paramref name="flow"/>.</summary>
    public void BeginLayer(EquatableArray<string> scope, TorchFlow flow)
    {
        Enter(scope);
        Flow = flow;
        firstTensor = tensors.Count;
        closedResidual = null;
    }

    /// <summary>Adds a module to the innermost open <c>nn.Sequential</c>: its constructor call, e.g. <c>nn.Flatten()</c>.</summary>
    public void Add(string code)
    {
        var container = Current();
        modules.Add(new TorchModule(container.Path + "." + TorchEquivalent.Int(container.Count), Indent() + code + ","));
        container.Count++;
    }

    /// <summary>Adds the module of an activation, if it has one (none for linear).</summary>
    public void AddActivation(Activation activation, float alpha)
    {
        if (TorchEquivalent.ActivationModule(activation, alpha) is { } module)
        {
            Add(module);
        }
    }

    /// <summary>Adds the Python class of a module <c>torch.nn</c> lacks, once (its lines, the class line first).</summary>
    public void AddClass(string[] lines)
    {
        if (!classes.Contains(lines[0]))
        {
            classes.AddRange(lines);
        }
    }

    /// <summary>Adds a tensor of the state_dict, named after <see cref="Prefix"/> as a rule.</summary>
    public void AddTensor(PlannedTensor tensor) => tensors.Add(tensor);

    /// <summary>Opens and closes the residual connections' containers until the innermost open one is the node's.</summary>
    public void Enter(EquatableArray<string> scope)
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
                path = Current().Path + "." + TorchEquivalent.Int(Current().Count);
                AddClass(ResidualClass);

                residualPaths[number] = path;
                modules.Add(new TorchModule(path, Indent() + "Residual("));
                Current().Count++;
            }

            modules.Add(new TorchModule(path + "." + part, Indent(1) + (part == "branch" ? "nn.Sequential(" : "shortcut=nn.Sequential(")));
            open.Add(new Container(path + "." + part, scope[i]));
        }
    }

    /// <summary>Closes residual connection <paramref name="index"/> with its activation, once its block's containers are closed.</summary>
    public void CloseResidual(int index, Activation activation, float alpha)
    {
        var path = residualPaths[TorchEquivalent.Int(index)];
        closedResidual = path;
        if (TorchEquivalent.ActivationModule(activation, alpha) is { } function)
        {
            modules.Add(new TorchModule(string.Empty, Indent(1) + "activation=" + function + ","));
        }

        modules.Add(new TorchModule(string.Empty, Indent() + "),"));
    }

    /// <summary>The module as built, with each layer's tensor-name prefix.</summary>
    public TorchPlan Build(List<string> prefixes) =>
        new(modules.ToEquatableArray(), tensors.ToEquatableArray(), prefixes.ToEquatableArray()) { Classes = classes.ToEquatableArray() };

    private Container Current() => open.Count == 0 ? top : open[open.Count - 1];

    private string Indent(int extra = 0) => new(' ', 4 * ((2 * open.Count) + extra));

    /// <summary>An nn.Sequential being filled: its path in the state_dict, the scope segment that opened it, and its modules so far.</summary>
    private sealed class Container(string path, string segment)
    {
        public string Path { get; } = path;

        public string Segment { get; } = segment;

        public int Count { get; set; }
    }
}
