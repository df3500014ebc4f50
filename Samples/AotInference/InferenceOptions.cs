using System;
using System.IO;

namespace ModelGen.Samples.AotInference;

/// <summary>The sample's settings; the defaults are what a run with no arguments uses.</summary>
/// <param name="FirstOnly">Classify the embedded image only and print <c>first_prediction=&lt;class&gt;</c>.</param>
/// <param name="DataDirectory">Folder of the test set's two IDX files; null: the installed dataset, else <c>Data/</c> beside the binary.</param>
/// <remarks>
/// Parsed by hand, unlike the Fashion sample's options: System.CommandLine gives no trim or AOT warning, but it made the
/// NativeAOT binary 4.15 MB instead of 2.56 MB, past the 3 MB CI allows this sample. The behaviour is the same: help
/// with every option and its default, and an argument that cannot be used as one line and exit code 2.
/// </remarks>
public sealed record InferenceOptions(bool FirstOnly = false, string? DataDirectory = null)
{
    /// <summary>The exit code for a command line that cannot be used, as most command-line tools give.</summary>
    public const int UsageError = 2;

    /// <summary>The test set's files, looked for in the data folder.</summary>
    public static readonly string[] TestFiles = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    /// <summary>The program's name in the help: this file serves Samples/AotInference and Samples/AotInferenceInt8 alike.</summary>
    private static readonly string ProgramName = typeof(InferenceOptions).Assembly.GetName().Name ?? "AotInference";

    private static readonly string Help = $$"""
        Description:
          Classifies Fashion-MNIST images with a model compiled into this executable; prints test_accuracy=<0.xxxx> last.

        Usage:
          {{ProgramName}} [options]

        Options:
          --first         Classify only the embedded test image, not the test set, and print first_prediction=<class>
                          (what time to first prediction measures) [default: false]
          --data <DIR>    Folder with the test set's two IDX files (t10k-*.gz) [default: /usr/share/datasets/fashion-mnist
                          when installed, else Data/ beside the binary]
          -?, -h, --help  Show help and usage information
        """;

    /// <summary>
    /// Reads the command line. Returns the options to run with, or null with <paramref name="exitCode"/> set when the
    /// program should stop: 0 after <c>--help</c> (written to <paramref name="output"/>), <see cref="UsageError"/> after
    /// an argument that cannot be used (one line on <paramref name="error"/> that names the option).
    /// </summary>
    public static InferenceOptions? Parse(string[] args, TextWriter output, TextWriter error, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (Array.Exists(args, arg => arg is "--help" or "-h" or "-?"))
        {
            output.WriteLine(Help);
            exitCode = 0;
            return null;
        }

        var options = new InferenceOptions();
        string? problem = null;
        for (var i = 0; i < args.Length && problem is null; i++)
        {
            switch (args[i])
            {
                case "--first":
                    options = options with { FirstOnly = true };
                    break;
                case "--data" when options.DataDirectory is not null:
                    problem = "--data is given twice.";
                    break;
                case "--data" when i + 1 == args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal):
                    problem = "--data needs a folder.";
                    break;
                case "--data":
                    options = options with { DataDirectory = args[++i] };
                    problem = DataProblem(options.DataDirectory);
                    break;
                default:
                    problem = $"Unrecognized argument '{args[i]}'.";
                    break;
            }
        }

        if (problem is not null)
        {
            error.WriteLine(problem + " (--help lists the options)");
            exitCode = UsageError;
            return null;
        }

        exitCode = 0;
        return options;
    }

    private static string? DataProblem(string directory)
    {
        if (directory.Length == 0)
        {
            return "--data needs a folder.";
        }

        if (!Directory.Exists(directory))
        {
            return $"--data {directory}: no such folder.";
        }

        var missing = Array.Find(TestFiles, file => !File.Exists(Path.Combine(directory, file)));
        return missing is null ? null : $"--data {directory}: '{missing}' is missing there.";
    }
}
