namespace ModelGen.Serialization;

/// <summary>
/// The header rules both safetensors readers apply (the runtime's loader and the generator's baker, which links this
/// file): only spaces may pad the header after its JSON object, a wrong byte named by file offset; and a file that
/// ModelGen wrote must carry the layout marker of the PyTorch layout.
/// </summary>
internal static class SafeTensorsHeaderRules
{
    /// <summary>
    /// The metadata every file ModelGen writes carries, <c>"layout": "pytorch"</c>: its tensors are the equivalent
    /// PyTorch module's. A ModelGen file without it predates that layout (indices that counted only ModelGen's layers,
    /// kernels and flattened images channels-last) and would load wrong if its names were fixed by hand, so both
    /// readers refuse it with <see cref="OldLayoutProblem"/>.
    /// </summary>
    public const string LayoutKey = "layout";

    /// <inheritdoc cref="LayoutKey"/>
    public const string LayoutValue = "pytorch";

    /// <summary>Why a file that ModelGen wrote without <see cref="LayoutKey"/> is refused.</summary>
    public const string OldLayoutProblem =
        "it was saved by an earlier ModelGen in its own layout (layer indices that skip activations, kernels and flattened images channels-last), which would load wrong; save it again from the model that trained it with this version";

    /// <summary>Whether a file's metadata marks it as ModelGen's old layout: written by ModelGen, without the layout marker.</summary>
    public static bool IsOldModelGenLayout(System.Collections.Generic.IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue("producer", out var producer) && producer == "ModelGen"
        && !(metadata.TryGetValue(LayoutKey, out var layout) && layout == LayoutValue);

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
