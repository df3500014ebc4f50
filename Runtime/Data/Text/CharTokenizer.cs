using System;
using System.Buffers.Binary;
using System.IO;

namespace ModelGen;

/// <summary>
/// A character-level tokenizer: the vocabulary is the distinct characters of a text sorted by code point, and a
/// character's token id is its index in that order. Characters are UTF-16 code units (the code points themselves for
/// text in the Basic Multilingual Plane); a character beyond it is two tokens, its surrogates, which decode back to it.
/// </summary>
public sealed class CharTokenizer
{
    private const uint Magic = 0x5443474D; // "MGCT" read as a little-endian word
    private const int Version = 1;
    private const int HeaderBytes = 12;

    private readonly string _vocabulary;

    // _ids[c] is character c's token id, or −1; as long as the largest character + 1.
    private readonly int[] _ids;

    /// <summary>The tokenizer of <paramref name="text"/>'s distinct characters.</summary>
    /// <exception cref="ArgumentException">The text is empty.</exception>
    public CharTokenizer(ReadOnlySpan<char> text)
        : this(DistinctSorted(text))
    {
    }

    private CharTokenizer(string vocabulary)
    {
        _vocabulary = vocabulary;
        _ids = new int[vocabulary[^1] + 1];
        _ids.AsSpan().Fill(-1);
        for (var id = 0; id < vocabulary.Length; id++)
        {
            _ids[vocabulary[id]] = id;
        }
    }

    /// <summary>The characters, in token-id order (ascending code point).</summary>
    public string Vocabulary => _vocabulary;

    /// <summary>The number of tokens.</summary>
    public int VocabularySize => _vocabulary.Length;

    /// <summary>Writes each character's token id to <paramref name="ids"/>, which must be as long as the text.</summary>
    /// <exception cref="ArgumentException">The lengths differ, or a character is not in the vocabulary.</exception>
    public void Encode(ReadOnlySpan<char> text, Span<int> ids)
    {
        if (ids.Length != text.Length)
        {
            throw new ArgumentException($"The text has {text.Length} characters but the destination holds {ids.Length} ids.", nameof(ids));
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var id = c < _ids.Length ? _ids[c] : -1;
            if (id < 0)
            {
                throw new ArgumentException($"Character {i}, U+{(int)c:X4}, is not in the tokenizer's vocabulary of {VocabularySize}.", nameof(text));
            }

            ids[i] = id;
        }
    }

    /// <summary>The token ids of <paramref name="text"/>, in a new array.</summary>
    /// <exception cref="ArgumentException">A character is not in the vocabulary.</exception>
    public int[] Encode(ReadOnlySpan<char> text)
    {
        var ids = new int[text.Length];
        Encode(text, ids);
        return ids;
    }

    /// <summary>Writes each token's character to <paramref name="text"/>, which must be as long as the ids.</summary>
    /// <exception cref="ArgumentException">The lengths differ, or an id lies outside [0, <see cref="VocabularySize"/>).</exception>
    public void Decode(ReadOnlySpan<int> ids, Span<char> text)
    {
        if (ids.Length != text.Length)
        {
            throw new ArgumentException($"There are {ids.Length} ids but the destination holds {text.Length} characters.", nameof(text));
        }

        for (var i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)_vocabulary.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Token {i}'s id is {ids[i]}, outside the vocabulary of {VocabularySize}.");
            }

            text[i] = _vocabulary[ids[i]];
        }
    }

    /// <summary>The text of <paramref name="ids"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id lies outside [0, <see cref="VocabularySize"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new char[ids.Length];
        Decode(ids, text);
        return new string(text);
    }

    /// <summary>
    /// Writes the vocabulary: the bytes "MGCT", the format version (1) and the character count as little-endian 32-bit
    /// integers, then each character as a little-endian 16-bit code unit, in ascending order.
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = new byte[HeaderBytes + (2 * _vocabulary.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), Version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), _vocabulary.Length);
        for (var i = 0; i < _vocabulary.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(HeaderBytes + (2 * i)), _vocabulary[i]);
        }

        stream.Write(bytes);
    }

    /// <summary>Reads a vocabulary <see cref="Save"/> wrote; the stream must end where the vocabulary does.</summary>
    /// <exception cref="InvalidDataException">
    /// The stream is not such a vocabulary: another format or version, a count outside [1, 65536], characters not in
    /// strictly ascending order, too few bytes, or bytes after the vocabulary.
    /// </exception>
    public static CharTokenizer Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        ReadAll(stream, header, "header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new InvalidDataException("Not a character vocabulary: it does not start with \"MGCT\".");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (version != Version)
        {
            throw new InvalidDataException($"The character vocabulary has format version {version}; this reader knows version {Version}.");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (count is < 1 or > char.MaxValue + 1)
        {
            throw new InvalidDataException($"The character vocabulary claims {count} characters; a vocabulary holds 1 to 65,536.");
        }

        var bytes = new byte[2 * count];
        ReadAll(stream, bytes, $"{count} characters");
        var characters = new char[count];
        for (var i = 0; i < count; i++)
        {
            characters[i] = (char)BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i));
            if (i > 0 && characters[i] <= characters[i - 1])
            {
                throw new InvalidDataException(
                    $"The character vocabulary is not in strictly ascending order: U+{(int)characters[i]:X4} follows U+{(int)characters[i - 1]:X4} at {i}.");
            }
        }

        if (stream.ReadByte() >= 0)
        {
            throw new InvalidDataException($"The character vocabulary's {count} characters are followed by more bytes.");
        }

        return new CharTokenizer(new string(characters));
    }

    private static void ReadAll(Stream stream, Span<byte> destination, string what)
    {
        var read = stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        if (read < destination.Length)
        {
            throw new InvalidDataException($"The character vocabulary is truncated: its {what} need {destination.Length} bytes, the stream held {read}.");
        }
    }

    private static string DistinctSorted(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            throw new ArgumentException("A tokenizer needs a text with at least one character.", nameof(text));
        }

        var seen = new bool[char.MaxValue + 1];
        foreach (var c in text)
        {
            seen[c] = true;
        }

        var characters = new System.Text.StringBuilder();
        for (var c = 0; c < seen.Length; c++)
        {
            if (seen[c])
            {
                characters.Append((char)c);
            }
        }

        return characters.ToString();
    }
}
