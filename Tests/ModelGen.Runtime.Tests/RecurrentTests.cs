using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Kernels;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The LSTM and GRU kernels against a plain double-precision reference of PyTorch's equations: forward on odd sizes,
/// backward through time against finite differences of the reference, one step of inference at a time against the
/// training forward, no allocation once warm, and clear errors on wrong lengths.
/// </summary>
[Trait("Category", "Kernels")]
public class RecurrentTests
{
    private static readonly RecurrentOutput[] Outputs = [RecurrentOutput.Sequence, RecurrentOutput.LastState];

    public static IEnumerable<object[]> OddShapes() =>
        from cell in Enum.GetValues<RecurrentCell>()
        from batch in new[] { 1, 3 }
        from steps in new[] { 1, 5 }
        from inputs in new[] { 3, 17 }
        from hidden in new[] { 1, 7, 33 }
        select new object[] { cell, batch, steps, inputs, hidden };

    public static IEnumerable<object[]> GradientShapes() =>
        from cell in Enum.GetValues<RecurrentCell>()
        from outputs in Outputs
        from shape in new[] { (1, 1, 3, 1), (2, 4, 3, 5), (3, 5, 17, 7) }
        select new object[] { cell, outputs, shape.Item1, shape.Item2, shape.Item3, shape.Item4 };

    [Theory]
    [MemberData(nameof(OddShapes))]
    public void Forward_matches_the_scalar_reference(RecurrentCell cell, int batch, int steps, int inputs, int hidden)
    {
        // Odd batches start from a given state, the others from zero.
        var problem = RecurrentProblem.Random(cell, new RecurrentShape(batch, steps, inputs, hidden), seed: (batch * 1000) + (steps * 100) + (inputs * 10) + hidden, initialState: batch == 3);
        var workspace = new float[problem.WorkspaceLength];
        foreach (var outputs in Outputs)
        {
            var output = new float[problem.OutputLength(outputs)];
            problem.Forward(outputs, output, workspace);
            AssertClose(problem.Reference(outputs), output, 2e-5, $"{problem} {outputs}");
        }
    }

    [Theory]
    [MemberData(nameof(GradientShapes))]
    public void Backward_through_time_matches_finite_differences(RecurrentCell cell, RecurrentOutput outputs, int batch, int steps, int inputs, int hidden)
    {
        var problem = RecurrentProblem.Random(cell, new RecurrentShape(batch, steps, inputs, hidden), seed: 7 + steps, initialState: true);
        var random = new Random(11);
        var outputGradient = Enumerable.Range(0, problem.OutputLength(outputs)).Select(_ => (float)((2 * random.NextDouble()) - 1)).ToArray();
        var workspace = new float[problem.WorkspaceLength];
        problem.Forward(outputs, new float[outputGradient.Length], workspace);

        // Parameter gradients start at 1 (they are added to); the input's and the state's at NaN (they are overwritten).
        var gradients = problem.NewGradients();
        for (var k = 0; k < gradients.Length; k++)
        {
            Array.Fill(gradients[k], k is >= 1 and <= 4 ? 1f : float.NaN);
        }

        problem.Backward(outputs, outputGradient, workspace, gradients);

        // L = Σ outputGradient ⊙ output, differentiated by central differences of the double-precision reference.
        var tensors = problem.Tensors.Select(t => t.Select(v => (double)v).ToArray()).ToArray();
        double Loss() => problem.Reference(outputs, tensors).Select((y, j) => y * outputGradient[j]).Sum();
        const double Step = 1e-5;
        for (var k = 0; k < tensors.Length; k++)
        {
            var expected = new double[tensors[k].Length];
            for (var j = 0; j < expected.Length; j++)
            {
                var value = tensors[k][j];
                tensors[k][j] = value + Step;
                var above = Loss();
                tensors[k][j] = value - Step;
                var below = Loss();
                tensors[k][j] = value;
                expected[j] = ((above - below) / (2 * Step)) + (k is >= 1 and <= 4 ? 1 : 0);
            }

            AssertClose(expected, gradients[k], 1e-4, $"{problem} {outputs}: ∂L/∂{RecurrentProblem.TensorNames[k]}", relative: 1e-3);
        }
    }

