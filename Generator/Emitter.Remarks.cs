using System;
using System.Globalization;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>The part of stage 4 that writes the remarks: the table of layers, the equivalent PyTorch module and the loss.</summary>
internal static partial class Emitter
{
    private static void WriteRemarks(SourceWriter writer, ModelPlan plan)
    {
        var rows = new[] { new[] { "layer", "kind", "activation", "input", "output", "parameters", "computed as" } }
            .Concat(plan.Layers.Select(l => l switch
            {
                DensePlan d => new[]
                {
                    d.Name, "Dense", d.Activation.ToString(), Count(d.InputSize), Count(d.Units), Count(d.ParameterCount),
                    d.Strategy switch { DenseStrategy.Unrolled => "unrolled", DenseStrategy.VectorLoops => "vector loops", _ => "GEMM" },
                },
                BatchNormPlan b => new[]
                {
                    b.Name, "BatchNorm", string.Empty, Count(b.InputSize), Count(b.Units), Count(2 * b.Features),
                    $"{(b.Features == b.Size ? string.Empty : $"per channel ({b.Features}), ")}momentum {b.Momentum.ToString("R", CultureInfo.InvariantCulture)}, ε = {b.Epsilon.ToString("R", CultureInfo.InvariantCulture)}",
                },
                LayerNormPlan n => new[]
                {
                    n.Name, "LayerNorm", string.Empty, Count(n.InputSize), Count(n.Units), Count(2 * n.Size), $"ε = {n.Epsilon.ToString("R", CultureInfo.InvariantCulture)}",
                },
                ConvPlan c => new[]
                {
                    c.Name, "Conv2D", c.Activation.ToString(), Dimensions(c.Window, input: true), Dimensions(c.Window, input: false, c.Filters),
                    Count((c.WeightRows * c.Filters) + (c.HasBias ? c.Filters : 0)),
                    $"{c.Window.Kernel}×{c.Window.Kernel}, stride {c.Window.Stride}{(c.Window.PadTop + c.Window.PadLeft > 0 ? ", padded" : string.Empty)}; im2col + GEMM",
                },
                GlobalPoolPlan g => new[]
                {
                    g.Name, "GlobalAvgPool2D", string.Empty, $"{g.Channels}×{g.Height}×{g.Width}", Count(g.Channels), "0", $"each channel's mean over its {Count(g.Positions)} positions",
                },
                PoolPlan m => new[]
                {
                    m.Name, m.Kind, string.Empty, Dimensions(m.Window, input: true), Dimensions(m.Window, input: false, m.Window.Channels), "0",
                    $"{m.Window.Kernel}×{m.Window.Kernel}, stride {m.Window.Stride}",
                },
                FlattenPlan f => new[]
                {
                    f.Name, "Flatten", string.Empty, Count(f.InputSize), Count(f.Units), "0", "a view: nothing computed",
                },
                DropoutPlan p => new[]
                {
                    p.Name, "Dropout", string.Empty, Count(p.InputSize), Count(p.Units), "0", $"rate {Float(p.Rate).TrimEnd('f')}, training only",
                },
                ILayerWriter unit => unit.RemarksRow(),
                AddPlan r => new[]
                {
                    r.Name, "Residual", r.Activation == Activation.Linear ? string.Empty : r.Activation.ToString(), Count(r.InputSize), Count(r.Units), "0",
                    $"{r.Block}(x) + {(r.Shortcut is null ? "x" : r.Shortcut + "(x)")}, of {Producer(plan, r, 0)} and {Producer(plan, r, 1)}",
                },
                _ => throw new InvalidOperationException("Unknown layer plan " + l.GetType().Name),
            }))
            .Concat(new[] { new[] { "total", string.Empty, string.Empty, string.Empty, string.Empty, Count(plan.ParameterCount), string.Empty } })
            .ToList();
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();

        writer.WriteLine("/// <remarks>");
        writer.WriteLine("/// <para>The network compiled by ModelGen from the attributes on this class:</para>");
        writer.WriteLine("/// <code>");
        foreach (var row in rows)
        {
            var cells = row.Select((cell, c) => c is >= 3 and <= 5 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]));
            writer.WriteLine(("/// " + string.Join("  ", cells)).TrimEnd());
        }

        writer.WriteLine("/// </code>");
        writer.WriteLine("/// <para>Its weight files are the state_dict of this PyTorch module (load_state_dict(…, strict=True) works both ways):</para>");
        writer.WriteLine("/// <code>");
        if (plan.Layers.Any(l => l is AddPlan))
        {
            writer.WriteLine("/// class Residual(nn.Module):  # activation(branch(x) + shortcut(x))");
            writer.WriteLine("///     def __init__(self, branch, shortcut=None, activation=None):");
            writer.WriteLine("///         super().__init__()");
            writer.WriteLine("///         self.branch = branch");
            writer.WriteLine("///         self.shortcut = shortcut if shortcut is not None else nn.Identity()");
            writer.WriteLine("///         self.activation = activation if activation is not None else nn.Identity()");
            writer.WriteLine("///");
            writer.WriteLine("///     def forward(self, x):");
            writer.WriteLine("///         return self.activation(self.branch(x) + self.shortcut(x))");
            writer.WriteLine("///");
        }

        writer.WriteLine("/// layers = nn.Sequential(");
        var modules = plan.Torch.Modules;
        var moduleWidth = modules.Max(m => m.Code.Length);
        foreach (var module in modules)
        {
            writer.WriteLine(module.Path.Length == 0
                ? $"///     {module.Code}"
                : $"///     {module.Code.PadRight(moduleWidth)}  # {module.Path}");
        }

        writer.WriteLine("/// )");
        writer.WriteLine("/// </code>");
        writer.WriteLine($"/// <para>Loss: {LossDescription(plan)}.</para>");
        writer.WriteLine("/// <para>An instance is not thread-safe: its forward pass reuses one workspace.</para>");
        writer.WriteLine("/// </remarks>");
    }

    /// <summary>A window's input or output as channels×height×width, for the remarks table.</summary>
    private static string Dimensions(WindowPlan window, bool input, int channels = 0) =>
        input ? $"{window.Channels}×{window.Height}×{window.Width}" : $"{channels}×{window.OutputHeight}×{window.OutputWidth}";

    private static string LossDescription(ModelPlan plan) => plan.Loss switch
    {
        Loss.MeanSquaredError => $"mean squared error, L = Σ (y − t)² / (batch·{plan.OutputSize})",
        Loss.MeanAbsoluteError => $"mean absolute error, L = Σ |y − t| / (batch·{plan.OutputSize})",
        Loss.Huber => $"Huber loss with δ = {plan.HuberDelta.ToString("R", CultureInfo.InvariantCulture)}, L = Σ h(y − t) / (batch·{plan.OutputSize})",
        Loss.SoftmaxCrossEntropy => "softmax cross-entropy, L = Σₙ (log Σⱼ exp zₙⱼ − Σⱼ tₙⱼ·zₙⱼ) / batch",
        Loss.BinaryCrossEntropy => $"sigmoid binary cross-entropy, L = Σ (max(z, 0) − z·t + log(1 + e^−|z|)) / (batch·{plan.OutputSize})",
        _ => plan.Loss.ToString(),
    };
}
