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
            .Concat(plan.Layers.Select(l => l.RemarksRow(plan)))
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
        foreach (var line in plan.Torch.Classes)
        {
            writer.WriteLine(("/// " + line).TrimEnd());
        }

        writer.WriteLine("/// layers = nn.Sequential(");
        var modules = plan.Torch.Modules;
        var moduleWidth = modules.Select(m => m.Code.Length).DefaultIfEmpty(0).Max();
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

    private static string LossDescription(ModelPlan plan) => plan.Loss switch
    {
        Loss.MeanSquaredError => $"mean squared error, L = Σ (y − t)² / (batch·{plan.OutputSize})",
        Loss.MeanAbsoluteError => $"mean absolute error, L = Σ |y − t| / (batch·{plan.OutputSize})",
        Loss.Huber => $"Huber loss with δ = {plan.HuberDelta.ToString("R", CultureInfo.InvariantCulture)}, L = Σ h(y − t) / (batch·{plan.OutputSize})",
        Loss.SoftmaxCrossEntropy when plan.SequenceLoss =>
            $"softmax cross-entropy at each of {plan.OutputPositions} positions over {plan.OutputClasses} classes, L = Σ (log Σⱼ exp zⱼ − z_t) / (positions counted), a target of −1 not counted",
        Loss.SoftmaxCrossEntropy => "softmax cross-entropy, L = Σₙ (log Σⱼ exp zₙⱼ − Σⱼ tₙⱼ·zₙⱼ) / batch",
        Loss.BinaryCrossEntropy => $"sigmoid binary cross-entropy, L = Σ (max(z, 0) − z·t + log(1 + e^−|z|)) / (batch·{plan.OutputSize})",
        _ => plan.Loss.ToString(),
    };
}