    [Theory]
    [InlineData(RecurrentCell.Lstm, 1)]
    [InlineData(RecurrentCell.Lstm, 3)]
    [InlineData(RecurrentCell.Gru, 1)]
    [InlineData(RecurrentCell.Gru, 3)]
    public void One_step_at_a_time_gives_the_training_forward_outputs(RecurrentCell cell, int batch)
    {
        var shape = new RecurrentShape(batch, 5, 17, 33);
        var problem = RecurrentProblem.Random(cell, shape, seed: 3, initialState: true);
        var expected = new float[problem.OutputLength(RecurrentOutput.Sequence)];
        problem.Forward(RecurrentOutput.Sequence, expected, new float[problem.WorkspaceLength]);

        var hiddenState = problem.Tensors[5].ToArray();
        var cellState = problem.Tensors[6].ToArray();
        var input = new float[batch * shape.Inputs];
        var scratch = new float[cell == RecurrentCell.Lstm ? Recurrent.LstmStepScratchLength(batch, shape.Hidden) : Recurrent.GruStepScratchLength(batch, shape.Hidden)];
        for (var t = 0; t < shape.Steps; t++)
        {
            for (var b = 0; b < batch; b++)
            {
                problem.Tensors[0].AsSpan(((b * shape.Steps) + t) * shape.Inputs, shape.Inputs).CopyTo(input.AsSpan(b * shape.Inputs));
            }

            if (cell == RecurrentCell.Lstm)
            {
                Recurrent.LstmStep(batch, shape.Inputs, shape.Hidden, input, problem.Weights, hiddenState, cellState, scratch);
            }
            else
            {
                Recurrent.GruStep(batch, shape.Inputs, shape.Hidden, input, problem.Weights, hiddenState, scratch);
            }

            for (var b = 0; b < batch; b++)
            {
                var trained = expected.AsSpan(((b * shape.Steps) + t) * shape.Hidden, shape.Hidden).ToArray();
                AssertClose(trained.Select(v => (double)v).ToArray(), hiddenState.AsSpan(b * shape.Hidden, shape.Hidden).ToArray(), 1e-6, $"{cell} step {t} sequence {b}");
            }
        }
    }

