using System;

namespace ModelGen.Kernels;

/// <summary>The sizes of a recurrent layer's call: B sequences of T steps of I inputs each, H hidden units.</summary>
/// <param name="Batch">B, the sequences (at least 1).</param>
/// <param name="Steps">T, the steps of each sequence (at least 1).</param>
/// <param name="Inputs">I, the values of each step's input (at least 1).</param>
/// <param name="Hidden">H, the hidden units (at least 1).</param>
public readonly record struct RecurrentShape(int Batch, int Steps, int Inputs, int Hidden);

/// <summary>What a recurrent layer's forward pass writes, and what the gradient given to its backward pass is of.</summary>
public enum RecurrentOutput
{
    /// <summary>Every step's hidden state, [B × T × H] (PyTorch's <c>output</c> with <c>batch_first=True</c>).</summary>
    Sequence,

    /// <summary>The last step's hidden state, [B × H] (PyTorch's <c>h_n[0]</c>).</summary>
    LastState,
}

/// <summary>
/// A recurrent layer's parameters in PyTorch's layout, for G gates and H hidden units: weight_ih [G·H × I], weight_hh
/// [G·H × H], bias_ih and bias_hh [G·H] each, or empty for a layer without biases.
/// </summary>
public readonly ref struct RecurrentWeights(ReadOnlySpan<float> inputWeights, ReadOnlySpan<float> hiddenWeights, ReadOnlySpan<float> inputBias, ReadOnlySpan<float> hiddenBias)
{
    /// <summary>weight_ih, [G·H × I].</summary>
    public ReadOnlySpan<float> InputWeights { get; } = inputWeights;

    /// <summary>weight_hh, [G·H × H].</summary>
    public ReadOnlySpan<float> HiddenWeights { get; } = hiddenWeights;

    /// <summary>bias_ih, [G·H] or empty.</summary>
    public ReadOnlySpan<float> InputBias { get; } = inputBias;

    /// <summary>bias_hh, [G·H] or empty.</summary>
    public ReadOnlySpan<float> HiddenBias { get; } = hiddenBias;
}

/// <summary>
/// Where a recurrent layer's backward pass adds its parameter gradients, laid out as <see cref="RecurrentWeights"/>;
/// a bias gradient may be empty when the layer has no such bias.
/// </summary>
public readonly ref struct RecurrentGradients(Span<float> inputWeights, Span<float> hiddenWeights, Span<float> inputBias, Span<float> hiddenBias)
{
    /// <summary>∂L/∂weight_ih, [G·H × I], added to.</summary>
    public Span<float> InputWeights { get; } = inputWeights;

    /// <summary>∂L/∂weight_hh, [G·H × H], added to.</summary>
    public Span<float> HiddenWeights { get; } = hiddenWeights;

    /// <summary>∂L/∂bias_ih, [G·H] or empty, added to.</summary>
    public Span<float> InputBias { get; } = inputBias;

    /// <summary>∂L/∂bias_hh, [G·H] or empty, added to.</summary>
    public Span<float> HiddenBias { get; } = hiddenBias;
}

public static partial class Recurrent
{
    /// <summary>A cell's element-wise work on one sequence's row of a step, written once per kind of cell.</summary>
    private interface IRecurrentCell
    {
        /// <summary>G, the gates (blocks of H rows of the weights).</summary>
        static abstract int Gates { get; }

        /// <summary>Whether the state carries from step to step (an LSTM's cell), rather than being kept for backward only.</summary>
        static abstract bool CarriesState { get; }

        /// <summary>Whether backward leaves a direct part of ∂h_{t−1} in the hidden gradient, to which ∂R·W_hh is added.</summary>
        static abstract bool CarriesHiddenGradient { get; }

        static abstract void Forward(scoped in ForwardRow row);

        static abstract void Backward(scoped in BackwardRow row);
    }

    /// <summary>One sequence's values at one step of forward.</summary>
    private ref struct ForwardRow
    {
        /// <summary>[G·H]: in, the input projection x·W_ihᵀ + b_ih; out, the gates' activations.</summary>
        public Span<float> Gates;

        /// <summary>[G·H]: h_{t−1}·W_hhᵀ + b_hh.</summary>
        public ReadOnlySpan<float> Recurrent;

        /// <summary>[H]: h_{t−1}.</summary>
        public ReadOnlySpan<float> Hidden;

        /// <summary>[H]: the LSTM's c_{t−1}; empty for a GRU.</summary>
        public ReadOnlySpan<float> State;

        /// <summary>[H]: h_t (may be <see cref="Hidden"/> itself).</summary>
        public Span<float> NextHidden;

        /// <summary>[H]: the LSTM's c_t (may be <see cref="State"/> itself); the GRU's W_hn·h_{t−1} + b_hn, or empty.</summary>
        public Span<float> NextState;
    }

    /// <summary>One sequence's values at one step of backward.</summary>
    private ref struct BackwardRow
    {
        /// <summary>[G·H]: in, the gates' activations; out, ∂L/∂P, the gradient of the input projection.</summary>
        public Span<float> Gates;

        /// <summary>[G·H]: out, ∂L/∂R, the gradient of the recurrent product h_{t−1}·W_hhᵀ + b_hh.</summary>
        public Span<float> RecurrentGradient;

        /// <summary>[H]: in, ∂L/∂h_t; out, the direct part of ∂L/∂h_{t−1} if the cell has one.</summary>
        public Span<float> HiddenGradient;

        /// <summary>[H]: the LSTM's ∂L/∂c_t in, ∂L/∂c_{t−1} out.</summary>
        public Span<float> StateGradient;

        /// <summary>[H]: h_{t−1}.</summary>
        public ReadOnlySpan<float> Hidden;

        /// <summary>[H]: the LSTM's c_{t−1}.</summary>
        public ReadOnlySpan<float> State;

        /// <summary>[H]: what forward wrote to <see cref="ForwardRow.NextState"/>.</summary>
        public ReadOnlySpan<float> NextState;
    }

