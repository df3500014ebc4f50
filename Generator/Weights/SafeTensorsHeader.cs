using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using ModelGen.Serialization;

namespace ModelGen.Generator.Weights;

/// <summary>One tensor named in a safetensors header.</summary>
internal sealed record HeaderEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Reads the header of a safetensors file inside the generator, with the checks the runtime's loader makes: the
/// length fits the file, the JSON is one object of well-formed entries padded with nothing but spaces, every byte
/// range lies in the data section, matches its dtype and shape, and no two overlap. The generator targets
/// netstandard2.0 and runs inside the compiler, where System.Text.Json is not available to it, so the small JSON
/// subset the format uses is parsed here.
/// </summary>
internal static class SafeTensorsHeader
{
    private const int MaxHeaderBytes = 100 * 1024 * 1024;
    private const int MaxDepth = 16;

    /// <summary>Parses the header of <paramref name="file"/>; on failure returns null and says why in <paramref name="error"/>.</summary>
    public static List<HeaderEntry>? Read(ReadOnlySpan<byte> file, out int dataStart, out string? error)
    {
        dataStart = 0;
        if (file.Length < 8)
        {
            error = $"it holds {file.Length} bytes, fewer than the 8 of its header length";
            return null;
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);

        if (headerLength > MaxHeaderBytes || headerLength > (ulong)(file.Length - 8))
        {
            error = $"its header claims {headerLength} bytes but the file holds {file.Length - 8} after the length (truncated, or not a safetensors file)";
            return null;
        }

        dataStart = 8 + (int)headerLength;
        var header = file.Slice(8, (int)headerLength).ToArray();
        var parser = new Parser(header, fileOffset: 8);
        if (!parser.TryParseValue(0, out var root))
        {
            error = parser.Problem;
            return null;
        }

        if (root is not Dictionary<string, object?> tensors)
        {
            error = "its header is not one JSON object";
            return null;
        }

        // The header length counts the JSON object and its padding, which the format allows only as spaces.
        for (var i = parser.Position; i < header.Length; i++)
        {
            if (header[i] != (byte)' ')
            {
                error = SafeTensorsHeaderRules.Problem(8 + parser.Position - 1, 8 + i, header[i]);
                return null;
            }
        }

        var entries = new List<HeaderEntry>();
        var dataLength = file.Length - dataStart;
        foreach (var pair in tensors)
        {
            if (pair.Key == "__metadata__")
            {
                var metadata = (pair.Value as Dictionary<string, object?>)?.Where(m => m.Value is string)
                    .ToDictionary(m => m.Key, m => (string)m.Value!, StringComparer.Ordinal);
                if (metadata is not null && SafeTensorsHeaderRules.IsOldModelGenLayout(metadata))
                {
                    error = SafeTensorsHeaderRules.OldLayoutProblem;
                    return null;
                }

                continue;
            }

            if (!TryReadEntry(pair.Key, pair.Value, dataLength, out var entry, out error))
            {
                return null;
            }

            entries.Add(entry!);
        }

        entries.Sort((x, y) => x.Begin.CompareTo(y.Begin));
        long covered = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if (i > 0 && entries[i].Begin < entries[i - 1].End)
            {
                error = $"tensors '{entries[i - 1].Name}' and '{entries[i].Name}' overlap";
                return null;
            }

            covered += entries[i].End - entries[i].Begin;
        }

        if (covered != dataLength)
        {
            error = $"its tensors cover {covered} bytes but the data section holds {dataLength}";
            return null;
        }

