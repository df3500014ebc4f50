using System.Linq;

namespace ModelGen.Samples.FashionMnist;

/// <summary>Draws the training history: losses on the left axis, validation accuracy on the right, one point per epoch.</summary>
internal static class TrainingPlot
{
    public static void Save(TrainingHistory history, string model, string path)
    {
        var epochs = history.Epochs.Select(e => (double)e.Epoch).ToArray();
        var plot = new ScottPlot.Plot();
        var training = plot.Add.Scatter(epochs, history.Epochs.Select(e => (double)e.Loss).ToArray());
        training.LegendText = "training loss";
        if (history.Epochs.All(e => e.ValidationLoss is not null))
        {
            var validation = plot.Add.Scatter(epochs, history.Epochs.Select(e => (double)e.ValidationLoss!.Value).ToArray());
            validation.LegendText = "test loss";
        }

        if (history.Epochs.All(e => e.ValidationAccuracy is not null))
        {
            var accuracy = plot.Add.Scatter(epochs, history.Epochs.Select(e => (double)e.ValidationAccuracy!.Value).ToArray());
            accuracy.LegendText = "test accuracy";
            accuracy.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "accuracy";
        }

        plot.Title($"{model} on Fashion-MNIST");
        plot.XLabel("epoch");
        plot.YLabel("loss");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
