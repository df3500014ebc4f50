using System;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

/// <summary>
/// Token and learned positional embeddings over sequences laid out row-major [batch, positions, dim]. A token
/// embedding looks rows up in a table E [vocabulary × dim]: y[n] = E[id[n]] for each of the N = batch·positions
/// tokens. A positional embedding adds a table P [positions × dim] to every sequence: y[b, t] = x[b, t] + P[t].
/// </summary>
public static class Embedding
{
    /// <summary>
    /// <paramref name="output"/>[n, :] = <paramref name="table"/>[ids[n], :] for every token n (output [N × dim], table
    /// [vocabulary × dim]).
    /// </summary>
    /// <exception cref="ArgumentException">The table is not whole rows of <paramref name="dim"/>, or the output is not N × dim.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id lies outside [0, vocabulary).</exception>
    public static void Forward(ReadOnlySpan<int> ids, ReadOnlySpan<float> table, int dim, Span<float> output)
    {
        CheckIds(ids, Vocabulary(table, dim, nameof(table)));
        RowGather.Gather(table, dim, ids, output);
    }

    /// <summary>
    /// Writes the table's gradient: <paramref name="tableGradient"/> = 0, then ∂E[ids[n], :] += ∂y[n, :] for n = 0, 1, …
    /// in that order, so that a token that occurs several times sums its gradients in a fixed order.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not fit the ids and <paramref name="dim"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id lies outside [0, vocabulary).</exception>
    public static void Backward(ReadOnlySpan<int> ids, ReadOnlySpan<float> outputGradient, Span<float> tableGradient, int dim)
    {
        var vocabulary = Vocabulary(tableGradient, dim, nameof(tableGradient));
        Guard.Length(outputGradient, checked(ids.Length * dim), nameof(outputGradient));
        CheckIds(ids, vocabulary);
        tableGradient.Clear();
        for (var n = 0; n < ids.Length; n++)
        {
            var row = tableGradient.Slice(ids[n] * dim, dim);
            TensorPrimitives.Add(row, outputGradient.Slice(n * dim, dim), row);
        }
    }

    /// <summary>
    /// <see cref="Forward(ReadOnlySpan{int}, ReadOnlySpan{float}, int, Span{float})"/> for ids held as floats, as a model's
    /// token input holds them: each must be a whole number in [0, vocabulary).
    /// </summary>
    /// <exception cref="ArgumentException">The table is not whole rows of <paramref name="dim"/>, or the output is not N × dim.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id is not a whole number in [0, vocabulary).</exception>
    public static void Forward(ReadOnlySpan<float> ids, ReadOnlySpan<float> table, int dim, Span<float> output)
    {
        var vocabulary = Vocabulary(table, dim, nameof(table));
        Guard.Length(output, checked(ids.Length * dim), nameof(output));
        for (var n = 0; n < ids.Length; n++)
        {
            table.Slice(Id(ids, n, vocabulary) * dim, dim).CopyTo(output.Slice(n * dim, dim));
        }
    }

    /// <summary>
    /// The table's gradient for ids held as floats: ∂E[ids[n], :] += ∂y[n, :] for n = 0, 1, … in that order, after
    /// clearing <paramref name="tableGradient"/> unless <paramref name="accumulate"/> (an output head that shares the
    /// table has written its part already).
    /// </summary>
    /// <exception cref="ArgumentException">A span's length does not fit the ids and <paramref name="dim"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id is not a whole number in [0, vocabulary).</exception>
    public static void Backward(ReadOnlySpan<float> ids, ReadOnlySpan<float> outputGradient, Span<float> tableGradient, int dim, bool accumulate)
    {
        var vocabulary = Vocabulary(tableGradient, dim, nameof(tableGradient));
        Guard.Length(outputGradient, checked(ids.Length * dim), nameof(outputGradient));
        for (var n = 0; n < ids.Length; n++)
        {
            Id(ids, n, vocabulary);
        }

        if (!accumulate)
        {
            tableGradient.Clear();
        }

        for (var n = 0; n < ids.Length; n++)
        {
            var row = tableGradient.Slice((int)ids[n] * dim, dim);
            TensorPrimitives.Add(row, outputGradient.Slice(n * dim, dim), row);
        }
    }

    /// <summary>Token <paramref name="n"/>'s id, checked to be a whole number in [0, vocabulary).</summary>
    public static int Id(ReadOnlySpan<float> ids, int n, int vocabulary)
    {
        var id = ids[n];
        if (!(id >= 0f && id < vocabulary) || id != MathF.Floor(id))
        {
            throw new ArgumentOutOfRangeException(
                nameof(ids), id, $"Token {n}'s id is {id}; a token id is a whole number in [0, {vocabulary}), held as a float.");
        }

        return (int)id;
    }

    /// <summary>
    /// x[b, t, :] += <paramref name="positionTable"/>[t, :] for every sequence b of <paramref name="x"/> (in place), where
    /// the table is [positions × dim] and x whole sequences of that size.
    /// </summary>
    /// <exception cref="ArgumentException">The table is empty, or x is not a non-zero whole number of sequences.</exception>
    public static void AddPositions(Span<float> x, ReadOnlySpan<float> positionTable)
    {
        CheckSequences(x, positionTable.Length, nameof(x));
        for (var start = 0; start < x.Length; start += positionTable.Length)
        {
            var sequence = x.Slice(start, positionTable.Length);
            TensorPrimitives.Add(sequence, positionTable, sequence);
        }
    }

    /// <summary>
    /// Writes the positional table's gradient ∂P[t, :] = Σ_b ∂y[b, t, :], the sequences summed in order b = 0, 1, ….
    /// (The gradient on x is ∂y itself.)
    /// </summary>
    /// <exception cref="ArgumentException">The gradient is not a non-zero whole number of sequences of the table's size.</exception>
    public static void PositionsBackward(ReadOnlySpan<float> outputGradient, Span<float> positionTableGradient)
    {
        CheckSequences(outputGradient, positionTableGradient.Length, nameof(outputGradient));
        outputGradient[..positionTableGradient.Length].CopyTo(positionTableGradient);
        for (var start = positionTableGradient.Length; start < outputGradient.Length; start += positionTableGradient.Length)
        {
            TensorPrimitives.Add(positionTableGradient, outputGradient.Slice(start, positionTableGradient.Length), positionTableGradient);
        }
    }

    private static int Vocabulary(ReadOnlySpan<float> table, int dim, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        if (table.IsEmpty || table.Length % dim != 0)
        {
            throw new ArgumentException($"Expected an embedding table of whole rows of {dim} floats, but the span holds {table.Length}.", name);
        }

        return table.Length / dim;
    }

    private static void CheckIds(ReadOnlySpan<int> ids, int vocabulary)
    {
        for (var n = 0; n < ids.Length; n++)
        {
            if ((uint)ids[n] >= (uint)vocabulary)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(ids), ids[n], $"Token {n}'s id is {ids[n]}, outside the vocabulary of {vocabulary} (ids 0 to {vocabulary - 1}).");
            }
        }
    }

    private static void CheckSequences(ReadOnlySpan<float> values, int sequenceLength, string name)
    {
        if (sequenceLength == 0 || values.IsEmpty || values.Length % sequenceLength != 0)
        {
            throw new ArgumentException(
                $"Expected whole sequences of the positional table's {sequenceLength} floats, at least one, but the span holds {values.Length}.", name);
        }
    }
}
