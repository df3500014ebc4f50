using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelGen.Samples.FashionMnist;

/// <summary>
/// Draws a confusion matrix as a heatmap: a row per actual class, a column per predicted class, each cell coloured by
/// the share of its row (so the diagonal is each class's recall, whatever the class sizes) and labelled with its count.
/// </summary>
internal static class ConfusionPlot
{
    public static void Save(ConfusionMatrix confusion, IReadOnlyList<string> classNames, string title, string path)
    {
        var classes = confusion.Classes;
        var shares = confusion.RowNormalized();
        var plot = new ScottPlot.Plot();
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // Cell (actual r, predicted c) centred on x = c, y = classes − 1 − r: row 0 on top, as the matrix is printed.
        heatmap.Rectangle = new ScottPlot.CoordinateRect(-0.5, classes - 0.5, -0.5, classes - 0.5);
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = "share of the actual class";

        for (var actual = 0; actual < classes; actual++)
        {
            for (var predicted = 0; predicted < classes; predicted++)
            {
                var label = plot.Add.Text(confusion[actual, predicted].ToString(CultureInfo.InvariantCulture), predicted, classes - 1 - actual);
                label.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                label.LabelFontSize = 11;
                // Viridis is dark below about half and light above it.
                label.LabelFontColor = shares[actual, predicted] > 0.55 ? ScottPlot.Colors.Black : ScottPlot.Colors.White;
            }
        }

        var positions = Enumerable.Range(0, classes).Select(c => (double)c).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, classNames.ToArray());
        // Names slanted up to the right, each ending under its column; the axis is made tall enough to hold them.
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 100;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            positions.Select(p => classes - 1 - p).ToArray(), classNames.ToArray());
        plot.Axes.SetLimits(-0.5, classes - 0.5, -0.5, classes - 0.5);
        plot.HideGrid();
        plot.Title(title);
        plot.XLabel("predicted");
        plot.YLabel("actual");
        plot.SavePng(path, 760, 680);
    }
}
