using System;
using System.IO;
using System.Linq;
using ModelGen.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The recurrent kernels against real PyTorch: torch.nn.LSTM and torch.nn.GRU's outputs and gradients on a fixed
/// problem, written by Tests/Fixtures/recurrent_fixtures.py into Fixtures/recurrent.safetensors (committed; no PyTorch
/// needed). The state_dict's tensors are used as they are: no conversion of layout or gate order.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class RecurrentFixtureTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    public void Forward_and_backward_match_PyTorch(RecurrentCell cell)
    {
        var file = TensorFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "recurrent.safetensors"));
        var prefix = cell == RecurrentCell.Lstm ? "lstm." : "gru.";
        float[] Tensor(string name) => file[prefix + name].Singles();
        var inputShape = file[prefix + "input"].Shape;
        var hidden = file[prefix + "h0"].Shape[1];
        var shape = new RecurrentShape(inputShape[0], inputShape[1], inputShape[2], hidden);
        var lstm = cell == RecurrentCell.Lstm;
        var problem = new RecurrentProblem(cell, shape,
        [
            Tensor("input"), Tensor("weight_ih_l0"), Tensor("weight_hh_l0"), Tensor("bias_ih_l0"), Tensor("bias_hh_l0"), Tensor("h0"), lstm ? Tensor("c0") : [],
        ]);
        Assert.Equal([problem.Gates * hidden, shape.Inputs], file[prefix + "weight_ih_l0"].Shape);

        var workspace = new float[problem.WorkspaceLength];
        var actual = new float[problem.OutputLength(RecurrentOutput.Sequence)];
        problem.Forward(RecurrentOutput.Sequence, actual, workspace);
        Compare("output", Tensor("output"), actual);

        var gradients = problem.NewGradients();
        problem.Backward(RecurrentOutput.Sequence, Tensor("grad_output"), workspace, gradients);
        string[] names = ["grad_input", "grad_weight_ih_l0", "grad_weight_hh_l0", "grad_bias_ih_l0", "grad_bias_hh_l0", "grad_h0", "grad_c0"];
        for (var k = 0; k < (lstm ? names.Length : names.Length - 1); k++)
        {
            Compare(names[k], Tensor(names[k]), gradients[k]);
        }

        void Compare(string name, float[] expected, float[] values)
        {
            var error = expected.Zip(values, (e, v) => Math.Abs(e - v) / Math.Max(1, Math.Abs(e))).Max();
            output.WriteLine($"{prefix}{name}: {expected.Length} values, max difference from PyTorch {error:0.00e+0}");
            Assert.True(error <= Tolerance, $"{prefix}{name} differs from PyTorch by {error}");
            Assert.True(expected.Max() - expected.Min() > 0.05f, $"{prefix}{name} is nearly constant");
        }
    }
}
