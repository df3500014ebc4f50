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
    public Block OpenBlock(string? header = null, string closingSuffix = "")
    {
        if (header is not null)
        {
            WriteLine(header);
        }

        WriteLine("{");
        _indent++;
        return new Block(this, closingSuffix);
    }

    public override string ToString() => _text.ToString();

    internal readonly struct Block : IDisposable
    {
        private readonly SourceWriter _writer;
        private readonly string _closingSuffix;

        public Block(SourceWriter writer, string closingSuffix)
        {
            _writer = writer;
            _closingSuffix = closingSuffix;
        }

        public void Dispose()
        {
            _writer._indent--;
            _writer.WriteLine("}" + _closingSuffix);
        }
    }
}
