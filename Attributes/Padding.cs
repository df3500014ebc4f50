namespace ModelGen;

/// <summary>How a convolution treats the border of its input. The numeric values are read by the generator: never renumber a member.</summary>
public enum Padding
{
    /// <summary>No padding: the window stays inside the input, so the output shrinks by kernel − 1 (before the stride).</summary>
    Valid = 0,

    /// <summary>
    /// Zeros around the input so that the output has ⌈size / stride⌉ positions per side, as Keras pads: the extra row or
    /// column, when the padding is odd, goes to the bottom and right.
    /// </summary>
    Same = 1,
}