    /// <summary>What one step of forward reads and writes, for every sequence of the batch.</summary>
    private ref struct StepBuffers
    {
        /// <summary>The first sequence's gate row; the others follow <see cref="GateStride"/> floats apart.</summary>
        public Span<float> Gates;

        public int GateStride;

        /// <summary>[B × G·H] scratch for h_{t−1}·W_hhᵀ + b_hh.</summary>
        public Span<float> Recurrent;

        /// <summary>[B × H] each, as in <see cref="ForwardRow"/>; a state may be empty.</summary>
        public ReadOnlySpan<float> Hidden;

        public ReadOnlySpan<float> State;

        public Span<float> NextHidden;

        public Span<float> NextState;
    }

    /// <summary>
    /// The workspace of a training forward and its backward, in this order: the gates [B × T × G·H] (the input
    /// projection, then the activations, then backward's ∂L/∂P); the hidden states [(T+1) × B × H], step-major, h₀
    /// first; the states [(T+1) × B × H] (the LSTM's c₀ … c_T, the GRU's W_hn·h + b_hn at 1 … T); the recurrent
    /// product [B × G·H]; backward's ∂L/∂R [T × B × G·H], step-major; ∂L/∂h and ∂L/∂c of the current step [B × H].
    /// </summary>
    private readonly struct Layout
    {
        private readonly RecurrentShape _shape;
        private readonly int _gatesLength;
        private readonly int _statesLength;

        public Layout(RecurrentShape shape, int gates)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shape.Batch, nameof(shape));
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shape.Steps, nameof(shape));
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shape.Inputs, nameof(shape));
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shape.Hidden, nameof(shape));
            _shape = shape;
            Width = checked(gates * shape.Hidden);
            _gatesLength = checked(shape.Batch * shape.Steps * Width);
            _statesLength = checked((shape.Steps + 1) * shape.Batch * shape.Hidden);
            Length = checked(_gatesLength + (2 * _statesLength) + (shape.Batch * Width) + _gatesLength + (2 * shape.Batch * shape.Hidden));
        }

        /// <summary>G·H, the width of a gate row.</summary>
        public int Width { get; }

        /// <summary>The workspace's floats.</summary>
        public int Length { get; }

        private int StepLength => _shape.Batch * _shape.Hidden;

        private int HiddenOffset => _gatesLength;

        private int StateOffset => HiddenOffset + _statesLength;

        private int RecurrentOffset => StateOffset + _statesLength;

        private int RecurrentGradientsOffset => RecurrentOffset + (_shape.Batch * Width);

        private int HiddenGradientOffset => RecurrentGradientsOffset + _gatesLength;

        public Span<float> Gates(Span<float> workspace) => workspace[.._gatesLength];

        /// <summary>h_t for all sequences, [B × H]; t = 0 is the initial state.</summary>
        public Span<float> Hidden(Span<float> workspace, int t) => workspace.Slice(HiddenOffset + (t * StepLength), StepLength);

        /// <summary>h₀ … h_{T−1}, [T·B × H]: the inputs of the recurrent products.</summary>
        public Span<float> HiddenSequence(Span<float> workspace) => workspace.Slice(HiddenOffset, _shape.Steps * StepLength);

        /// <summary>Slot t of the states, [B × H].</summary>
        public Span<float> State(Span<float> workspace, int t) => workspace.Slice(StateOffset + (t * StepLength), StepLength);

        public Span<float> Recurrent(Span<float> workspace) => workspace.Slice(RecurrentOffset, _shape.Batch * Width);

        public Span<float> RecurrentGradients(Span<float> workspace) => workspace.Slice(RecurrentGradientsOffset, _gatesLength);

        public Span<float> HiddenGradient(Span<float> workspace) => workspace.Slice(HiddenGradientOffset, StepLength);

        public Span<float> StateGradient(Span<float> workspace) => workspace.Slice(HiddenGradientOffset + StepLength, StepLength);

        public void CheckForward(ReadOnlySpan<float> input, RecurrentWeights weights, ReadOnlySpan<float> workspace)
        {
            Guard.Length(input, checked(_shape.Batch * _shape.Steps * _shape.Inputs), nameof(input));
            CheckWeights(weights);
            Guard.Length(workspace, Length, nameof(workspace));
        }

        public void CheckWeights(RecurrentWeights weights)
        {
            Guard.Length(weights.InputWeights, checked(Width * _shape.Inputs), "weightIh");
            Guard.Length(weights.HiddenWeights, checked(Width * _shape.Hidden), "weightHh");
            CheckBias(weights.InputBias, "biasIh");
            CheckBias(weights.HiddenBias, "biasHh");
        }

        public void CheckGradients(RecurrentGradients gradients)
        {
            Guard.Length(gradients.InputWeights, checked(Width * _shape.Inputs), "weightIhGradient");
            Guard.Length(gradients.HiddenWeights, checked(Width * _shape.Hidden), "weightHhGradient");
            CheckBias(gradients.InputBias, "biasIhGradient");
            CheckBias(gradients.HiddenBias, "biasHhGradient");
        }

        private void CheckBias(ReadOnlySpan<float> bias, string parameterName)
        {
            if (!bias.IsEmpty)
            {
                Guard.Length(bias, Width, parameterName);
            }
        }
    }
}
