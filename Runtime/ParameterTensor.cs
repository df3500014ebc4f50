using System;

namespace ModelGen;

/// <summary>One named tensor inside a model's flat parameter buffer: what serialization reads and writes.</summary>
/// <param name="Name">The tensor's name in a weights file, e.g. <c>dense_1.weight</c>.</param>
/// <param name="Offset">Its first element in <see cref="ITrainableModel.Parameters"/>.</param>
/// <param name="Shape">Its dimensions, row-major; a dense weight is [units, inputs] as in PyTorch's <c>nn.Linear</c>.</param>
public sealed record ParameterTensor(string Name, int Offset, int[] Shape)
{
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
