using System;
using System.IO;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// A file stream that takes <c>failAfter</c> bytes and then fails, as a full disk would: the part of a write that
/// still fits reaches the file, the rest throws.
/// </summary>
internal sealed class FailingStream(Stream inner, int failAfter) : Stream
{
    private int _written;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var room = failAfter - _written;
        if (buffer.Length > room)
        {
            inner.Write(buffer[..room]);
            _written = failAfter;
            throw new IOException("No space left on device (simulated).");
        }

        _written += buffer.Length;
        inner.Write(buffer);
    }

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
