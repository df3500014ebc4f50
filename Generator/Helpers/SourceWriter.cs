using System;
using System.Text;

namespace ModelGen.Generator.Helpers;

/// <summary>A small writer of indented C# text with LF line endings, whatever the host platform.</summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _text = new();
    private int _indent;

    public SourceWriter WriteLine(string line)
    {
        if (line.Length > 0)
        {
            for (var i = 0; i < _indent; i++)
            {
                _text.Append(IndentUnit);
            }

            _text.Append(line);
        }

        _text.Append('\n');
        return this;
    }

    public SourceWriter WriteLine() => WriteLine(string.Empty);

    /// <summary>Writes <c>{</c>, indents until the returned scope is disposed, then writes <c>}</c> (plus <paramref name="closingSuffix"/>).</summary>
    public Block OpenBlock(string? header = null, string closingSuffix = "") => Open(header, "{", "}" + closingSuffix);

    /// <summary>Writes <c>[</c>, indents until the returned scope is disposed, then writes <c>];</c>: a collection expression.</summary>
    public Block OpenCollection(string header) => Open(header, "[", "];");

    private Block Open(string? header, string opening, string closing)
    {
        if (header is not null)
        {
            WriteLine(header);
        }

        WriteLine(opening);
        _indent++;
        return new Block(this, closing);
    }

    public override string ToString() => _text.ToString();

    internal readonly struct Block : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string _closing;

        public Block(SourceWriter writer, string closing)
        {
            _writer = writer;
            _closing = closing;
        }

        /// <summary>Closes the block; a <c>default</c> block (one left unopened) closes nothing.</summary>
        public void Dispose()
        {
            if (_writer is null)
            {
                return;
            }

            _writer._indent--;
            _writer.WriteLine(_closing);
        }
    }
}
