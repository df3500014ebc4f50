using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelGen.Onnx;

/// <summary>
/// The few pieces of the protocol buffers wire format an ONNX file needs, written into a growing byte array: a field
/// is a key (field number · 8 + wire type) as a varint, then a varint (wire type 0), four little-endian bytes
/// (wire type 5, a float) or a varint length and that many bytes (wire type 2: strings, bytes, nested messages).
/// </summary>
/// <remarks>
/// Repeated numbers are written one field each (unpacked), as proto2 files such as onnx.proto declare them; every
/// reader accepts that form. A nested message is written into a writer of its own and copied in with its length.
/// </remarks>
internal sealed class ProtoWriter
{
    private const int Varint = 0;
    private const int LengthDelimited = 2;
    private const int Fixed32 = 5;

    private byte[] buffer;
    private int length;

    public ProtoWriter(int capacity = 256) => buffer = new byte[Math.Max(capacity, 16)];

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => buffer.AsSpan(0, length);

    /// <summary>The number of bytes written so far.</summary>
    public int Length => length;

    /// <summary>An int64 or int32 field (a negative value takes ten bytes, as protobuf encodes it).</summary>
    public void Int64(int field, long value)
    {
        Key(field, Varint);
        WriteVarint(unchecked((ulong)value));
    }

    /// <summary>A float field.</summary>
    public void Float(int field, float value)
    {
        Key(field, Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(Reserve(4), value);
    }

    /// <summary>A string field, UTF-8.</summary>
    public void String(int field, string value)
    {
        Key(field, LengthDelimited);
        var count = Encoding.UTF8.GetByteCount(value);
        WriteVarint((ulong)count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>A nested message, already written into <paramref name="message"/>.</summary>
    public void Message(int field, ProtoWriter message)
    {
        Key(field, LengthDelimited);
        WriteVarint((ulong)message.length);
        message.Written.CopyTo(Reserve(message.length));
    }

    /// <summary>A bytes field holding <paramref name="values"/> as little-endian IEEE 754 singles (ONNX's raw_data).</summary>
    public void RawSingles(int field, ReadOnlySpan<float> values)
    {
        var count = checked(values.Length * sizeof(float));
        Key(field, LengthDelimited);
        WriteVarint((ulong)count);
        var destination = Reserve(count);
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }

        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(destination.Slice(i * sizeof(float)), values[i]);
        }
    }

    private void Key(int field, int wireType) => WriteVarint((ulong)(((uint)field << 3) | (uint)wireType));

    private void WriteVarint(ulong value)
    {
        var destination = Reserve(10);
        var written = 0;
        while (value >= 0x80)
        {
            destination[written++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[written++] = (byte)value;
        length -= 10 - written;
    }

    /// <summary>Makes room for <paramref name="count"/> more bytes and counts them as written.</summary>
    private Span<byte> Reserve(int count)
    {
        var needed = (long)length + count;
        if (needed > buffer.Length)
        {
            if (needed > Array.MaxLength)
            {
                throw new NotSupportedException(
                    "The ONNX model would be larger than 2 GB, the limit of a protocol buffers message; ModelGen does not write ONNX external data.");
            }

            var grown = (int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * buffer.Length));
            Array.Resize(ref buffer, grown);
        }

        var span = buffer.AsSpan(length, count);
        length += count;
        return span;
    }
}
