using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// Recurrent layers over batches of sequences, with PyTorch's equations, gate order and parameter layout
/// (<c>torch.nn.LSTM</c>, <c>torch.nn.GRU</c>, one layer, <c>batch_first=True</c>), so that weights move both ways
/// with no conversion: forward for training, which keeps what backward needs in a caller's workspace; backward
/// through time; and one step of inference at a time from a given state.
/// </summary>
/// <remarks>
/// <para>
/// A layer with G gates (LSTM 4, GRU 3) and H hidden units has weight_ih [G·H × I], weight_hh [G·H × H], bias_ih and
/// bias_hh [G·H] (either bias may be empty: PyTorch's <c>bias=False</c>). Inputs are [B × T × I] row-major, the output
/// either the whole sequence of hidden states [B × T × H] or the last one [B × H]; the initial state is zero unless
/// given ([B × H]).
/// </para>
/// <para>
/// Forward computes the input projection of every step as one product, P = X·W_ihᵀ + b_ih ([B·T × G·H]); each step
/// then computes the recurrent product R = h·W_hhᵀ + b_hh ([B × G·H]) and the cell's element-wise update row by row
/// (vectorized with <see cref="TensorPrimitives"/> over the row while it is in L1). Backward walks the steps in
/// reverse with one product per step (∂h_{t−1} from ∂R_t·W_hh), keeps the gradients of the gates' pre-activations, and
/// ends with one product each for ∂X, ∂W_ih and ∂W_hh over all steps, and column sums for the biases.
/// </para>
/// <para>
/// Gradients: ∂X (and the initial state's gradient, when asked for) is overwritten; the parameter gradients
/// ∂W_ih, ∂W_hh, ∂b_ih, ∂b_hh are <b>added to</b>, as <see cref="Gemm.MultiplyAddTransposedA"/> does for a dense layer,
/// so the caller clears them once per batch. Backward overwrites the gate activations kept in the workspace with
/// their gradients: it runs once per forward. Results are deterministic and the same for any
/// <see cref="KernelSettings.MaxThreads"/>: only the matrix products are split over threads, and they give every
/// element the same bits on any number of threads; the element-wise work runs on the calling thread. Nothing is
/// allocated per call.
/// </para>
/// </remarks>
public static partial class Recurrent
{
    /// <summary>Steps forward from the state in <paramref name="buffers"/> (see <see cref="StepBuffers"/>) by one step of the sequence.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Advance<TCell>(scoped in StepBuffers buffers, RecurrentWeights weights, int batch, int hidden)
        where TCell : IRecurrentCell
    {
        var width = TCell.Gates * hidden;
        Gemm.Compute(buffers.Hidden, transposeA: false, weights.HiddenWeights, transposeB: true, buffers.Recurrent, batch, width, hidden, accumulate: false, weights.HiddenBias);
        for (var b = 0; b < batch; b++)
        {
            var row = new ForwardRow
            {
                Gates = buffers.Gates.Slice(b * buffers.GateStride, width),
                Recurrent = buffers.Recurrent.Slice(b * width, width),
                Hidden = buffers.Hidden.Slice(b * hidden, hidden),
                State = buffers.State.IsEmpty ? default : buffers.State.Slice(b * hidden, hidden),
                NextHidden = buffers.NextHidden.Slice(b * hidden, hidden),
                NextState = buffers.NextState.IsEmpty ? default : buffers.NextState.Slice(b * hidden, hidden),
            };
            TCell.Forward(row);
        }
    }

