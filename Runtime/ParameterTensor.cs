using System;

namespace ModelGen;

/// <summary>One named tensor inside a model's flat parameter buffer: what serialization reads and writes.</summary>
/// <param name="Name">The tensor's name in a weights file, e.g. <c>layers.0.weight</c>: its name in the equivalent PyTorch module's <c>state_dict</c>.</param>
/// <param name="Offset">Its first element in <see cref="ITrainableModel.Parameters"/> (or <see cref="ITrainableModel.State"/>).</param>
/// <param name="Shape">
/// Its dimensions in a weights file, row-major, as PyTorch has them: a dense weight is [units, inputs] as in
/// <c>nn.Linear</c>, a convolution kernel [filters, channels, kh, kw] as in <c>nn.Conv2d</c>.
/// </param>
public sealed record ParameterTensor(string Name, int Offset, int[] Shape)
{
    /// <summary>
    /// The dimensions to see the file's tensor with when <see cref="StoredAxes"/> permutes it, when they are not
    /// <see cref="Shape"/>: a dense weight after a flattened image is [units, c·h·w] in a file and is permuted as
    /// [units, c, h, w]. Null: <see cref="Shape"/>.
    /// </summary>
    public int[]? View { get; init; }

    /// <summary>
    /// How the buffer orders the values, when not as the file does: the file's tensor, seen as <see cref="View"/>,
    /// is kept with its axes in this order, outermost first. Dense weights are kept [inputs × units] so that the
    /// forward product X·W needs no transposition (<c>[1, 0]</c>); kernels [kh, kw, c, filters] and images
    /// channels-last (<c>[2, 3, 1, 0]</c>). Null: the buffer holds the file's order.
    /// </summary>
    public int[]? StoredAxes { get; init; }

    /// <summary>True when the tensor lives in <see cref="ITrainableModel.State"/> (running statistics) rather than in <see cref="ITrainableModel.Parameters"/>.</summary>
    public bool InState { get; init; }

    /// <summary>
    /// True for batch normalization's <c>num_batches_tracked</c>: an int64 scalar that lives in
    /// <see cref="ITrainableModel.BatchesTracked"/>, not in a float buffer.
    /// </summary>
    public bool IsBatchCounter { get; init; }

    /// <summary>The buffer of <paramref name="model"/> this tensor lives in.</summary>
    public Span<float> Buffer(ITrainableModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return InState ? model.State : model.Parameters;
    }

    /// <summary>Copies this tensor from <paramref name="parameters"/> into <paramref name="destination"/>, in file order.</summary>
    public void CopyToFileOrder(ReadOnlySpan<float> parameters, Span<float> destination)
    {
        var stored = parameters.Slice(Offset, Length);
        if (StoredAxes is null)
        {
            stored.CopyTo(destination);
            return;
        }

        var indices = StoredIndices();
        for (var i = 0; i < indices.Length; i++)
        {
            destination[i] = stored[indices[i]];
        }
    }

    /// <summary>Copies this tensor from <paramref name="source"/>, in file order, into its place in <paramref name="parameters"/>.</summary>
    public void CopyFromFileOrder(ReadOnlySpan<float> source, Span<float> parameters)
    {
        var stored = parameters.Slice(Offset, Length);
        if (StoredAxes is null)
        {
            source.Slice(0, Length).CopyTo(stored);
            return;
        }

        var indices = StoredIndices();
        for (var i = 0; i < indices.Length; i++)
        {
            stored[indices[i]] = source[i];
        }
    }

    /// <summary>For each value in file order, its index in the buffer from <see cref="Offset"/>.</summary>
    private int[] StoredIndices() => Serialization.TensorPermutation.StoredIndices(View ?? Shape, StoredAxes!);

    /// <summary>The number of floats: the product of the dimensions (0 for the batch counter, which holds no float).</summary>
    public int Length
    {
        get
        {
            if (IsBatchCounter)
            {
                return 0;
            }

            var length = 1;
            foreach (var dimension in Shape)
            {
                length *= dimension;
            }

            return length;
        }
    }

    /// <summary>The shape as <c>[4, 3]</c>, for messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>This tensor's elements within <paramref name="parameters"/>.</summary>
    public Span<float> Slice(Span<float> parameters) => IsBatchCounter ? Span<float>.Empty : parameters.Slice(Offset, Length);
}
