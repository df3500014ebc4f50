using System;
using System.IO;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// ModelGen → PyTorch, the half that needs PyTorch to judge: each model trains a few steps, saves itself with
/// <c>Save</c>, and writes inputs and its <c>PredictBatch</c> outputs beside the file. With
/// MODELGEN_PYTORCH_EXPORT_DIR set (by .ci/pytorch-check) the files go there, and
/// <c>Tests/Fixtures/pytorch_fixtures.py check</c> loads each into its PyTorch module with strict=True and compares.
/// Without it they go to a temporary folder, and the test still checks what needs no PyTorch: the file is written,
/// names every tensor as the module's state_dict does, and loads back into a model that predicts the same bits.
/// </summary>
public sealed class PyTorchExportTests(ITestOutputHelper output)
{
    public const string ExportDirectoryVariable = "MODELGEN_PYTORCH_EXPORT_DIR";

    private const int Samples = 4;
    private const int Steps = 5;
    private const int BatchSize = 16;

    [Theory]
    [MemberData(nameof(TorchCase.Names), MemberType = typeof(TorchCase))]
    public void A_trained_model_is_saved_with_its_predictions_for_PyTorch(string name)
    {
        var torch = TorchCase.Named(name);
        var exportDirectory = Environment.GetEnvironmentVariable(ExportDirectoryVariable);
        var directory = string.IsNullOrEmpty(exportDirectory) ? Directory.CreateTempSubdirectory("modelgen-torch-").FullName : exportDirectory;
        Directory.CreateDirectory(directory);
        try
        {
            var model = torch.Create(7);
            var random = new Random(11);
            var optimizer = new Adam(3e-3f);
            var losses = new float[Steps];
            for (var step = 0; step < Steps; step++)
            {
                // Inputs with an offset and a scale, so that batch normalization's running statistics move far from 0 and 1.
                var inputs = Gaussian(random, BatchSize * model.InputSize, mean: 0.3f, deviation: 1.2f);
                var targets = model.Loss == Loss.BinaryCrossEntropy
                    ? Enumerable.Range(0, BatchSize * model.OutputSize).Select(_ => (float)random.Next(2)).ToArray()
                    : Enumerable.Range(0, BatchSize).Select(_ => (float)random.Next(model.OutputSize)).ToArray();
                losses[step] = model.TrainStep(inputs, targets);
                optimizer.Step(model.Parameters, model.Gradients);
            }

            var hasBatchNorm = model.ParameterTensors.Any(t => t.IsBatchCounter);
            Assert.Equal(hasBatchNorm ? Steps : 0, model.BatchesTracked);

            var path = Path.Combine(directory, name + ".safetensors");
            torch.Save(model, path);
            var samples = Gaussian(random, Samples * model.InputSize, mean: 0f, deviation: 1f);
            var predictions = new float[Samples * model.OutputSize];
            model.PredictBatch(samples, predictions);
            new TensorFile { Metadata = { ["format"] = "pt", ["producer"] = "ModelGen", ["model"] = model.GetType().Name } }
                .AddSingles("inputs", [Samples, .. torch.InputShape], samples)
                .AddSingles("outputs", [Samples, model.OutputSize], predictions)
                .Write(Path.Combine(directory, name + ".io.safetensors"));

            // Checked here without PyTorch: the file is there, holds the state_dict's names in order (an I64
            // num_batches_tracked per batch normalization), and loads back into a model that predicts the same bits.
            var file = TensorFile.Read(path);
            Assert.Equal(model.ParameterTensors.Select(t => t.Name), file.Tensors.Select(t => t.Name));
            Assert.All(file.Tensors, t => Assert.Equal(t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal) ? "I64" : "F32", t.Tensor.DType));
            // A tensor inside a residual connection is under its Residual module's branch or shortcut nn.Sequential.
            Assert.All(file.Tensors, t => Assert.Matches(@"^layers\.\d+\.((branch|shortcut)\.\d+\.)*(weight|bias|running_mean|running_var|num_batches_tracked)$", t.Name));
            var loaded = torch.Load(path);
            var again = new float[predictions.Length];
            loaded.PredictBatch(samples, again);
            Assert.Equal(predictions, again);
            Assert.Equal(model.BatchesTracked, loaded.BatchesTracked);
            output.WriteLine($"{name}: trained {Steps} steps (loss {losses[0]:0.000} → {losses[^1]:0.000}), saved {new FileInfo(path).Length} bytes to {(string.IsNullOrEmpty(exportDirectory) ? "a temporary folder" : directory)}");
        }
        finally
        {
            if (string.IsNullOrEmpty(exportDirectory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static float[] Gaussian(Random random, int count, float mean, float deviation)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            // Box–Muller; 1 − u keeps the logarithm's argument above zero.
            var radius = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble()));
            values[i] = mean + (deviation * (float)(radius * Math.Cos(2 * Math.PI * random.NextDouble())));
        }

        return values;
    }
}
