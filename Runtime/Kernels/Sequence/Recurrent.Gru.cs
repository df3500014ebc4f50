using System;
using System.Numerics.Tensors;

namespace ModelGen.Kernels;

public static partial class Recurrent
{
    /// <summary>Floats of the workspace <see cref="GruForward"/> fills and <see cref="GruBackward"/> reads.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    public static int GruWorkspaceLength(RecurrentShape shape) => new Layout(shape, GruCell.Gates).Length;

    /// <summary>Floats of the scratch <see cref="GruStep"/> needs: 2·B·3H.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    public static int GruStepScratchLength(int batch, int hidden) => StepScratchLength(batch, hidden, GruCell.Gates);

    /// <summary>
    /// Forward of a GRU layer for training (<c>torch.nn.GRU</c>, <c>batch_first=True</c>), keeping in
    /// <paramref name="workspace"/> what <see cref="GruBackward"/> needs. For each step t, with the gates in PyTorch's
    /// order r, z, n (blocks of H rows of the weights):
    /// <code>
    /// r = σ(W_ir·x_t + b_ir + W_hr·h_{t−1} + b_hr)
    /// z = σ(W_iz·x_t + b_iz + W_hz·h_{t−1} + b_hz)
    /// n = tanh(W_in·x_t + b_in + r ⊙ (W_hn·h_{t−1} + b_hn))
    /// h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    /// </code>
    /// </summary>
    /// <param name="shape">B, T, I and H.</param>
    /// <param name="input">x, [B × T × I].</param>
    /// <param name="weights">weight_ih [3H × I], weight_hh [3H × H], bias_ih and bias_hh [3H] (or empty).</param>
    /// <param name="output">h_1 … h_T [B × T × H], or h_T [B × H], as <paramref name="outputs"/> says.</param>
    /// <param name="outputs">Which hidden states <paramref name="output"/> receives.</param>
    /// <param name="workspace"><see cref="GruWorkspaceLength"/> floats, kept untouched until backward.</param>
    /// <param name="initialHidden">h₀ [B × H], or empty for zeros.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void GruForward(
        RecurrentShape shape, ReadOnlySpan<float> input, RecurrentWeights weights, Span<float> output, RecurrentOutput outputs, Span<float> workspace,
        ReadOnlySpan<float> initialHidden = default) =>
        Forward<GruCell>(shape, input, weights, output, outputs, workspace, initialHidden, initialState: default);

    /// <summary>
    /// Backward through time of <see cref="GruForward"/>, from ∂L/∂output to ∂L/∂x (overwritten) and the parameter
    /// gradients (added to). Per step, last to first, with ∂h_t the output's gradient plus what step t+1 sends back and
    /// a_n = W_hn·h_{t−1} + b_hn:
    /// <code>
    /// ∂z_n = ∂h_t ⊙ (1 − z) ⊙ (1 − n²),  ∂z_z = ∂h_t ⊙ (h_{t−1} − n) ⊙ z(1−z),  ∂z_r = ∂z_n ⊙ a_n ⊙ r(1−r)
    /// ∂P = [∂z_r, ∂z_z, ∂z_n] (input side),   ∂R = [∂z_r, ∂z_z, r ⊙ ∂z_n] (hidden side)
    /// ∂h_{t−1} = z ⊙ ∂h_t + ∂R·W_hh
    /// </code>
    /// then, over all steps, ∂x = ∂P·W_ih, ∂W_ih += ∂Pᵀ·x, ∂W_hh += ∂Rᵀ·h_{t−1}, ∂b_ih += Σ ∂P, ∂b_hh += Σ ∂R.
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
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void GruBackward(
        RecurrentShape shape, ReadOnlySpan<float> input, RecurrentWeights weights, ReadOnlySpan<float> outputGradient, RecurrentOutput outputs,
        Span<float> workspace, Span<float> inputGradient, RecurrentGradients gradients, Span<float> initialHiddenGradient = default) =>
        Backward<GruCell>(shape, input, weights, outputGradient, outputs, workspace, inputGradient, gradients, initialHiddenGradient, initialStateGradient: default);

    /// <summary>
    /// One step of a GRU layer for inference, keeping nothing: h ← cell(x, h) with the equations of
    /// <see cref="GruForward"/>, for B sequences at once. Called once per step from a zero (or given) state, it gives
    /// the hidden states of <see cref="GruForward"/>: token by token generation, or a sample's prediction.
    /// </summary>
    /// <param name="batch">B.</param>
    /// <param name="inputs">I.</param>
    /// <param name="hidden">H.</param>
    /// <param name="input">x_t, [B × I].</param>
    /// <param name="weights">As for <see cref="GruForward"/>.</param>
    /// <param name="hiddenState">h [B × H]: h_{t−1} in, h_t out.</param>
    /// <param name="scratch"><see cref="GruStepScratchLength"/> floats.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void GruStep(int batch, int inputs, int hidden, ReadOnlySpan<float> input, RecurrentWeights weights, Span<float> hiddenState, Span<float> scratch) =>
        Step<GruCell>(batch, inputs, hidden, input, weights, hiddenState, cellState: default, scratch);

    /// <summary>The GRU's element-wise work on one row; the gate blocks are r, z, n.</summary>
    private readonly struct GruCell : IRecurrentCell
    {
        public static int Gates => 3;

        public static bool CarriesState => false;

        public static bool CarriesHiddenGradient => true;

        public static void Forward(scoped in ForwardRow row)
        {
            var h = row.NextHidden.Length;
            var gates = row.Gates;
            TensorPrimitives.Add(gates[..(2 * h)], row.Recurrent[..(2 * h)], gates[..(2 * h)]);
            TensorPrimitives.Sigmoid(gates[..(2 * h)], gates[..(2 * h)]);
            ReadOnlySpan<float> r = gates[..h], z = gates.Slice(h, h), hiddenN = row.Recurrent.Slice(2 * h, h);
            var n = gates.Slice(2 * h, h);
            if (!row.NextState.IsEmpty)
            {
                hiddenN.CopyTo(row.NextState);
            }

            // n = tanh(P_n + r ⊙ a_n);  h_t = n + z ⊙ (h_{t−1} − n)
            TensorPrimitives.MultiplyAdd(r, hiddenN, n, n);
            TensorPrimitives.Tanh(n, n);
            TensorPrimitives.Subtract(row.Hidden, n, row.NextHidden);
            TensorPrimitives.MultiplyAdd(z, row.NextHidden, n, row.NextHidden);
        }

        public static void Backward(scoped in BackwardRow row)
        {
            var h = row.HiddenGradient.Length;
            var gates = row.Gates;
            ReadOnlySpan<float> r = gates[..h], z = gates.Slice(h, h), n = gates.Slice(2 * h, h), hiddenN = row.NextState;
            var dh = row.HiddenGradient;
            Span<float> dr = row.RecurrentGradient[..h], dz = row.RecurrentGradient.Slice(h, h), dn = row.RecurrentGradient.Slice(2 * h, h);

            // ∂z before z's derivative: ∂h_t ⊙ (h_{t−1} − n).
            TensorPrimitives.Subtract(row.Hidden, n, dz);
            TensorPrimitives.Multiply(dz, dh, dz);

            // dn holds the direct part z ⊙ ∂h_t until it goes to dh; dr holds ∂n = ∂h_t − z ⊙ ∂h_t, then ∂z_n.
            TensorPrimitives.Multiply(dh, z, dn);
            TensorPrimitives.Subtract(dh, dn, dr);
            dn.CopyTo(dh);
            Activations.TanhBackward(n, dr);
            dr.CopyTo(gates.Slice(2 * h, h));
            TensorPrimitives.Multiply(dr, r, dn);
            TensorPrimitives.Multiply(dr, hiddenN, dr);

            Activations.SigmoidBackward(r, dr);
            Activations.SigmoidBackward(z, dz);
            row.RecurrentGradient[..(2 * h)].CopyTo(gates[..(2 * h)]);
        }
    }
}
