using System;
using System.IO;

namespace ModelGen.Samples.FashionMnist;

/// <summary>Fashion-MNIST's training and test sets, from a directory of IDX files or from the subset in this assembly.</summary>
public sealed record FashionData(Dataset Train, Dataset Test, string Source)
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the files.</summary>
    public const string InstalledDirectory = "/usr/share/datasets/fashion-mnist";

    private static readonly string[] Files =
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];

    /// <summary>The class names, by label.</summary>
    public static readonly string[] Classes =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// From <paramref name="directory"/> when given (it must hold the four files), else from
    /// <see cref="InstalledDirectory"/> when the package is installed, else the embedded subset.
    /// </summary>
    public static FashionData Load(string? directory)
    {
        if (directory is not null)
        {
            foreach (var file in Files)
            {
                if (!File.Exists(Path.Combine(directory, file)))
                {
                    throw new FileNotFoundException($"--data {directory}: '{file}' is missing there.", Path.Combine(directory, file));
                }
            }

            return FromDirectory(directory);
        }

        if (File.Exists(Path.Combine(InstalledDirectory, Files[0])))
        {
            return FromDirectory(InstalledDirectory);
        }

        return FromEmbeddedSubset();
    }

    /// <summary>The first of the four files that <paramref name="directory"/> lacks, or null when it holds them all.</summary>
    public static string? MissingFile(string directory) => Array.Find(Files, file => !File.Exists(Path.Combine(directory, file)));

    private static FashionData FromDirectory(string directory) => new(
        Read(Path.Combine(directory, Files[0]), Path.Combine(directory, Files[1])),
        Read(Path.Combine(directory, Files[2]), Path.Combine(directory, Files[3])),
        directory);

    private static FashionData FromEmbeddedSubset()
    {
        var directory = Directory.CreateTempSubdirectory("fashion-mnist-subset-").FullName;
        try
        {
            foreach (var file in Files)
            {
                using var resource = typeof(FashionData).Assembly.GetManifestResourceStream(file)
                    ?? throw new InvalidOperationException($"The embedded subset lacks '{file}'.");
                using var copy = File.Create(Path.Combine(directory, file));
                resource.CopyTo(copy);
            }

            return FromDirectory(directory) with { Source = "the subset embedded in the sample (no dataset installed)" };
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Dataset Read(string images, string labels)
    {
        var pixels = Idx.ReadImages(images, out var rows, out var columns);
        var classes = Idx.ReadLabels(labels);
        if (rows * columns != FashionMlp.InputSize || pixels.Length / FashionMlp.InputSize != classes.Length)
        {
            throw new InvalidDataException(
                $"'{Path.GetFileName(images)}' holds {pixels.Length / (rows * columns)} images of {rows}×{columns} and '{Path.GetFileName(labels)}' " +
                $"{classes.Length} labels; expected one 28×28 image per label.");
        }

        return Dataset.FromLabels(pixels, FashionMlp.InputSize, classes);
    }

    /// <summary>
    /// Both sets with every pixel shifted and scaled by the training set's mean and standard deviation (one pair for
    /// all pixels), so the inputs are centred with unit variance.
    /// </summary>
    public FashionData Standardized()
    {
        var pixels = Train.Features;
        double sum = 0, squares = 0;
        foreach (var value in pixels)
        {
            sum += value;
            squares += (double)value * value;
        }

        var mean = sum / pixels.Length;
        var deviation = Math.Sqrt((squares / pixels.Length) - (mean * mean));
        Dataset Apply(Dataset set)
        {
            var features = set.Features.ToArray();
            for (var i = 0; i < features.Length; i++)
            {
                features[i] = (float)((features[i] - mean) / deviation);
            }

            return new Dataset(features, set.FeatureSize, set.Targets.ToArray(), set.TargetSize);
        }

        return new FashionData(Apply(Train), Apply(Test), Source + $" (standardized: mean {mean:F4}, deviation {deviation:F4})");
    }
}
