using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ModelGen.Generator.Weights;

/// <summary>One tensor named in a safetensors header.</summary>
internal sealed record HeaderEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Reads the header of a safetensors file inside the generator, with the checks the runtime's loader makes: the
/// length fits the file, the JSON is one object of well-formed entries, every byte range lies in the data section,
/// matches its dtype and shape, and no two overlap. The generator targets netstandard2.0 and runs inside the
/// compiler, where System.Text.Json is not available to it, so the small JSON subset the format uses is parsed here.
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
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(file.Slice(8, (int)headerLength).ToArray());
        }
        catch (ArgumentException)
        {
            error = "its header is not valid UTF-8";
            return null;
        }

        var parser = new Parser(text);
        if (!parser.TryParseDocument(out var root) || root is not Dictionary<string, object?> tensors)
        {
            error = "its header is not one JSON object" + (parser.Problem is null ? string.Empty : ": " + parser.Problem);
            return null;
        }

        var entries = new List<HeaderEntry>();
        var dataLength = file.Length - dataStart;
        foreach (var pair in tensors)
        {
            if (pair.Key == "__metadata__")
            {
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

        if (dtypeText == "F32")
        {
            long elements = 1;
            foreach (var dimension in dimensions)
            {
                elements = dimension == 0 ? 0 : elements > long.MaxValue / 16 / dimension ? long.MaxValue / 16 : elements * dimension;
            }

            if (range[1] - range[0] != elements * 4)
            {
                error = $"tensor '{name}' of shape [{string.Join(", ", dimensions)}] needs {elements * 4} bytes but claims {range[1] - range[0]}";
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
    /// A strict JSON parser for what a safetensors header holds: objects, arrays, strings, integers (as <c>long</c>);
    /// other numbers, <c>true</c>, <c>false</c> and <c>null</c> are accepted and kept as <c>double</c>, <c>bool</c>
    /// and <c>null</c>. Nesting deeper than 16 is refused.
    /// </summary>
    private sealed class Parser(string text)
    {
        private int _position;

        public string? Problem { get; private set; }

        public bool TryParseDocument(out object? value)
        {
            if (!TryParseValue(0, out value))
            {
                return false;
            }

            SkipSpace();
            return _position == text.Length || Fail("text after the JSON object");
        }

        private bool TryParseValue(int depth, out object? value)
        {
            value = null;
            SkipSpace();
            if (_position >= text.Length)
            {
                return Fail("the JSON ends early");
            }

            if (depth > MaxDepth)
            {
                return Fail("the JSON nests too deeply");
            }

            switch (text[_position])
            {
                case '{':
                    return TryParseObject(depth, out value);
                case '[':
                    return TryParseArray(depth, out value);
                case '"':
                    var parsed = TryParseString(out var s);
                    value = s;
                    return parsed;
                case 't':
                    value = true;
                    return TryLiteral("true");
                case 'f':
                    value = false;
                    return TryLiteral("false");
                case 'n':
                    return TryLiteral("null");
                default:
                    return TryParseNumber(out value);
            }
        }

        private bool TryParseObject(int depth, out object? value)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            value = result;
            _position++;
            SkipSpace();
            if (Peek('}'))
            {
                _position++;
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

                _position++;
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
                    _position++;
                    continue;
                }

                if (Peek('}'))
                {
                    _position++;
                    return true;
                }

                return Fail("an object is not closed");
            }
        }

        private bool TryParseArray(int depth, out object? value)
        {
            var result = new List<object?>();
            value = result;
            _position++;
            SkipSpace();
            if (Peek(']'))
            {
                _position++;
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
                    _position++;
                    continue;
                }

                if (Peek(']'))
                {
                    _position++;
                    return true;
                }

                return Fail("an array is not closed");
            }
        }

        private bool TryParseString(out string? value)
        {
            value = null;
            var builder = new StringBuilder();
            _position++;
            while (_position < text.Length)
            {
                var c = text[_position++];
                if (c == '"')
                {
                    value = builder.ToString();
                    return true;
                }

                if (c < ' ')
                {
                    return Fail("a string holds a control character");
                }

                if (c != '\\')
                {
                    builder.Append(c);
                    continue;
                }

                if (_position >= text.Length)
                {
                    break;
                }

                var escape = text[_position++];
                switch (escape)
                {
                    case '"' or '\\' or '/':
                        builder.Append(escape);
                        break;
                    case 'b':
                        builder.Append('\b');
                        break;
                    case 'f':
                        builder.Append('\f');
                        break;
                    case 'n':
                        builder.Append('\n');
                        break;
                    case 'r':
                        builder.Append('\r');
                        break;
                    case 't':
                        builder.Append('\t');
                        break;
                    case 'u' when _position + 4 <= text.Length &&
                                  ushort.TryParse(text.Substring(_position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                        builder.Append((char)code);
                        _position += 4;
                        break;
                    default:
                        return Fail("a string holds an invalid escape");
                }
            }

            return Fail("a string is not closed");
        }

        private bool TryParseNumber(out object? value)
        {
            value = null;
            var start = _position;
            while (_position < text.Length && (char.IsDigit(text[_position]) || text[_position] is '-' or '+' or '.' or 'e' or 'E'))
            {
                _position++;
            }

            var token = text.Substring(start, _position - start);
            if (token.Length == 0)
            {
                return Fail($"unexpected '{text[start]}'");
            }

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

            return Fail($"'{token}' is not a number");
        }

        private bool TryLiteral(string literal)
        {
            if (string.CompareOrdinal(text, _position, literal, 0, literal.Length) != 0)
            {
                return Fail($"unexpected '{text[_position]}'");
            }

            _position += literal.Length;
            return true;
        }

        private bool Peek(char c) => _position < text.Length && text[_position] == c;

        private void SkipSpace()
        {
            while (_position < text.Length && text[_position] is ' ' or '\t' or '\n' or '\r')
            {
                _position++;
            }
        }

        private bool Fail(string problem)
        {
            Problem ??= problem + $" (at character {_position})";
            return false;
        }
    }
}
