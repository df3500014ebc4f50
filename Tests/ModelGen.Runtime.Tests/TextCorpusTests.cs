using System;
using System.IO;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The character tokenizer and its saved vocabulary, and the text corpus's split and windows.</summary>
public sealed class TextCorpusTests
{
    private const string FortuneDirectory = "/usr/share/games/fortunes";

    [Fact]
    public void The_tokenizer_sorts_the_distinct_characters_and_round_trips()
    {
        const string text = "hello, wörld\n";
        var tokenizer = new CharTokenizer(text);
        Assert.Equal("\n ,dehlorwö", tokenizer.Vocabulary);
        var ids = tokenizer.Encode(text);
        Assert.Equal([5, 4, 6, 6, 7, 2, 1, 9, 10, 8, 6, 3, 0], ids);
        Assert.Equal(text, tokenizer.Decode(ids));

        var unknown = Assert.Throws<ArgumentException>(() => tokenizer.Encode("hex"));
        Assert.Contains("Character 2, U+0078, is not in", unknown.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([0, 11]));
        Assert.Throws<ArgumentException>(() => tokenizer.Encode("he", new int[3]));
    }

    [Fact]
    public void A_saved_vocabulary_loads_back()
    {
        var tokenizer = new CharTokenizer("The quick brown fox, 𝄞 and ü.");
        using var stream = new MemoryStream();
        tokenizer.Save(stream);
        stream.Position = 0;
        var loaded = CharTokenizer.Load(stream);
        Assert.Equal(tokenizer.Vocabulary, loaded.Vocabulary);
        Assert.Equal("fox 𝄞", loaded.Decode(tokenizer.Encode("fox 𝄞")));
    }

    [Theory]
    [InlineData("magic", "does not start with \"MGCT\"")]
    [InlineData("version", "format version 2")]
    [InlineData("count", "claims 0 characters")]
    [InlineData("truncated", "truncated")]
    [InlineData("order", "not in strictly ascending order")]
    [InlineData("trailing", "followed by more bytes")]
    [InlineData("empty", "truncated")]
    public void A_corrupt_vocabulary_is_refused_with_what_is_wrong(string damage, string message)
    {
        using var saved = new MemoryStream();
        new CharTokenizer("abc").Save(saved);
        var bytes = saved.ToArray().ToList();
        switch (damage)
        {
            case "magic": bytes[0] = (byte)'X'; break;
            case "version": bytes[4] = 2; break;
            case "count": bytes[8] = 0; break;
            case "truncated": bytes.RemoveAt(bytes.Count - 1); break;
            case "order": (bytes[12], bytes[14]) = (bytes[14], bytes[12]); break;
            case "trailing": bytes.Add(0); break;
            case "empty": bytes.Clear(); break;
        }

        var error = Assert.Throws<InvalidDataException>(() => CharTokenizer.Load(new MemoryStream(bytes.ToArray())));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_corpus_keeps_the_last_tenth_for_validation_and_reads_it_in_consecutive_windows()
    {
        var text = string.Concat(Enumerable.Range(0, 105).Select(i => (char)('a' + (i % 26))));
        var corpus = new TextCorpus(text);
        // The training part is floor(0.9 · 105) = 94 characters, as Benchmarks/sequence_torch.py splits.
        Assert.Equal(94, corpus.Training.Length);
        Assert.Equal(11, corpus.Validation.Length);
        Assert.Equal(text[94..], corpus.Tokenizer.Decode(corpus.Validation));

        Assert.Equal(3, corpus.ValidationWindowCount(3));
        var windows = new int[6];
        corpus.ValidationWindows(1, windows, 3);
        Assert.Equal(text[97..103], corpus.Tokenizer.Decode(windows));
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.ValidationWindows(2, windows, 3));
        Assert.Throws<ArgumentException>(() => corpus.ValidationWindows(0, new int[5], 3));
    }

    [Fact]
    public void Seeded_training_windows_repeat_lie_in_the_training_text_and_allocate_nothing()
    {
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => (char)('a' + (i * 7 % 26))));
        var corpus = new TextCorpus(text);
        const int window = 9, count = 16;
        var (first, second) = (new int[window * count], new int[window * count]);
        var random = new SeededRandom(42);
        corpus.SampleTrainingWindows(ref random, first, window);
        random = new SeededRandom(42);
        corpus.SampleTrainingWindows(ref random, second, window);
        Assert.Equal(first, second);

        var training = corpus.Tokenizer.Decode(corpus.Training);
        var starts = Enumerable.Range(0, count).Select(w => training.IndexOf(corpus.Tokenizer.Decode(first.AsSpan(w * window, window)), StringComparison.Ordinal)).ToArray();
        Assert.All(starts, s => Assert.InRange(s, 0, training.Length - window));
        Assert.True(starts.Distinct().Count() > 1);

        random.NextUInt32();
        corpus.SampleTrainingWindows(ref random, second, window);
        Assert.NotEqual(first, second);
        Assert.Throws<ArgumentException>(() => corpus.SampleTrainingWindows(ref random, new int[10], window));
        AllocationAssert.NoneAfterWarmUp(() => corpus.SampleTrainingWindows(ref random, first, window));
    }

    /// <summary>
    /// The corpus the sequence samples train on. A fresh machine may not have the Debian package <c>fortunes</c>: the
    /// test then checks nothing, except under CI (<c>CI=true</c>), where <c>.ci/run</c> installs it and its absence fails.
    /// </summary>
    [Fact]
    public void The_fortune_corpus_has_the_stated_size_vocabulary_and_split()
    {
        if (!Directory.Exists(FortuneDirectory) && Environment.GetEnvironmentVariable("CI") != "true")
        {
            return;
        }

        Assert.True(Directory.Exists(FortuneDirectory), $"{FortuneDirectory} is missing: install the Debian package fortunes.");
        var files = TextCorpus.FortuneFiles(FortuneDirectory);
        Assert.Equal(43, files.Length);
        Assert.Equal(files.OrderBy(Path.GetFileName, StringComparer.Ordinal), files);
        var corpus = TextCorpus.FromFiles(files);
        Assert.Equal(113, corpus.Tokenizer.VocabularySize);
        Assert.Equal(2_576_627, corpus.Training.Length + corpus.Validation.Length);
        Assert.Equal(257_663, corpus.Validation.Length);
        Assert.Equal(2_318_964, corpus.Training.Length);
    }
}
