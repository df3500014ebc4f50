namespace ModelGen.Kernels;

/// <summary>
/// A matrix in memory: element (row, column) is at <c>Data[row·RowStride + column·ColumnStride]</c>. Or, when
/// <see cref="Windows"/> is set, the matrix of a convolution's windows that <see cref="Convolution.ImageToColumns"/> would
/// write (or its transpose), read from the images at <see cref="Data"/> only as the packing needs it.
/// </summary>
internal readonly unsafe struct Operand
{
    public readonly float* Data;
    public readonly int RowStride;
    public readonly int ColumnStride;

    /// <summary>The geometry of the windows this operand's values are read from, or null for a matrix in memory.</summary>
    public readonly Window2D* Windows;

    /// <summary>Whether a window operand is the windows' transpose: row i is window value i, column p window p.</summary>
    public readonly bool Transposed;

    /// <summary>The row and column of the (possibly transposed) window matrix where a window operand starts.</summary>
    public readonly int FirstRow;
    public readonly int FirstColumn;

    public Operand(float* data, int rowStride, int columnStride)
    {
        Data = data;
        RowStride = rowStride;
        ColumnStride = columnStride;
    }

    /// <summary>The window matrix of the images at <paramref name="images"/> (or its transpose) from (row, column).</summary>
    public Operand(float* images, Window2D* windows, bool transposed, int row = 0, int column = 0)
    {
        Data = images;
        Windows = windows;
        Transposed = transposed;
        FirstRow = row;
        FirstColumn = column;
    }

    /// <summary>Whether the values lie in memory as a matrix (the micro-kernels may read them in place).</summary>
    public bool InMemory => Windows == null;

    /// <summary>The same matrix from (<paramref name="rows"/>, <paramref name="columns"/>) on.</summary>
    public Operand Shifted(int rows, int columns) => InMemory
        ? new Operand(Data + ((long)rows * RowStride) + ((long)columns * ColumnStride), RowStride, ColumnStride)
        : new Operand(Data, Windows, Transposed, FirstRow + rows, FirstColumn + columns);

    public float At(int row, int column)
    {
        if (InMemory)
        {
            return Data[((long)row * RowStride) + ((long)column * ColumnStride)];
        }

        var (i, p) = (FirstRow + row, FirstColumn + column);
        return Transposed ? Convolution.WindowValue(Data, *Windows, p, i) : Convolution.WindowValue(Data, *Windows, i, p);
    }
}