    [Theory]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    public void Nothing_is_allocated_once_warm(RecurrentCell cell)
    {
        var problem = RecurrentProblem.Random(cell, new RecurrentShape(4, 6, 20, 24), seed: 5, initialState: true);
        var output = new float[problem.OutputLength(RecurrentOutput.Sequence)];
        var workspace = new float[problem.WorkspaceLength];
        var gradients = problem.NewGradients();
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            problem.Forward(RecurrentOutput.Sequence, output, workspace);
            problem.Backward(RecurrentOutput.Sequence, output, workspace, gradients);
        });

        var state = new float[4 * 24];
        var cellState = new float[4 * 24];
        var input = new float[4 * 20];
        var scratch = new float[Recurrent.LstmStepScratchLength(4, 24)];
        AllocationAssert.NoneAfterWarmUp(() =>
        {
            if (cell == RecurrentCell.Lstm)
            {
                Recurrent.LstmStep(4, 20, 24, input, problem.Weights, state, cellState, scratch);
            }
            else
            {
                Recurrent.GruStep(4, 20, 24, input, problem.Weights, state, scratch.AsSpan(0, Recurrent.GruStepScratchLength(4, 24)));
            }
        });
    }

    [Fact]
    public void Wrong_lengths_and_sizes_are_refused_with_the_parameter_named()
    {
        var shape = new RecurrentShape(2, 3, 4, 5);
        var problem = RecurrentProblem.Random(RecurrentCell.Lstm, shape, seed: 1, initialState: false);
        var t = problem.Tensors;
        var workspace = new float[problem.WorkspaceLength];
        var output = new float[2 * 3 * 5];
        void Forward(float[] input, float[] weightHh, float[] outputSpan, float[] work, float[] h0) =>
            Recurrent.LstmForward(shape, input, new RecurrentWeights(t[1], weightHh, t[3], t[4]), outputSpan, RecurrentOutput.Sequence, work, h0);

        Assert.Equal("input", Assert.Throws<ArgumentException>(() => Forward(new float[23], t[2], output, workspace, [])).ParamName);
        Assert.Equal("weightHh", Assert.Throws<ArgumentException>(() => Forward(t[0], new float[20 * 4], output, workspace, [])).ParamName);
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => Forward(t[0], t[2], new float[10], workspace, [])).ParamName);
        Assert.Equal("workspace", Assert.Throws<ArgumentException>(() => Forward(t[0], t[2], output, new float[workspace.Length - 1], [])).ParamName);
        Assert.Equal("initialHidden", Assert.Throws<ArgumentException>(() => Forward(t[0], t[2], output, workspace, new float[5])).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.GruWorkspaceLength(shape with { Batch = 0 }));

        Forward(t[0], t[2], output, workspace, []);
        var g = problem.NewGradients();
        void Backward(float[] biasIhGradient, RecurrentOutput outputs) => Recurrent.LstmBackward(
            shape, t[0], problem.Weights, output, outputs, workspace, g[0], new RecurrentGradients(g[1], g[2], biasIhGradient, g[4]));

        Assert.Equal("biasIhGradient", Assert.Throws<ArgumentException>(() => Backward(new float[19], RecurrentOutput.Sequence)).ParamName);
        Assert.Equal("outputGradient", Assert.Throws<ArgumentException>(() => Backward(g[3], RecurrentOutput.LastState)).ParamName);
        Assert.Equal("cellState", Assert.Throws<ArgumentException>(() =>
            Recurrent.LstmStep(2, 4, 5, new float[8], problem.Weights, new float[10], new float[9], new float[Recurrent.LstmStepScratchLength(2, 5)])).ParamName);
    }

    internal static void AssertClose(double[] expected, float[] actual, double tolerance, string what, double relative = 0)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var allowed = tolerance + (relative * Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= allowed, $"{what}[{i}]: expected {expected[i]}, got {actual[i]} (allowed {allowed:0.0e+0})");
        }
    }
}

/// <summary>The recurrent kernels give the same bits on one thread and on several.</summary>
[Collection(KernelThreadsCollection.Name)]
[Trait("Category", "Kernels")]
public sealed class RecurrentThreadTests : IDisposable
{
    private readonly int _previous = KernelSettings.MaxThreads;

    public void Dispose() => KernelSettings.MaxThreads = _previous;

    [Theory]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    public void Forward_and_backward_give_the_same_bits_on_any_thread_count(RecurrentCell cell)
    {
        // Large enough for the products to be split: the projection is 96 × 4·96 × 96, ∂W_hh 4·96 × 96 × 96 deep.
        var problem = RecurrentProblem.Random(cell, new RecurrentShape(16, 6, 96, 96), seed: 9, initialState: true, scale: 0.1f);
        float[][] Run(int threads)
        {
            KernelSettings.MaxThreads = threads;
            var output = new float[problem.OutputLength(RecurrentOutput.Sequence)];
            var workspace = new float[problem.WorkspaceLength];
            var gradients = problem.NewGradients();
            problem.Forward(RecurrentOutput.Sequence, output, workspace);
            problem.Backward(RecurrentOutput.Sequence, output, workspace, gradients);
            return [output, .. gradients];
        }

        var single = Run(1);
        foreach (var threads in new[] { 2, 3 })
        {
            var split = Run(threads);
            for (var k = 0; k < single.Length; k++)
            {
                Assert.True(single[k].AsSpan().SequenceEqual(split[k]), $"{cell} on {threads} threads: tensor {k} differs from one thread");
            }
        }
    }
}
