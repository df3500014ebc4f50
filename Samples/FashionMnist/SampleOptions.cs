using System;
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;
using System.Linq;

namespace ModelGen.Samples.FashionMnist;

/// <summary>The sample's settings; every default here is what a run with no arguments uses.</summary>
/// <param name="DataDirectory">Folder of the four IDX files; null: the installed dataset, else the embedded subset.</param>
/// <param name="Model"><c>mlp</c>, <c>cnn</c> or <c>resnet</c>.</param>
/// <param name="Epochs">Passes over the training images; null: 10 for the MLP and the CNN, 11 for the ResNet.</param>
/// <param name="Seed">Seeds the weights, the dropout masks and the shuffles.</param>
/// <param name="PlotPath">Where the PNG of loss and accuracy per epoch goes.</param>
/// <param name="LearningRate">The optimizer's starting learning rate, decayed along a cosine; null: 1e-3 for Adam (MLP, CNN), 0.1 for the ResNet's SGD.</param>
/// <param name="WeightDecay">AdamW with this decay instead of Adam when above 0.</param>
/// <param name="Standardize">Pixels centred and scaled by the training set's statistics, rather than / 255.</param>
/// <param name="Holdout">The last 10 % of the training images stand in for the test set.</param>
/// <param name="SavePath">Where to save the trained weights as safetensors; null: not saved.</param>
/// <param name="CheckpointPath">Where to checkpoint after every epoch and resume from; null: no checkpoint.</param>
/// <param name="ConfusionPath">Where the PNG heatmap of the test set's confusion matrix goes; null: not drawn.</param>
/// <param name="ExplainPath">Where the PNG grid of test images with their saliency and Integrated Gradients maps goes; null: not drawn.</param>
/// <param name="Private">Train with differential privacy (DP-SGD) instead, on the models of FashionPrivate.cs.</param>
/// <param name="Epsilon">The privacy budget ε of a private run, at δ = 10⁻⁵.</param>
public sealed record SampleOptions(
    string? DataDirectory = null,
    string Model = "mlp",
    int? Epochs = null,
    int Seed = 1,
    string PlotPath = "fashion-training.png",
    float? LearningRate = null,
    float WeightDecay = 0f,
    bool Standardize = true,
    bool Holdout = false,
    string? SavePath = null,
    string? CheckpointPath = null,
    string? ConfusionPath = null,
    string? ExplainPath = null,
    bool Private = false,
    double Epsilon = 3)
{
    /// <summary>Where <c>--explain</c> given without a file draws its grid.</summary>
    public const string DefaultExplainPath = "fashion-explanations.png";

    /// <summary>The exit code for a command line that cannot be used, as most command-line tools give.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Reads the command line. Returns the options to run with, or null with <paramref name="exitCode"/> set when the
    /// program should stop: 0 after <c>--help</c> (written to <paramref name="output"/>), <see cref="UsageError"/> after
    /// an argument that cannot be used (one line on <paramref name="error"/> that names the option).
    /// </summary>
    public static SampleOptions? Parse(string[] args, TextWriter output, TextWriter error, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        var defaults = new SampleOptions();
        var data = new Option<string?>("--data")
        {
            HelpName = "DIR",
            Description = $"Folder with the four Fashion-MNIST IDX files (.gz) [default: {FashionData.InstalledDirectory} when installed, else the 3,000 training and 1,000 test images embedded in the sample]",
        };
        data.Validators.Add(result => CheckData(result, data));
        var model = new Option<string>("--model")
        {
            HelpName = "mlp|cnn|resnet",
            Description = "The network: the MLP 784-256-128-10 (FashionMlp.cs), a small CNN (FashionCnn.cs) or a small ResNet (FashionResNet.cs)",
            DefaultValueFactory = _ => defaults.Model,
        };
        model.Validators.Add(result => Check(result, result.GetValueOrDefault<string>() is "mlp" or "cnn" or "resnet", "mlp, cnn or resnet"));
        var epochs = Value("--epochs", "N", "Passes over the training images [default: 10 (mlp, cnn), 11 (resnet)]", 0, value => value >= 1, "a whole number from 1 up");
        epochs.DefaultValueFactory = null; // the default depends on the model, and the description says it
        var seed = Value("--seed", "N", "Seeds the weights, the dropout masks and the shuffles", defaults.Seed, _ => true, "a whole number");
        var plot = OutputFile("--plot", "Where to write the PNG of loss and accuracy per epoch", defaults.PlotPath);
        var learningRate = Value("--learning-rate", "X", "The optimizer's starting learning rate, decayed along a cosine [default: 1e-3 for Adam (mlp, cnn), 0.1 for SGD (resnet)]",
            0f, value => value > 0f && float.IsFinite(value), "a number above 0");
        learningRate.DefaultValueFactory = null; // the default depends on the model, and the description says it
        var weightDecay = Value("--weight-decay", "X", "AdamW with this weight decay instead of Adam (0: Adam)",
            defaults.WeightDecay, value => value >= 0f && float.IsFinite(value), "a number from 0 up");
        var standardize = Flag("--standardize", "Centre and scale the pixels by the training set's mean and deviation (false: pixels / 255)", defaults.Standardize);
        var holdout = Flag("--holdout", "Let the last 10 % of the training images stand in for the test set (for choosing settings)", defaults.Holdout);
        var save = OutputFile("--save", "Save the trained weights there as safetensors (Samples/AotInference bakes such a file in) [default: not saved]", null);
        var checkpoint = OutputFile("--checkpoint", "Save progress there after every epoch and, when the file exists, resume from it [default: none]", null);
        var confusion = OutputFile("--confusion", "Draw the test set's confusion matrix there as a PNG heatmap (actual × predicted class) [default: not drawn]", null);
        var explain = OutputFile(
            "--explain", $"Draw a few test images with their saliency and Integrated Gradients maps there as a PNG grid ({DefaultExplainPath} when no file is given) [default: not drawn]", null);
        explain.Arity = ArgumentArity.ZeroOrOne;
        var dp = new Option<bool>("--dp")
        {
            Description = "Train with differential privacy (DP-SGD: Poisson sampling, per-image clipping, Gaussian noise) the tanh MLP or CNN of FashionPrivate.cs, 40 epochs by default; the last line also gives ε [default: off]",
        };
        var epsilon = Value("--epsilon", "X", "The privacy budget ε of --dp, at δ = 1e-5", defaults.Epsilon, value => value > 0 && double.IsFinite(value), "a number above 0");

        var root = new RootCommand("Trains a classifier on Fashion-MNIST and prints test_accuracy=<0.xxxx> last.")
        {
            data, model, epochs, seed, plot, learningRate, weightDecay, standardize, holdout, save, checkpoint, confusion, explain, dp, epsilon,
        };
        var result = root.Parse(args);
        if (result.Action is HelpAction)
        {
            exitCode = result.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return null;
        }

        if (result.Errors.Count > 0)
        {
            exitCode = UsageError;
            error.WriteLine(OneLine(result.Errors[0].Message) + " (--help lists the options)");
            return null;
        }

        if (result.Action is not null)
        {
            // --version, the only other action the root command has.
            exitCode = result.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return null;
        }

        exitCode = 0;
        return new SampleOptions(
            result.GetValue(data),
            result.GetRequiredValue(model),
            result.GetResult(epochs) is null ? null : result.GetValue(epochs),
            result.GetValue(seed),
            result.GetValue(plot) ?? defaults.PlotPath,
            result.GetResult(learningRate) is null ? null : result.GetValue(learningRate),
            result.GetValue(weightDecay),
            bool.Parse(result.GetRequiredValue(standardize)),
            bool.Parse(result.GetRequiredValue(holdout)),
            result.GetValue(save),
            result.GetValue(checkpoint),
            result.GetValue(confusion),
            result.GetResult(explain) is null ? null : result.GetValue(explain) ?? DefaultExplainPath,
            result.GetValue(dp),
            result.GetValue(epsilon));
    }

    /// <summary>
    /// An option with one value, read with the invariant culture; a value it cannot read or that fails
    /// <paramref name="valid"/> is one error that names the option and what it takes.
    /// </summary>
    private static Option<T> Value<T>(string name, string helpName, string description, T defaultValue, Func<T, bool> valid, string expected)
        where T : IParsable<T>
    {
        var option = new Option<T>(name)
        {
            HelpName = helpName,
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = result =>
            {
                var token = string.Join(' ', result.Tokens.Select(t => t.Value));
                if (T.TryParse(token, CultureInfo.InvariantCulture, out var value) && valid(value))
                {
                    return value;
                }

                result.AddError($"{name} takes {expected}, not '{token}'.");
                return defaultValue;
            },
        };
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>
    /// A true/false option that takes its value as a word (<c>--holdout true</c>), as it always has. Held as text:
    /// System.CommandLine leaves a word that is not a boolean unread rather than naming the option it follows.
    /// </summary>
    private static Option<string> Flag(string name, string description, bool defaultValue)
    {
        var option = new Option<string>(name)
        {
            HelpName = "true|false",
            Description = description,
            Arity = ArgumentArity.ExactlyOne,
            DefaultValueFactory = _ => defaultValue ? "true" : "false",
        };
        option.Validators.Add(result => Check(result, bool.TryParse(result.GetValueOrDefault<string>(), out _), "true or false"));
        return option;
    }

    /// <summary>A file to write; its folder must exist, so that a long run does not fail only at its end.</summary>
    private static Option<string?> OutputFile(string name, string description, string? defaultValue)
    {
        var option = new Option<string?>(name) { HelpName = "FILE", Description = description };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }

        option.Validators.Add(result =>
        {
            var path = result.GetValueOrDefault<string?>();
            var folder = string.IsNullOrEmpty(path) ? null : Path.GetDirectoryName(Path.GetFullPath(path));
            var optionalFile = result.Option.Arity.MinimumNumberOfValues == 0 && result.Tokens.Count == 0;
            if (!result.Implicit && !optionalFile && (string.IsNullOrEmpty(path) || (folder is not null && !Directory.Exists(folder))))
            {
                result.AddError(string.IsNullOrEmpty(path)
                    ? $"{name} needs a file name."
                    : $"{name} {path}: the folder '{Path.GetDirectoryName(path)}' does not exist.");
            }
        });
        return option;
    }

    private static void CheckData(OptionResult result, Option<string?> option)
    {
        var directory = result.GetValueOrDefault<string?>();
        if (string.IsNullOrEmpty(directory))
        {
            result.AddError($"{option.Name} needs a folder.");
        }
        else if (!Directory.Exists(directory))
        {
            result.AddError($"{option.Name} {directory}: no such folder.");
        }
        else if (FashionData.MissingFile(directory) is { } missing)
        {
            result.AddError($"{option.Name} {directory}: '{missing}' is missing there.");
        }
    }

    private static void Check(OptionResult result, bool valid, string expected)
    {
        if (!valid)
        {
            result.AddError($"{result.Option.Name} takes {expected}, not '{string.Join(' ', result.Tokens.Select(t => t.Value))}'.");
        }
    }

    /// <summary>A message on one line: any line breaks and tabs in it become single spaces.</summary>
    private static string OneLine(string message) => string.Join(' ', message.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
