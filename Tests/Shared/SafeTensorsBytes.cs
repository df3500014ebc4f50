using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace ModelGen.Tests;

/// <summary>
/// Safetensors files taken apart and put together byte by byte, for the tests of both readers (the runtime's loader
/// and the generator's baker), which this file is linked into.
/// </summary>
internal static class SafeTensorsBytes
{
    /// <summary>The JSON object of a saved file's header, without the writer's padding.</summary>
    public static byte[] HeaderJson(byte[] saved) =>
        saved.AsSpan(8, (int)BinaryPrimitives.ReadUInt64LittleEndian(saved)).TrimEnd((byte)' ').ToArray();

    /// <summary>
    /// A copy of <paramref name="saved"/> whose header is its JSON object followed by <paramref name="tail"/> instead of
    /// the writer's padding, with the header length to match; <paramref name="tailOffset"/> is where the tail starts in the file.
    /// </summary>
    public static byte[] WithHeaderTail(byte[] saved, byte[] tail, out int tailOffset)
    {
        var json = HeaderJson(saved);
        var data = saved.AsSpan(8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(saved));
        tailOffset = 8 + json.Length;
        var file = new byte[tailOffset + tail.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)(json.Length + tail.Length));
        json.CopyTo(file, 8);
        tail.CopyTo(file, tailOffset);
        data.CopyTo(file.AsSpan(tailOffset + tail.Length));
        return file;
    }

    /// <summary>A safetensors file written by hand: the 8-byte header length, the header JSON padded with spaces to 8 bytes, the tensors' bytes one after another.</summary>
    public static byte[] HandWritten(IEnumerable<(string Name, string DType, int[] Shape, byte[] Data)> tensors)
    {
        var json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        var data = new List<byte>();
        foreach (var (name, dtype, shape, bytes) in tensors)
        {
            json.Append($",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{data.Count},{data.Count + bytes.Length}]}}");
            data.AddRange(bytes);
        }

        json.Append('}');
        while ((8 + json.Length) % 8 != 0)
        {
            json.Append(' ');
        }

        var header = Encoding.UTF8.GetBytes(json.ToString());
        var file = new byte[8 + header.Length + data.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }
}
