using System;
using System.IO;

namespace ModelGen.Samples.FashionMnist;

/// <summary>
/// Fashion-MNIST's training and test sets, from a directory of IDX files or from the subset in this assembly. Each set's
/// pixels are held once, as floats (188 MB and 31 MB for the full dataset), also when standardized.
/// </summary>
public sealed record FashionData(Dataset Train, Dataset Test, string Source)
{
    /// <summary>
    /// The arrays behind <see cref="Train"/>'s and <see cref="Test"/>'s features when <see cref="Load"/> made them and
    /// nothing else holds them: <see cref="Standardized"/> then rewrites them in place instead of copying them.
    /// </summary>
    private Pixels? _own;

    /// <summary>The copy a <c>with</c> expression makes: it shares the sets, so it does not own their arrays.</summary>
    private FashionData(FashionData original)
    {
        Train = original.Train;
        Test = original.Test;
        Source = original.Source;
    }

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

    private static FashionData FromDirectory(string directory, string? source = null)
    {
        var (train, trainPixels) = Read(Path.Combine(directory, Files[0]), Path.Combine(directory, Files[1]));
        var (test, testPixels) = Read(Path.Combine(directory, Files[2]), Path.Combine(directory, Files[3]));
        return new FashionData(train, test, source ?? directory) { _own = new Pixels(trainPixels, testPixels) };
    }

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

            return FromDirectory(directory, "the subset embedded in the sample (no dataset installed)");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>One set, and the array its features are (for <see cref="Standardized"/> to rewrite).</summary>
    private static (Dataset Set, float[] Pixels) Read(string images, string labels)
    {
        var pixels = Idx.ReadImages(images, out var rows, out var columns);
        var classes = Idx.ReadLabels(labels);
        if (rows * columns != FashionMlp.InputSize || pixels.Length / FashionMlp.InputSize != classes.Length)
        {
            throw new InvalidDataException(
                $"'{Path.GetFileName(images)}' holds {pixels.Length / (rows * columns)} images of {rows}×{columns} and '{Path.GetFileName(labels)}' " +
                $"{classes.Length} labels; expected one 28×28 image per label.");
        }

        return (Dataset.FromLabels(pixels, FashionMlp.InputSize, classes), pixels);
    }

    /// <summary>
    /// Both sets with every pixel shifted and scaled by the training set's mean and standard deviation (one pair for
    /// all pixels), so the inputs are centred with unit variance.
    /// </summary>
    /// <remarks>
    /// When <see cref="Load"/> read this instance's sets, their pixels are standardized in place, so they still exist
    /// once: the sets returned are this instance's, and this instance is spent (its sets hold the standardized pixels,
    /// and standardizing it again copies them). Sets given to the constructor, which may be shared, are copied.
    /// </remarks>
    public FashionData Standardized()
    {
        var own = _own;
        _own = null;
        var train = own?.Train ?? Train.Features.ToArray();
        var test = own?.Test ?? Test.Features.ToArray();

        // In the order and the arithmetic the results were first measured with (test_accuracy=0.8913): a double sum of
        // the floats, one after another.
        double sum = 0, squares = 0;
        foreach (var value in train)
        {
            sum += value;
            squares += (double)value * value;
        }

        var mean = sum / train.Length;
        var deviation = Math.Sqrt((squares / train.Length) - (mean * mean));
        Dataset Apply(float[] features, Dataset set)
        {
            for (var i = 0; i < features.Length; i++)
            {
                features[i] = (float)((features[i] - mean) / deviation);
            }

            return own is null ? new Dataset(features, set.FeatureSize, set.Targets.ToArray(), set.TargetSize) : set;
        }

        return new FashionData(Apply(train, Train), Apply(test, Test), Source + $" (standardized: mean {mean:F4}, deviation {deviation:F4})");
    }

    /// <summary>The feature arrays of the two sets.</summary>
    private sealed record Pixels(float[] Train, float[] Test);
}
