namespace ModelGen.Serialization;

/// <summary>
/// The one rule both safetensors readers (the runtime's loader and the generator's baker, which links this file)
/// apply after the header's JSON object: only spaces may pad the header, and a wrong byte is named by file offset.
/// </summary>
internal static class SafeTensorsPadding
{
    /// <summary>The message for <paramref name="found"/> at file offset <paramref name="offset"/>, the object having closed at <paramref name="objectClose"/>.</summary>
    public static string Problem(int objectClose, int offset, byte found) =>
        $"its header's JSON object closes at file offset {objectClose}, but file offset {offset} holds {Describe(found)} where only spaces (0x20) may pad the header";

    /// <summary>A byte as hex, with its character when it is printable ASCII or its name when it is a common control character.</summary>
    public static string Describe(byte value) => value switch
    {
        0x00 => "0x00 (NUL)",
        (byte)'\t' => "0x09 (tab)",
        (byte)'\n' => "0x0A (line feed)",
        (byte)'\r' => "0x0D (carriage return)",
        > 0x20 and < 0x7F => $"0x{value:X2} ('{(char)value}')",
        >= 0x80 => $"0x{value:X2} (not ASCII)",
        _ => $"0x{value:X2}",
    };
}
