namespace ModelGen.Serialization;

/// <summary>
/// Where each value of a tensor lies when a buffer keeps the tensor's axes in another order than its file does:
/// dense weights kept [inputs × units] for a file's [units, inputs], convolution kernels kept [kh, kw, c, filters] for
/// PyTorch's [filters, c, kh, kw]. Linked into the generator, which bakes files into the same layout.
/// </summary>
internal static class TensorPermutation
{
    /// <summary>
    /// For each value of a tensor of dimensions <paramref name="view"/>, in its row-major (file) order, its index in a
    /// buffer that keeps axis <paramref name="storedAxes"/>[0] outermost, then [1], and so on.
    /// </summary>
    public static int[] StoredIndices(int[] view, int[] storedAxes)
    {
        var rank = view.Length;
        var length = 1;
        foreach (var dimension in view)
        {
            length *= dimension;
        }

        // The stride of each view axis in the buffer.
        var strides = new int[rank];
        var stride = 1;
        for (var p = rank - 1; p >= 0; p--)
        {
            strides[storedAxes[p]] = stride;
            stride *= view[storedAxes[p]];
        }

        var indices = new int[length];
        var position = new int[rank];
        var stored = 0;
        for (var i = 0; i < length; i++)
        {
            indices[i] = stored;

            // Step the view's multi-index like an odometer, its last axis fastest, moving the stored index along.
            for (var axis = rank - 1; axis >= 0; axis--)
            {
                position[axis]++;
                stored += strides[axis];
                if (position[axis] < view[axis])
                {
                    break;
                }

                stored -= strides[axis] * view[axis];
                position[axis] = 0;
            }
        }

        return indices;
    }

    /// <summary>0, 1, …, <paramref name="length"/> − 1: a tensor kept in file order.</summary>
    public static int[] Identity(int length)
    {
        var indices = new int[length];
        for (var i = 0; i < length; i++)
        {
            indices[i] = i;
        }

        return indices;
    }
}
