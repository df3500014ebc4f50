using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelGen;

/// <summary>
/// A text for a character-level language model, tokenized by a <see cref="CharTokenizer"/> built from the whole text
/// and split by characters: the first part for training, the last <c>validationFraction</c> (rounded down) for
/// validation. Training draws windows of T + 1 consecutive tokens at seeded random starts (inputs are a window's first
/// T tokens, targets its last T); validation reads consecutive, non-overlapping windows. Filling a batch allocates
/// nothing: the windows are copied into the caller's spans.
/// </summary>
public sealed class TextCorpus
{
    /// <summary>The share of the text, from its end, kept for validation unless another is given.</summary>
    public const double DefaultValidationFraction = 0.1;

    private readonly int[] _tokens;
    private readonly int _trainingLength;

    /// <summary>Tokenizes <paramref name="text"/> and splits it: the first ⌊(1 − fraction)·N⌋ tokens train, the rest validate.</summary>
    /// <exception cref="ArgumentException">The text is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The fraction lies outside [0, 1).</exception>
    public TextCorpus(string text, double validationFraction = DefaultValidationFraction)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!(validationFraction >= 0 && validationFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must lie in [0, 1).");
        }

        Tokenizer = new CharTokenizer(text);
        _tokens = Tokenizer.Encode(text);
        _trainingLength = (int)Math.Floor(_tokens.Length * (1 - validationFraction));
    }

    /// <summary>The tokenizer of the whole text's characters.</summary>
    public CharTokenizer Tokenizer { get; }

    /// <summary>The training tokens: the text's first part.</summary>
    public ReadOnlySpan<int> Training => _tokens.AsSpan(0, _trainingLength);

    /// <summary>The validation tokens: the text's last part.</summary>
    public ReadOnlySpan<int> Validation => _tokens.AsSpan(_trainingLength);

    /// <summary>
    /// Reads the files in the order given, as UTF-8, concatenated, into a corpus. For the sample text:
    /// <c>TextCorpus.FromFiles(TextCorpus.FortuneFiles("/usr/share/games/fortunes"))</c>.
    /// </summary>
    public static TextCorpus FromFiles(IEnumerable<string> paths, double validationFraction = DefaultValidationFraction)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var text = new StringBuilder();
        foreach (var path in paths)
        {
            text.Append(File.ReadAllText(path, Encoding.UTF8));
        }

        return new TextCorpus(text.ToString(), validationFraction);
    }

    /// <summary>
    /// The text files of a fortune database directory (Debian's <c>fortunes</c> package installs them in
    /// /usr/share/games/fortunes): every file without the <c>.dat</c> or <c>.u8</c> extension of the indexes beside
    /// them, sorted by ordinal name.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static string[] FortuneFiles(string directory) =>
        Directory.GetFiles(directory)
            .Where(path => !path.EndsWith(".dat", StringComparison.Ordinal) && !path.EndsWith(".u8", StringComparison.Ordinal))
            .OrderBy(Path.GetFileName, StringComparer.Ordinal)
            .ToArray();

    /// <summary>
    /// Fills <paramref name="windows"/> with whole windows of <paramref name="windowLength"/> (T + 1) training tokens,
    /// one after the other, each starting at a position drawn uniformly from those where a window fits. The same
    /// generator state gives the same windows.
    /// </summary>
    /// <exception cref="ArgumentException">The span is not a whole number of windows, or a window is longer than the training text.</exception>
    public void SampleTrainingWindows(ref SeededRandom random, Span<int> windows, int windowLength)
    {
        CheckWindows(windows, windowLength, _trainingLength, "training");
        var starts = _trainingLength - windowLength + 1;
        for (var offset = 0; offset < windows.Length; offset += windowLength)
        {
            _tokens.AsSpan(random.NextInt32(starts), windowLength).CopyTo(windows.Slice(offset, windowLength));
        }
    }

    /// <summary>How many non-overlapping windows of <paramref name="windowLength"/> tokens the validation text holds (its tail shorter than a window is left out).</summary>
    public int ValidationWindowCount(int windowLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowLength);
        return Validation.Length / windowLength;
    }

    /// <summary>
    /// Fills <paramref name="windows"/> with validation windows <paramref name="first"/>, <paramref name="first"/> + 1, …:
    /// window w is the validation tokens [w·windowLength, (w + 1)·windowLength).
    /// </summary>
    /// <exception cref="ArgumentException">The span is not a whole number of windows, or they run past <see cref="ValidationWindowCount"/>.</exception>
    public void ValidationWindows(int first, Span<int> windows, int windowLength)
    {
        CheckWindows(windows, windowLength, Validation.Length, "validation");
        var count = windows.Length / windowLength;
        if (first < 0 || first + count > ValidationWindowCount(windowLength))
        {
            throw new ArgumentOutOfRangeException(
                nameof(first), first, $"Windows {first} to {first + count - 1} are not all among the {ValidationWindowCount(windowLength)} validation windows.");
        }

        Validation.Slice(first * windowLength, windows.Length).CopyTo(windows);
    }

    private static void CheckWindows(Span<int> windows, int windowLength, int available, string part)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowLength);
        if (windows.IsEmpty || windows.Length % windowLength != 0)
        {
            throw new ArgumentException($"Expected whole windows of {windowLength} tokens, at least one, but the span holds {windows.Length}.", nameof(windows));
        }

        if (windowLength > available)
        {
            throw new ArgumentException($"A window of {windowLength} tokens is longer than the {available} tokens of the {part} text.", nameof(windowLength));
        }
    }
}
