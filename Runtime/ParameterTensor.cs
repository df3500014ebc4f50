using System;

namespace ModelGen;

/// <summary>One named tensor inside a model's flat parameter buffer: what serialization reads and writes.</summary>
/// <param name="Name">The tensor's name in a weights file, e.g. <c>layers.0.weight</c>.</param>
/// <param name="Offset">Its first element in <see cref="ITrainableModel.Parameters"/>.</param>
/// <param name="Shape">
/// Its dimensions in a weights file, row-major; a dense weight is [units, inputs] as in PyTorch's <c>nn.Linear</c>.
/// </param>
public sealed record ParameterTensor(string Name, int Offset, int[] Shape)
{
    /// <summary>
    /// True when the buffer holds the transpose of <see cref="Shape"/> (a 2-D tensor [a, b] kept as [b, a] row-major):
    /// dense weights are kept [inputs × units] so that the forward product X·W needs no transposition, and are
    /// transposed on their way to and from a file.
    /// </summary>
    public bool StoredTransposed { get; init; }

    /// <summary>True when the tensor lives in <see cref="ITrainableModel.State"/> (running statistics) rather than in <see cref="ITrainableModel.Parameters"/>.</summary>
    public bool InState { get; init; }

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
        if (!StoredTransposed)
        {
            stored.CopyTo(destination);
            return;
        }

        var (rows, columns) = (Shape[0], Shape[1]);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                destination[(r * columns) + c] = stored[(c * rows) + r];
            }
        }
    }

    /// <summary>Copies this tensor from <paramref name="source"/>, in file order, into its place in <paramref name="parameters"/>.</summary>
    public void CopyFromFileOrder(ReadOnlySpan<float> source, Span<float> parameters)
    {
        var stored = parameters.Slice(Offset, Length);
        if (!StoredTransposed)
        {
            source.CopyTo(stored);
            return;
        }

        var (rows, columns) = (Shape[0], Shape[1]);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                stored[(c * rows) + r] = source[(r * columns) + c];
            }
        }
    }

    /// <summary>The number of elements: the product of the dimensions.</summary>
    public int Length
    {
        get
        {
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
    public Span<float> Slice(Span<float> parameters) => parameters.Slice(Offset, Length);
}
