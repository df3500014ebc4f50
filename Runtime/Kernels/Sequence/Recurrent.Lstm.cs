using System;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

public static partial class Recurrent
{
    /// <summary>Floats of the workspace <see cref="LstmForward"/> fills and <see cref="LstmBackward"/> reads.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    public static int LstmWorkspaceLength(RecurrentShape shape) => new Layout(shape, LstmCell.Gates).Length;

    /// <summary>Floats of the scratch <see cref="LstmStep"/> needs: 2·B·4H.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    public static int LstmStepScratchLength(int batch, int hidden) => StepScratchLength(batch, hidden, LstmCell.Gates);

    /// <summary>
    /// Forward of an LSTM layer for training (<c>torch.nn.LSTM</c>, <c>batch_first=True</c>), keeping in
    /// <paramref name="workspace"/> what <see cref="LstmBackward"/> needs. For each step t, with the gates in PyTorch's
    /// order i, f, g, o (blocks of H rows of the weights):
    /// <code>
    /// [zᵢ, z_f, z_g, z_o] = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh
    /// i = σ(zᵢ), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
    /// c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    /// </code>
    /// </summary>
    /// <param name="shape">B, T, I and H.</param>
    /// <param name="input">x, [B × T × I].</param>
    /// <param name="weights">weight_ih [4H × I], weight_hh [4H × H], bias_ih and bias_hh [4H] (or empty).</param>
    /// <param name="output">h_1 … h_T [B × T × H], or h_T [B × H], as <paramref name="outputs"/> says.</param>
    /// <param name="outputs">Which hidden states <paramref name="output"/> receives.</param>
    /// <param name="workspace"><see cref="LstmWorkspaceLength"/> floats, kept untouched until backward.</param>
    /// <param name="initialHidden">h₀ [B × H], or empty for zeros.</param>
    /// <param name="initialCell">c₀ [B × H], or empty for zeros.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void LstmForward(
        RecurrentShape shape, ReadOnlySpan<float> input, RecurrentWeights weights, Span<float> output, RecurrentOutput outputs, Span<float> workspace,
        ReadOnlySpan<float> initialHidden = default, ReadOnlySpan<float> initialCell = default) =>
        Forward<LstmCell>(shape, input, weights, output, outputs, workspace, initialHidden, initialCell);

    /// <summary>
    /// Backward through time of <see cref="LstmForward"/>, from ∂L/∂output to ∂L/∂x (overwritten) and the parameter
    /// gradients (added to). Per step, last to first, with ∂h_t the output's gradient plus what step t+1 sends back:
    /// <code>
    /// ∂c_t += ∂h_t ⊙ o ⊙ (1 − tanh²c_t)
    /// ∂zᵢ = ∂c_t ⊙ g ⊙ i(1−i),  ∂z_f = ∂c_t ⊙ c_{t−1} ⊙ f(1−f),  ∂z_g = ∂c_t ⊙ i ⊙ (1−g²),  ∂z_o = ∂h_t ⊙ tanh c_t ⊙ o(1−o)
    /// ∂c_{t−1} = ∂c_t ⊙ f,   ∂h_{t−1} = ∂z·W_hh
    /// </code>
    /// then, over all steps, ∂x = ∂z·W_ih, ∂W_ih += ∂zᵀ·x, ∂W_hh += ∂zᵀ·h_{t−1}, ∂b_ih and ∂b_hh += Σ ∂z.
    /// </summary>
    /// <param name="shape">As given to forward.</param>
    /// <param name="input">x, as given to forward.</param>
    /// <param name="weights">As given to forward.</param>
    /// <param name="outputGradient">∂L/∂output, shaped as forward's output.</param>
    /// <param name="outputs">As given to forward.</param>
    /// <param name="workspace">As forward left it; backward overwrites it, so it runs once per forward.</param>
    /// <param name="inputGradient">∂L/∂x [B × T × I], overwritten.</param>
    /// <param name="gradients">∂L/∂weight_ih, ∂L/∂weight_hh, ∂L/∂bias_ih, ∂L/∂bias_hh, added to (a bias's may be empty).</param>
    /// <param name="initialHiddenGradient">∂L/∂h₀ [B × H], overwritten, or empty if not wanted.</param>
    /// <param name="initialCellGradient">∂L/∂c₀ [B × H], overwritten, or empty if not wanted.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void LstmBackward(
        RecurrentShape shape, ReadOnlySpan<float> input, RecurrentWeights weights, ReadOnlySpan<float> outputGradient, RecurrentOutput outputs,
        Span<float> workspace, Span<float> inputGradient, RecurrentGradients gradients,
        Span<float> initialHiddenGradient = default, Span<float> initialCellGradient = default) =>
        Backward<LstmCell>(shape, input, weights, outputGradient, outputs, workspace, inputGradient, gradients, initialHiddenGradient, initialCellGradient);

    /// <summary>
    /// One step of an LSTM layer for inference, keeping nothing: (h, c) ← cell(x, h, c) with the equations of
    /// <see cref="LstmForward"/>, for B sequences at once. Called once per step from a zero (or given) state, it gives
    /// the hidden states of <see cref="LstmForward"/>: token by token generation, or a sample's prediction.
    /// </summary>
    /// <param name="batch">B.</param>
    /// <param name="inputs">I.</param>
    /// <param name="hidden">H.</param>
    /// <param name="input">x_t, [B × I].</param>
    /// <param name="weights">As for <see cref="LstmForward"/>.</param>
    /// <param name="hiddenState">h [B × H]: h_{t−1} in, h_t out.</param>
    /// <param name="cellState">c [B × H]: c_{t−1} in, c_t out.</param>
    /// <param name="scratch"><see cref="LstmStepScratchLength"/> floats.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void LstmStep(
        int batch, int inputs, int hidden, ReadOnlySpan<float> input, RecurrentWeights weights, Span<float> hiddenState, Span<float> cellState, Span<float> scratch)
    {
        Guard.Length(cellState, checked(batch * hidden), nameof(cellState));
        Step<LstmCell>(batch, inputs, hidden, input, weights, hiddenState, cellState, scratch);
    }

    /// <summary>The LSTM's element-wise work on one row; the gate blocks are i, f, g, o.</summary>
    private readonly struct LstmCell : IRecurrentCell
    {
        public static int Gates => 4;

        public static bool CarriesState => true;

        public static bool CarriesHiddenGradient => false;

        public static void Forward(scoped in ForwardRow row)
        {
            var h = row.NextHidden.Length;
            var gates = row.Gates;
            TensorPrimitives.Add(gates, row.Recurrent, gates);
            TensorPrimitives.Sigmoid(gates[..(2 * h)], gates[..(2 * h)]);
            TensorPrimitives.Tanh(gates.Slice(2 * h, h), gates.Slice(2 * h, h));
            TensorPrimitives.Sigmoid(gates.Slice(3 * h, h), gates.Slice(3 * h, h));
            ReadOnlySpan<float> i = gates[..h], f = gates.Slice(h, h), g = gates.Slice(2 * h, h), o = gates.Slice(3 * h, h);

            // c_t = f ⊙ c_{t−1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
            TensorPrimitives.Multiply(f, row.State, row.NextState);
            TensorPrimitives.MultiplyAdd(i, g, row.NextState, row.NextState);
            TensorPrimitives.Tanh(row.NextState, row.NextHidden);
            TensorPrimitives.Multiply(row.NextHidden, o, row.NextHidden);
        }

        public static void Backward(scoped in BackwardRow row)
        {
            var h = row.HiddenGradient.Length;
            ReadOnlySpan<float> i = row.Gates[..h], f = row.Gates.Slice(h, h), g = row.Gates.Slice(2 * h, h), o = row.Gates.Slice(3 * h, h);
            var dh = row.HiddenGradient;
            var dc = row.StateGradient;
            Span<float> di = row.RecurrentGradient[..h], df = row.RecurrentGradient.Slice(h, h), dg = row.RecurrentGradient.Slice(2 * h, h), dO = row.RecurrentGradient.Slice(3 * h, h);

            // dO holds tanh(c_t) and dg the part of ∂c_t that comes through h_t until they get their own values.
            TensorPrimitives.Tanh(row.NextState, dO);
            TensorPrimitives.Multiply(dh, o, dg);
            Activations.TanhBackward(dO, dg);
            TensorPrimitives.Add(dc, dg, dc);

            TensorPrimitives.Multiply(dh, dO, dO);
            Activations.SigmoidBackward(o, dO);
            TensorPrimitives.Multiply(dc, g, di);
            Activations.SigmoidBackward(i, di);
            TensorPrimitives.Multiply(dc, i, dg);
            Activations.TanhBackward(g, dg);
            TensorPrimitives.Multiply(dc, row.State, df);
            Activations.SigmoidBackward(f, df);
            TensorPrimitives.Multiply(dc, f, dc);

            // The input projection and the recurrent product enter the gates as one sum: the same gradient.
            row.RecurrentGradient.CopyTo(row.Gates);
        }
    }
}
