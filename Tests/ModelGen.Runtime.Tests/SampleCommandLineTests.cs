using System;
using System.IO;
using System.Linq;
using ModelGen.Samples.AotInference;
using ModelGen.Samples.FashionMnist;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The samples' command lines: the options CI passes, <c>--help</c> with every option and its default, and a bad value
/// as one line naming the option with exit code 2, never an exception.
/// </summary>
public sealed class SampleCommandLineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Fashion_defaults_are_the_ones_the_sample_always_had()
    {
        var (options, exitCode, output, error) = Fashion();

        Assert.Equal(0, exitCode);
        Assert.Equal("", output + error);
        Assert.Equal(new SampleOptions(
            DataDirectory: null, Model: "mlp", Epochs: null, Seed: 1, PlotPath: "fashion-training.png", LearningRate: null,
            WeightDecay: 0f, Standardize: true, Holdout: false, SavePath: null, CheckpointPath: null, ConfusionPath: null), options);
    }

    [Fact]
    public void Fashion_reads_every_option_as_before()
    {
        Assert.Equal(new SampleOptions(PlotPath: "run.png"), Fashion("--plot", "run.png").Options);
        Assert.Equal(new SampleOptions(Model: "cnn", PlotPath: "cnn.png"), Fashion("--model", "cnn", "--plot", "cnn.png").Options);
        Assert.Equal(new SampleOptions(Model: "resnet", LearningRate: 0.05f), Fashion("--model", "resnet", "--learning-rate", "0.05").Options);
        Assert.Equal(new SampleOptions(ExplainPath: SampleOptions.DefaultExplainPath), Fashion("--explain").Options);
        Assert.Equal(new SampleOptions(Model: "cnn", ExplainPath: SampleOptions.DefaultExplainPath), Fashion("--explain", "--model", "cnn").Options);
        Assert.Equal(new SampleOptions(ExplainPath: "why.png"), Fashion("--explain", "why.png").Options);

        var save = Path.Combine(_directory, "weights.safetensors");
        var checkpoint = Path.Combine(_directory, "run.ckpt");
        var confusion = Path.Combine(_directory, "confusion.png");
        var data = MakeDataFolder("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
        var (options, exitCode, _, error) = Fashion(
            "--data", data,
            "--model", "mlp", "--epochs", "3", "--seed", "-7", "--learning-rate", "2e-3", "--weight-decay", "0.004",
            "--standardize", "false", "--holdout", "true", "--save", save, "--checkpoint", checkpoint,
            "--confusion", confusion);

        Assert.Equal("", error);
        Assert.Equal(0, exitCode);
        Assert.Equal(new SampleOptions(data, "mlp", 3, -7, "fashion-training.png", 2e-3f, 0.004f, Standardize: false, Holdout: true, save, checkpoint, confusion), options);
    }

    [Fact]
    public void Fashion_help_lists_every_option_with_its_default_and_exits_0()
    {
        var (options, exitCode, output, error) = Fashion("--help");

        Assert.Null(options);
        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        string[] expected =
        [
            "--data", "--model", "--epochs", "--seed", "--plot", "--learning-rate", "--weight-decay", "--standardize",
            "--holdout", "--save", "--checkpoint", "--confusion", "--explain",
        ];
        var entries = HelpEntries(output);
        foreach (var option in expected)
        {
            Assert.True(entries.ContainsKey(option), $"{option} is missing from the help:\n{output}");
            Assert.Contains("[default: ", entries[option]);
        }

        Assert.EndsWith("[default: 10 (mlp, cnn), 11 (resnet)]", entries["--epochs"]);
        Assert.EndsWith("[default: 1]", entries["--seed"]);
        Assert.EndsWith("[default: mlp]", entries["--model"]);
        Assert.EndsWith("[default: 1e-3 for Adam (mlp, cnn), 0.1 for SGD (resnet)]", entries["--learning-rate"]);
        Assert.EndsWith("[default: 0]", entries["--weight-decay"]);
        Assert.EndsWith("[default: true]", entries["--standardize"]);
        Assert.EndsWith("[default: false]", entries["--holdout"]);
        Assert.EndsWith("[default: fashion-training.png]", entries["--plot"]);
        Assert.EndsWith("[default: not drawn]", entries["--confusion"]);
        Assert.EndsWith("[default: not drawn]", entries["--explain"]);
    }

    [Theory]
    [InlineData("--epochs", "--epochs", "abc")]
    [InlineData("--epochs", "--epochs", "0")]
    [InlineData("--epochs", "--epochs", "2.5")]
    [InlineData("--epochs", "--epochs")]
    [InlineData("--seed", "--seed", "one")]
    [InlineData("--learning-rate", "--learning-rate", "fast")]
    [InlineData("--learning-rate", "--learning-rate", "-1")]
    [InlineData("--weight-decay", "--weight-decay", "NaN")]
    [InlineData("--model", "--model", "rnn")]
    [InlineData("--holdout", "--holdout", "maybe")]
    [InlineData("--standardize", "--standardize", "no")]
    [InlineData("--data", "--data", "/no/such/folder")]
    [InlineData("--plot", "--plot", "/no/such/folder/plot.png")]
    [InlineData("--save", "--save", "/no/such/folder/model.safetensors")]
    [InlineData("--checkpoint", "--checkpoint", "/no/such/folder/run.ckpt")]
    [InlineData("--confusion", "--confusion", "/no/such/folder/confusion.png")]
    [InlineData("--confusion", "--confusion")]
    [InlineData("--explain", "--explain", "/no/such/folder/explained.png")]
    [InlineData("--frobnicate", "--frobnicate", "3")]
    public void Fashion_refuses_a_bad_value_in_one_line_naming_the_option_with_exit_code_2(string named, params string[] args)
    {
        var (options, exitCode, output, error) = Fashion(args);

        Assert.Null(options);
        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains(named, error);
        Assert.DoesNotContain("Exception", error);
    }

    [Fact]
    public void Fashion_data_folder_must_hold_the_four_files()
    {
        var folder = MakeDataFolder("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz");

        var (_, exitCode, _, error) = Fashion("--data", folder);

        Assert.Equal(2, exitCode);
        Assert.Equal($"--data {folder}: 't10k-labels-idx1-ubyte.gz' is missing there. (--help lists the options)", error.TrimEnd('\n'));
    }

    [Fact]
    public void Aot_inference_reads_first_and_data_and_refuses_anything_else()
    {
        Assert.Equal(new InferenceOptions(), Inference().Options);
        Assert.Equal(new InferenceOptions(FirstOnly: true), Inference("--first").Options);
        var folder = MakeDataFolder("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
        Assert.Equal(new InferenceOptions(DataDirectory: folder), Inference("--data", folder).Options);
        Assert.Equal(new InferenceOptions(true, folder), Inference("--data", folder, "--first").Options);

        foreach (var args in new[] { ["--data", "/no/such/folder"], ["--data"], ["--data", "--first"], ["--data", folder, "--data", folder], new[] { "--fisrt" } })
        {
            var (options, exitCode, output, error) = Inference(args);
            Assert.Null(options);
            Assert.Equal(2, exitCode);
            Assert.Equal("", output);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.Contains(args[0], error);
        }

        Assert.Equal("--data /no/such/folder: no such folder. (--help lists the options)\n", Inference("--data", "/no/such/folder").Error);
    }

    [Fact]
    public void Aot_inference_help_lists_both_options_with_their_defaults_and_exits_0()
    {
        var (options, exitCode, output, error) = Inference("-h");

        Assert.Null(options);
        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        var entries = HelpEntries(output);
        Assert.EndsWith("[default: false]", entries["--first"]);
        Assert.Contains("[default: ", entries["--data"]);
    }

    private static (SampleOptions? Options, int ExitCode, string Output, string Error) Fashion(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var options = SampleOptions.Parse(args, output, error, out var exitCode);
        return (options, exitCode, output.ToString().Replace("\r\n", "\n"), error.ToString().Replace("\r\n", "\n"));
    }

    private static (InferenceOptions? Options, int ExitCode, string Output, string Error) Inference(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var options = InferenceOptions.Parse(args, output, error, out var exitCode);
        return (options, exitCode, output.ToString().Replace("\r\n", "\n"), error.ToString().Replace("\r\n", "\n"));
    }

    /// <summary>
    /// The help's options section as option name → its whole entry on one line (help wraps long descriptions to the
    /// terminal's width, on lines indented further).
    /// </summary>
    private static System.Collections.Generic.Dictionary<string, string> HelpEntries(string help)
    {
        var entries = new System.Collections.Generic.Dictionary<string, string>();
        string? current = null;
        foreach (var line in help.Split('\n').SkipWhile(l => l != "Options:").Skip(1))
        {
            if (line.StartsWith("  -", StringComparison.Ordinal))
            {
                current = line.Trim().Split(' ')[0].TrimEnd(',');
                entries[current] = line.Trim();
            }
            else if (current is not null && line.StartsWith("   ", StringComparison.Ordinal))
            {
                entries[current] += " " + line.Trim();
            }
        }

        // Squeeze the padding between the two columns.
        foreach (var (name, text) in entries.ToArray())
        {
            entries[name] = string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        return entries;
    }

    /// <summary>A folder holding empty files of these names: the parsers check that the files are there, not what they hold.</summary>
    private string MakeDataFolder(params string[] files)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_directory, $"data-{Guid.NewGuid():N}")).FullName;
        foreach (var file in files)
        {
            File.WriteAllBytes(Path.Combine(folder, file), []);
        }

        return folder;
    }
}