        error = null;
        return entries;
    }

    private static bool TryReadEntry(string name, object? value, long dataLength, out HeaderEntry? entry, out string? error)
    {
        entry = null;
        if (value is not Dictionary<string, object?> fields ||
            !fields.TryGetValue("dtype", out var dtype) || dtype is not string dtypeText ||
            !fields.TryGetValue("shape", out var shape) || !TryReadCounts(shape, out var dimensions) ||
            !fields.TryGetValue("data_offsets", out var offsets) || !TryReadCounts(offsets, out var range) || range.Length != 2)
        {
            error = $"tensor '{name}' lacks a dtype, a shape or a pair of data offsets";
            return false;
        }

        if (range[1] < range[0] || range[1] > dataLength)
        {
            error = $"tensor '{name}' claims bytes {range[0]}..{range[1]} of a {dataLength}-byte data section (truncated?)";
            return false;
        }

        if (SafeTensorsDecoding.ElementSize(dtypeText) is { } size)
        {
            long elements = 1;
            foreach (var dimension in dimensions)
            {
                elements = dimension == 0 ? 0 : elements > long.MaxValue / 16 / dimension ? long.MaxValue / 16 : elements * dimension;
            }

            if (range[1] - range[0] != elements * size)
            {
                error = $"tensor '{name}' of shape [{string.Join(", ", dimensions)}] and dtype {dtypeText} needs {elements * size} bytes but claims {range[1] - range[0]}";
                return false;
            }
        }

        entry = new HeaderEntry(name, dtypeText, dimensions, range[0], range[1]);
        error = null;
        return true;
    }

    private static bool TryReadCounts(object? value, out long[] counts)
    {
        counts = Array.Empty<long>();
        if (value is not List<object?> items)
        {
            return false;
        }

        counts = new long[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not long count || count < 0 || count > int.MaxValue * 4L)
            {
                return false;
            }

            counts[i] = count;
        }

        return true;
    }


    /// <summary>
    /// A strict JSON parser over the header's bytes, for what a safetensors header holds: objects, arrays, strings
    /// (which must be valid UTF-8), integers (as <c>long</c>); other numbers, <c>true</c>, <c>false</c> and
    /// <c>null</c> are accepted and kept as <c>double</c>, <c>bool</c> and <c>null</c>. Nesting deeper than 16 is
    /// refused. It reads one value and stops after it, at <see cref="Position"/>; the caller judges what follows.
    /// Problems name their offset in the file (<paramref name="fileOffset"/> is where <paramref name="json"/> starts).
    /// </summary>
    private sealed class Parser(byte[] json, int fileOffset)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        /// <summary>Where the next byte to read is; after a successful <see cref="TryParseValue"/>, just past the value.</summary>
        public int Position { get; private set; }

        /// <summary>Why parsing failed, as a whole sentence fragment for the diagnostic.</summary>
        public string? Problem { get; private set; }

        public bool TryParseValue(int depth, out object? value)
        {
            value = null;
            SkipSpace();
            if (Position >= json.Length)
            {
                return Fail("the JSON ends early");
            }

            if (depth > MaxDepth)
            {
                return Fail("the JSON nests too deeply");
            }

            switch (json[Position])
            {
                case (byte)'{':
                    return TryParseObject(depth, out value);
                case (byte)'[':
                    return TryParseArray(depth, out value);
                case (byte)'"':
                    var parsed = TryParseString(out var s);
                    value = s;
                    return parsed;
                case (byte)'t':
                    value = true;
                    return TryLiteral("true");
                case (byte)'f':
                    value = false;
                    return TryLiteral("false");
                case (byte)'n':
                    return TryLiteral("null");
                default:
                    return TryParseNumber(out value);
            }
        }

        private bool TryParseObject(int depth, out object? value)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            value = result;
            Position++;
            SkipSpace();
            if (Peek('}'))
            {
                Position++;
                return true;
            }

            while (true)
            {
                SkipSpace();
                if (!Peek('"') || !TryParseString(out var key))
                {
                    return Fail("an object key is not a string");
                }

                SkipSpace();
                if (!Peek(':'))
                {
                    return Fail("a ':' is missing");
                }

                Position++;
                if (!TryParseValue(depth + 1, out var item))
                {
                    return false;
                }

                if (result.ContainsKey(key!))
                {
                    return Fail($"the key '{key}' appears twice");
                }

                result[key!] = item;
                SkipSpace();
                if (Peek(','))
                {
                    Position++;
                    continue;
                }

                if (Peek('}'))
                {
                    Position++;
                    return true;
                }

                return Fail("an object is not closed");
            }
        }

        private bool TryParseArray(int depth, out object? value)
        {
            var result = new List<object?>();
            value = result;
            Position++;
            SkipSpace();
            if (Peek(']'))
            {
                Position++;
                return true;
            }

            while (true)
            {
                if (!TryParseValue(depth + 1, out var item))
                {
                    return false;
                }

                result.Add(item);
                SkipSpace();
                if (Peek(','))
                {
                    Position++;
                    continue;
                }

                if (Peek(']'))
                {
                    Position++;
                    return true;
                }

                return Fail("an array is not closed");
            }
        }

        /// <summary>
        /// A string from its opening quote: runs of raw bytes are decoded as strict UTF-8 (a run never splits a
        /// character: the quote, the backslash and control bytes never occur inside a multi-byte sequence), escapes
        /// are added as the characters they name.
        /// </summary>
        private bool TryParseString(out string? value)
        {
            value = null;
            var builder = new StringBuilder();
            var opening = Position++;
            var run = Position;
            while (Position < json.Length)
            {
                var b = json[Position];
                if (b is (byte)'"' or (byte)'\\')
                {
                    if (!TryAppendRun(builder, run, opening))
                    {
                        return false;
                    }

                    Position++;
                    if (b == (byte)'"')
                    {
                        value = builder.ToString();
                        return true;
                    }

                    if (!TryAppendEscape(builder))
                    {
                        return false;
                    }

                    run = Position;
                    continue;
                }

                if (b < 0x20)
                {
                    return Fail("a string holds a control character");
                }

                Position++;
            }

            return Fail("a string is not closed");
        }

        /// <summary>Appends the raw bytes from <paramref name="run"/> to <see cref="Position"/>, which must be valid UTF-8, of the string opened at <paramref name="opening"/>.</summary>
        private bool TryAppendRun(StringBuilder builder, int run, int opening)
        {
            try
            {
                builder.Append(StrictUtf8.GetString(json, run, Position - run));
                return true;
            }
            catch (ArgumentException)
            {
                // DecoderFallbackException: the bytes of the run are not valid UTF-8.
                Problem ??= $"its header is not valid UTF-8 (in the string that opens at file offset {fileOffset + opening})";
                return false;
            }
        }

        /// <summary>Appends the escape whose letter is at <see cref="Position"/>, just after its backslash.</summary>
        private bool TryAppendEscape(StringBuilder builder)
        {
            if (Position >= json.Length)
            {
                return Fail("a string is not closed");
            }

            var escape = (char)json[Position++];
            switch (escape)
            {
                case '"' or '\\' or '/':
                    builder.Append(escape);
                    return true;
                case 'b':
                    builder.Append('\b');
                    return true;
                case 'f':
                    builder.Append('\f');
                    return true;
                case 'n':
                    builder.Append('\n');
                    return true;
                case 'r':
                    builder.Append('\r');
                    return true;
                case 't':
                    builder.Append('\t');
                    return true;
                case 'u' when TryReadHex4(out var code):
                    builder.Append((char)code);
                    Position += 4;
                    return true;
                default:
                    return Fail("a string holds an invalid escape");
            }
        }

        /// <summary>The four hex digits at <see cref="Position"/> as a UTF-16 code unit.</summary>
        private bool TryReadHex4(out int code)
        {
            code = 0;
            if (Position + 4 > json.Length)
            {
                return false;
            }

            for (var i = 0; i < 4; i++)
            {
                var digit = json[Position + i] switch
                {
                    >= (byte)'0' and <= (byte)'9' and var d => d - '0',
                    >= (byte)'a' and <= (byte)'f' and var d => d - 'a' + 10,
                    >= (byte)'A' and <= (byte)'F' and var d => d - 'A' + 10,
                    _ => -1,
                };
                if (digit < 0)
                {
                    return false;
                }

                code = (code * 16) + digit;
            }

            return true;
        }

        private bool TryParseNumber(out object? value)
        {
            value = null;
            var start = Position;
            while (Position < json.Length && json[Position] is >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E')
            {
                Position++;
            }

            if (Position == start)
            {
                return Fail($"unexpected {SafeTensorsHeaderRules.Describe(json[start])}");
            }

            // Every byte of the token is ASCII, so it is its own character.
            var token = Encoding.ASCII.GetString(json, start, Position - start);
            if (long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            {
                value = integer;
                return true;
            }

            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
            {
                value = real;
                return true;
            }

            Position = start;
            return Fail($"'{token}' is not a number");
        }

        private bool TryLiteral(string literal)
        {
            for (var i = 0; i < literal.Length; i++)
            {
                if (Position + i >= json.Length || json[Position + i] != (byte)literal[i])
                {
                    return Fail($"unexpected {SafeTensorsHeaderRules.Describe(json[Position])}");
                }
            }

            Position += literal.Length;
            return true;
        }

        private bool Peek(char c) => Position < json.Length && json[Position] == (byte)c;

        private void SkipSpace()
        {
            while (Position < json.Length && json[Position] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                Position++;
            }
        }

        private bool Fail(string problem)
        {
            Problem ??= $"its header is not one JSON object: {problem} (at file offset {fileOffset + Position})";
            return false;
        }
    }
}
