using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Samples.TinyGpt;

/// <summary>Draws the training loss, averaged over every 20 steps, and the final validation loss as a line.</summary>
internal static class LossPlot
{
    private const int Every = 20;

    public static void Save(List<double> losses, double validation, string path)
    {
        var groups = Enumerable.Range(0, (losses.Count + Every - 1) / Every).ToArray();
        var plot = new ScottPlot.Plot();
        var training = plot.Add.Scatter(
            groups.Select(g => (double)Enumerable.Range(g * Every, System.Math.Min(Every, losses.Count - (g * Every))).Last() + 1).ToArray(),
            groups.Select(g => losses.Skip(g * Every).Take(Every).Average()).ToArray());
        training.LegendText = $"training loss (mean of {Every} steps)";
        var line = plot.Add.HorizontalLine(validation);
        line.LegendText = $"validation loss {validation:F4}";
        plot.Title("TinyGpt on the fortune corpus");
        plot.XLabel("step");
        plot.YLabel("cross-entropy per character (nats)");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