    /// <summary>The training forward shared by the cells: see <see cref="LstmForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward<TCell>(
        RecurrentShape shape, ReadOnlySpan<float> input, RecurrentWeights weights, Span<float> output, RecurrentOutput outputs,
        Span<float> workspace, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialState)
        where TCell : IRecurrentCell
    {
        var layout = new Layout(shape, TCell.Gates);
        layout.CheckForward(input, weights, workspace);
        Guard.Length(output, OutputLength(shape, outputs), nameof(output));
        CheckState(initialHidden, shape, nameof(initialHidden));
        CheckState(initialState, shape, nameof(initialState));

        var (batch, steps, inputs, hidden) = shape;
        var gates = layout.Gates(workspace);
        Gemm.Compute(input, transposeA: false, weights.InputWeights, transposeB: true, gates, batch * steps, layout.Width, inputs, accumulate: false, weights.InputBias);
        CopyOrClear(initialHidden, layout.Hidden(workspace, 0));
        CopyOrClear(initialState, layout.State(workspace, 0));
        for (var t = 0; t < steps; t++)
        {
            var buffers = new StepBuffers
            {
                Gates = gates[(t * layout.Width)..],
                GateStride = steps * layout.Width,
                Recurrent = layout.Recurrent(workspace),
                Hidden = layout.Hidden(workspace, t),
                State = TCell.CarriesState ? layout.State(workspace, t) : default,
                NextHidden = layout.Hidden(workspace, t + 1),
                NextState = layout.State(workspace, t + 1),
            };
            Advance<TCell>(buffers, weights, batch, hidden);
            if (outputs == RecurrentOutput.Sequence)
            {
                for (var b = 0; b < batch; b++)
                {
                    buffers.NextHidden.Slice(b * hidden, hidden).CopyTo(output.Slice(((b * steps) + t) * hidden, hidden));
                }
            }
        }

        if (outputs == RecurrentOutput.LastState)
        {
            layout.Hidden(workspace, steps).CopyTo(output);
        }
    }

    /// <summary>Backward through time shared by the cells: see <see cref="LstmBackward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward<TCell>(
        RecurrentShape shape, ReadOnlySpan<float> input, RecurrentWeights weights, ReadOnlySpan<float> outputGradient, RecurrentOutput outputs,
        Span<float> workspace, Span<float> inputGradient, RecurrentGradients gradients, Span<float> initialHiddenGradient, Span<float> initialStateGradient)
        where TCell : IRecurrentCell
    {
        var layout = new Layout(shape, TCell.Gates);
        layout.CheckForward(input, weights, workspace);
        layout.CheckGradients(gradients);
        Guard.Length(outputGradient, OutputLength(shape, outputs), nameof(outputGradient));
        Guard.Length(inputGradient, input.Length, nameof(inputGradient));
        CheckState(initialHiddenGradient, shape, nameof(initialHiddenGradient));
        CheckState(initialStateGradient, shape, nameof(initialStateGradient));

        var (batch, steps, inputs, hidden) = shape;
        var width = layout.Width;
        var gates = layout.Gates(workspace);
        var recurrentGradients = layout.RecurrentGradients(workspace);
        var dh = layout.HiddenGradient(workspace);
        var dc = layout.StateGradient(workspace);
        dh.Clear();
        dc.Clear();
        for (var t = steps - 1; t >= 0; t--)
        {
            AddOutputGradient(outputGradient, outputs, dh, shape, t);
            var stepGradients = recurrentGradients.Slice(t * batch * width, batch * width);
            for (var b = 0; b < batch; b++)
            {
                var row = new BackwardRow
                {
                    Gates = gates.Slice(((b * steps) + t) * width, width),
                    RecurrentGradient = stepGradients.Slice(b * width, width),
                    HiddenGradient = dh.Slice(b * hidden, hidden),
                    StateGradient = dc.Slice(b * hidden, hidden),
                    Hidden = layout.Hidden(workspace, t).Slice(b * hidden, hidden),
                    State = layout.State(workspace, t).Slice(b * hidden, hidden),
                    NextState = layout.State(workspace, t + 1).Slice(b * hidden, hidden),
                };
                TCell.Backward(row);
            }

            // ∂h_{t−1} = ∂R_t·W_hh (plus, for a GRU, the direct part z ⊙ ∂h_t that the cell left in dh).
            if (t > 0 || !initialHiddenGradient.IsEmpty)
            {
                Gemm.Compute(stepGradients, transposeA: false, weights.HiddenWeights, transposeB: false, dh, batch, hidden, width, accumulate: TCell.CarriesHiddenGradient);
            }
        }

        if (!initialHiddenGradient.IsEmpty)
        {
            dh.CopyTo(initialHiddenGradient);
        }

        if (!initialStateGradient.IsEmpty)
        {
            dc.CopyTo(initialStateGradient);
        }

        // Over all steps at once: ∂X = ∂P·W_ih, ∂W_ih += ∂Pᵀ·X, ∂W_hh += ∂Rᵀ·[h₀ … h_{T−1}], the biases' column sums.
        var rows = batch * steps;
        Gemm.Multiply(gates, weights.InputWeights, inputGradient, rows, inputs, width);
        Gemm.MultiplyAddTransposedA(gates, input, gradients.InputWeights, width, inputs, rows);
        Gemm.MultiplyAddTransposedA(recurrentGradients, layout.HiddenSequence(workspace), gradients.HiddenWeights, width, hidden, rows);
        if (!gradients.InputBias.IsEmpty)
        {
            Reductions.AddColumnSums(gates, gradients.InputBias);
        }

        if (!gradients.HiddenBias.IsEmpty)
        {
            Reductions.AddColumnSums(recurrentGradients, gradients.HiddenBias);
        }
    }

    /// <summary>One step of inference shared by the cells: see <see cref="LstmStep"/>.</summary>
    private static void Step<TCell>(
        int batch, int inputs, int hidden, ReadOnlySpan<float> input, RecurrentWeights weights, Span<float> hiddenState, Span<float> cellState, Span<float> scratch)
        where TCell : IRecurrentCell
    {
        var layout = new Layout(new RecurrentShape(batch, 1, inputs, hidden), TCell.Gates);
        layout.CheckWeights(weights);
        Guard.Length(input, batch * inputs, nameof(input));
        Guard.Length(hiddenState, batch * hidden, nameof(hiddenState));
        Guard.Length(scratch, StepScratchLength(batch, hidden, TCell.Gates), nameof(scratch));
        var width = layout.Width;
        var projection = scratch[..(batch * width)];
        Gemm.Compute(input, transposeA: false, weights.InputWeights, transposeB: true, projection, batch, width, inputs, accumulate: false, weights.InputBias);
        var buffers = new StepBuffers
        {
            Gates = projection,
            GateStride = width,
            Recurrent = scratch[(batch * width)..],
            Hidden = hiddenState,
            State = cellState,
            NextHidden = hiddenState,
            NextState = cellState,
        };
        Advance<TCell>(buffers, weights, batch, hidden);
    }

    /// <summary>Floats of the scratch one step of inference needs: the input projection and the recurrent product.</summary>
    private static int StepScratchLength(int batch, int hidden, int gates)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hidden);
        return checked(2 * batch * gates * hidden);
    }

    /// <summary>Floats of the output: [B × T × H] for the sequence, [B × H] for the last state.</summary>
    private static int OutputLength(RecurrentShape shape, RecurrentOutput outputs) => outputs switch
    {
        RecurrentOutput.Sequence => checked(shape.Batch * shape.Steps * shape.Hidden),
        RecurrentOutput.LastState => checked(shape.Batch * shape.Hidden),
        _ => throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Unknown recurrent output."),
    };

    /// <summary>dh += ∂L/∂h_t as the output gives it: step t's rows of a sequence, or the last state at the last step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddOutputGradient(ReadOnlySpan<float> outputGradient, RecurrentOutput outputs, Span<float> dh, RecurrentShape shape, int t)
    {
        var hidden = shape.Hidden;
        if (outputs == RecurrentOutput.LastState)
        {
            if (t == shape.Steps - 1)
            {
                TensorPrimitives.Add(dh, outputGradient, dh);
            }

            return;
        }

        for (var b = 0; b < shape.Batch; b++)
        {
            var row = dh.Slice(b * hidden, hidden);
            TensorPrimitives.Add(row, outputGradient.Slice(((b * shape.Steps) + t) * hidden, hidden), row);
        }
    }

    private static void CheckState(ReadOnlySpan<float> state, RecurrentShape shape, string parameterName)
    {
        if (!state.IsEmpty)
        {
            Guard.Length(state, shape.Batch * shape.Hidden, parameterName);
        }
    }

    private static void CopyOrClear(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.IsEmpty)
        {
            destination.Clear();
        }
        else
        {
            source.CopyTo(destination);
        }
    }
}
