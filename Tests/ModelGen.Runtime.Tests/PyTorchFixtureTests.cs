using System;
using System.IO;
using System.Linq;
using ModelGen.Samples.FashionMnist;
using ModelGen.Serialization;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Weights from real PyTorch: state_dicts that torch 1.13 wrote (Tests/Fixtures/pytorch_fixtures.py, committed under
/// Fixtures/), loaded by ModelGen's own loader with no conversion, predict what PyTorch predicted. No PyTorch needed.
/// </summary>
public sealed class PyTorchFixtureTests(ITestOutputHelper output)
{
    /// <summary>Absolute for probabilities (and any value up to 1), relative above.</summary>
    private const double Tolerance = 1e-5;

    private static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", file);

    [Theory]
    [MemberData(nameof(TorchCase.FixtureNames), MemberType = typeof(TorchCase))]
    public void A_PyTorch_state_dict_loads_and_predicts_what_PyTorch_predicted(string name)
    {
        var torch = TorchCase.Named(name);
        var model = torch.Load(Fixture(name + ".safetensors"));
        var io = TensorFile.Read(Fixture(name + ".io.safetensors"));
        var inputs = io["inputs"].Singles();
        var expected = io["outputs"].Singles();
        var samples = io["inputs"].Shape[0];
        Assert.Equal([samples, .. torch.InputShape], io["inputs"].Shape);
        Assert.Equal([samples, model.OutputSize], io["outputs"].Shape);
        Assert.Equal(model.Loss == Loss.BinaryCrossEntropy ? "sigmoid" : "softmax", io.Metadata["output"]);

        var batch = new float[expected.Length];
        model.PredictBatch(inputs, batch);
        var single = new float[expected.Length];
        for (var n = 0; n < samples; n++)
        {
            model.Predict(inputs.AsSpan(n * model.InputSize, model.InputSize), single.AsSpan(n * model.OutputSize, model.OutputSize));
        }

        var batchError = MaxError(expected, batch);
        var singleError = MaxError(expected, single);
        output.WriteLine($"{name}: {samples} samples × {model.OutputSize}, max difference from PyTorch {batchError:0.00e+0} (PredictBatch), {singleError:0.00e+0} (Predict)");
        Assert.True(batchError <= Tolerance, $"{name}: PredictBatch differs from PyTorch by {batchError}");
        Assert.True(singleError <= Tolerance, $"{name}: Predict differs from PyTorch by {singleError}");

        // Not a trivial agreement: the probabilities are not uniform, and the samples are told apart.
        Assert.True(expected.Max() - expected.Min() > 0.05f, $"{name}: PyTorch's outputs are nearly constant");
    }

    [Theory]
    [MemberData(nameof(TorchCase.FixtureNames), MemberType = typeof(TorchCase))]
    public void Saving_a_loaded_PyTorch_state_dict_writes_it_back_unchanged(string name)
    {
        var torch = TorchCase.Named(name);
        var model = torch.Load(Fixture(name + ".safetensors"));
        using var saved = new MemoryStream();
        SafeTensors.Write(model, saved);

        var original = TensorFile.Read(Fixture(name + ".safetensors"));
        var again = TensorFile.Parse(saved.ToArray());
        Assert.Equal(original.Tensors.Select(t => t.Name), again.Tensors.Select(t => t.Name)); // the state_dict's order too
        foreach (var (tensorName, tensor) in original.Tensors)
        {
            var written = again[tensorName];
            Assert.Equal(tensor.DType, written.DType);
            Assert.Equal(tensor.Shape, written.Shape);
            Assert.True(tensor.Data.AsSpan().SequenceEqual(written.Data), $"{name}: {tensorName} changed on the way through ModelGen");
        }
    }

    [Theory]
    [InlineData("bn-cnn", 2)]
    [InlineData("mixed-cnn", 1)]
    [InlineData("pooled-net", 1)]
    [InlineData("res-net", 6)]
    public void Batch_normalization_reads_PyTorch_running_statistics_and_counter(string name, int layers)
    {
        var file = TensorFile.Read(Fixture(name + ".safetensors"));
        var model = TorchCase.Named(name).Load(Fixture(name + ".safetensors"));

        var counters = file.Tensors.Where(t => t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToArray();
        Assert.Equal(layers, counters.Length);
        Assert.All(counters, c => Assert.Equal(("I64", 0), (c.Tensor.DType, c.Tensor.Shape.Length)));
        Assert.Equal(3L, BitConverter.ToInt64(counters[0].Tensor.Data)); // three train-mode passes in the script
        Assert.Equal(3L, model.BatchesTracked);

        // The fixture's running statistics are not the defaults a missed load would leave.
        var variances = file.Tensors.Where(t => t.Name.EndsWith(".running_var", StringComparison.Ordinal)).SelectMany(t => t.Tensor.Singles()).ToArray();
        Assert.DoesNotContain(1f, variances);
        foreach (var tensor in model.ParameterTensors.Where(t => t.InState && !t.IsBatchCounter))
        {
            var loaded = new float[tensor.Length];
            tensor.CopyToFileOrder(model.State, loaded);
            Assert.Equal(file[tensor.Name].Singles(), loaded);
        }
    }

    [Fact]
    public void A_file_named_the_old_way_is_refused_with_the_missing_tensor_named()
    {
        // Before files were state_dicts, a layer's index counted only ModelGen's layers (not the ReLU modules), so
        // the sample's second and third dense layers were layers.2 and layers.4 instead of layers.3 and layers.6.
        var file = TensorFile.Read(Fixture("fashion-mlp.safetensors"));
        var old = file.Renamed(n => n.Replace("layers.3.", "layers.2.", StringComparison.Ordinal).Replace("layers.6.", "layers.4.", StringComparison.Ordinal)).ToBytes();
        var model = new FashionMlp(seed: 5);
        var before = model.Parameters.ToArray();

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(model, old, "old-names.safetensors"));

        output.WriteLine(error.Message);
        Assert.Contains("'old-names.safetensors'", error.Message);
        Assert.Contains(nameof(FashionMlp), error.Message);
        Assert.Contains("'layers.3.weight'", error.Message);
        // The message points at the file's tensor of that shape under its old name.
        Assert.Contains("the file's 'layers.2.weight' has its shape [128, 256]", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());

        // The same file with the names as PyTorch writes them loads.
        SafeTensors.Read(model, file.ToBytes(), "fashion-mlp.safetensors");
    }

    [Fact]
    public void A_CNN_file_named_the_old_way_is_refused_too()
    {
        // TorchBatchNormCnn counted the old way: conv 0, batch norm 1, pool 2, conv 3, batch norm 4, pool 5, flatten 6,
        // dense 7, dropout 8, dense 9; PyTorch's nn.Sequential has them at 0, 2, 3, 4, 6, 7, 8, 9, 11, 12.
        int[] now = [0, 2, 4, 6, 9, 12];
        int[] then = [0, 1, 3, 4, 7, 9];
        var file = TensorFile.Read(Fixture("bn-cnn.safetensors"));
        var old = file.Renamed(n =>
        {
            var index = int.Parse(n.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture);
            return $"layers.{then[Array.IndexOf(now, index)]}.{n.Split('.', 3)[2]}";
        });
        Assert.Contains(old.Tensors, t => t.Name == "layers.1.running_var");

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new TorchBatchNormCnn(), old.ToBytes(), "old-cnn.safetensors"));

        output.WriteLine(error.Message);
        Assert.Contains("'layers.2.weight'", error.Message);
        Assert.Contains(nameof(TorchBatchNormCnn), error.Message);
    }

    /// <summary>The largest difference, absolute where the expected value is at most 1 in size and relative above.</summary>
    internal static double MaxError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"output {i} is {actual[i]}");
            worst = Math.Max(worst, Math.Abs(actual[i] - (double)expected[i]) / Math.Max(1.0, Math.Abs(expected[i])));
        }

        return worst;
    }
}
