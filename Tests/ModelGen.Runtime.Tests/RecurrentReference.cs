using System;
using System.Linq;
using ModelGen.Kernels;

namespace ModelGen.Runtime.Tests;

public enum RecurrentCell
{
    Lstm,
    Gru,
}

/// <summary>
/// A recurrent layer's problem: its shape, parameters in PyTorch's layout, inputs and initial state, with calls into
/// the kernels and a plain double-precision reference of the same equations.
/// </summary>
internal sealed class RecurrentProblem
{
    /// <summary>The tensors, in the order the reference takes them: input, W_ih, W_hh, b_ih, b_hh, h₀, c₀ (empty when not given).</summary>
    public static readonly string[] TensorNames = ["input", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "h0", "c0"];

    public RecurrentProblem(RecurrentCell cell, RecurrentShape shape, float[][] tensors)
    {
        Cell = cell;
        Shape = shape;
        Tensors = tensors;
    }

    public RecurrentCell Cell { get; }

    public RecurrentShape Shape { get; }

    public float[][] Tensors { get; }

    public int Gates => Cell == RecurrentCell.Lstm ? 4 : 3;

    public RecurrentWeights Weights => new(Tensors[1], Tensors[2], Tensors[3], Tensors[4]);

    public int WorkspaceLength => Cell == RecurrentCell.Lstm ? Recurrent.LstmWorkspaceLength(Shape) : Recurrent.GruWorkspaceLength(Shape);

    /// <summary>Random inputs in [−1, 1], weights in ±<paramref name="scale"/>, and an initial state when asked for.</summary>
    public static RecurrentProblem Random(RecurrentCell cell, RecurrentShape shape, int seed, bool initialState, float scale = 0.5f)
    {
        var random = new Random(seed);
        var (batch, steps, inputs, hidden) = shape;
        var width = (cell == RecurrentCell.Lstm ? 4 : 3) * hidden;
        float[] Draw(int length, float range) => Enumerable.Range(0, length).Select(_ => (float)(((2 * random.NextDouble()) - 1) * range)).ToArray();
        var state = initialState ? batch * hidden : 0;
        return new RecurrentProblem(cell, shape,
        [
            Draw(batch * steps * inputs, 1f), Draw(width * inputs, scale), Draw(width * hidden, scale), Draw(width, scale), Draw(width, scale),
            Draw(state, 0.5f), Draw(cell == RecurrentCell.Lstm ? state : 0, 0.5f),
        ]);
    }

    public int OutputLength(RecurrentOutput outputs) => Shape.Batch * Shape.Hidden * (outputs == RecurrentOutput.Sequence ? Shape.Steps : 1);

    public void Forward(RecurrentOutput outputs, float[] output, float[] workspace)
    {
        if (Cell == RecurrentCell.Lstm)
        {
            Recurrent.LstmForward(Shape, Tensors[0], Weights, output, outputs, workspace, Tensors[5], Tensors[6]);
        }
        else
        {
            Recurrent.GruForward(Shape, Tensors[0], Weights, output, outputs, workspace, Tensors[5]);
        }
    }

    /// <summary>Backward into <paramref name="gradients"/>, laid out as <see cref="Tensors"/> (the state's wanted when given).</summary>
    public void Backward(RecurrentOutput outputs, float[] outputGradient, float[] workspace, float[][] gradients)
    {
        var parameters = new RecurrentGradients(gradients[1], gradients[2], gradients[3], gradients[4]);
        if (Cell == RecurrentCell.Lstm)
        {
            Recurrent.LstmBackward(Shape, Tensors[0], Weights, outputGradient, outputs, workspace, gradients[0], parameters, gradients[5], gradients[6]);
        }
        else
        {
            Recurrent.GruBackward(Shape, Tensors[0], Weights, outputGradient, outputs, workspace, gradients[0], parameters, gradients[5]);
        }
    }

    /// <summary>Arrays shaped as <see cref="Tensors"/>.</summary>
    public float[][] NewGradients() => Tensors.Select(t => new float[t.Length]).ToArray();

    /// <summary>The reference's outputs from the problem's own tensors.</summary>
    public double[] Reference(RecurrentOutput outputs) => Reference(outputs, Tensors.Select(t => t.Select(v => (double)v).ToArray()).ToArray());

    /// <summary>The equations of torch.nn.LSTM / GRU, step by step in double precision, from the given tensors.</summary>
    public double[] Reference(RecurrentOutput outputs, double[][] tensors)
    {
        var (batch, steps, inputs, hidden) = Shape;
        double[] x = tensors[0], wih = tensors[1], whh = tensors[2], bih = tensors[3], bhh = tensors[4];
        var result = new double[OutputLength(outputs)];
        var width = Gates * hidden;
        for (var b = 0; b < batch; b++)
        {
            var h = tensors[5].Length == 0 ? new double[hidden] : tensors[5].Skip(b * hidden).Take(hidden).ToArray();
            var c = tensors[6].Length == 0 ? new double[hidden] : tensors[6].Skip(b * hidden).Take(hidden).ToArray();
            for (var t = 0; t < steps; t++)
            {
                // Each gate row's input part and hidden part, biases included.
                var fromInput = new double[width];
                var fromHidden = new double[width];
                for (var j = 0; j < width; j++)
                {
                    fromInput[j] = bih[j];
                    fromHidden[j] = bhh[j];
                    for (var i = 0; i < inputs; i++)
                    {
                        fromInput[j] += wih[(j * inputs) + i] * x[(((b * steps) + t) * inputs) + i];
                    }

                    for (var k = 0; k < hidden; k++)
                    {
                        fromHidden[j] += whh[(j * hidden) + k] * h[k];
                    }
                }

                var next = new double[hidden];
                for (var u = 0; u < hidden; u++)
                {
                    double Sum(int gate) => fromInput[(gate * hidden) + u] + fromHidden[(gate * hidden) + u];
                    if (Cell == RecurrentCell.Lstm)
                    {
                        double i = Sigmoid(Sum(0)), f = Sigmoid(Sum(1)), g = Math.Tanh(Sum(2)), o = Sigmoid(Sum(3));
                        c[u] = (f * c[u]) + (i * g);
                        next[u] = o * Math.Tanh(c[u]);
                    }
                    else
                    {
                        double r = Sigmoid(Sum(0)), z = Sigmoid(Sum(1));
                        var n = Math.Tanh(fromInput[(2 * hidden) + u] + (r * fromHidden[(2 * hidden) + u]));
                        next[u] = ((1 - z) * n) + (z * h[u]);
                    }
                }

                h = next;
                if (outputs == RecurrentOutput.Sequence)
                {
                    h.CopyTo(result, ((b * steps) + t) * hidden);
                }
            }

            if (outputs == RecurrentOutput.LastState)
            {
                h.CopyTo(result, b * hidden);
            }
        }

        return result;
    }

    public override string ToString() => $"{Cell} {Shape}";

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}
