using System;
using System.Linq;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// <c>UseBias = false</c> on dense and convolution layers: no bias parameter anywhere (count, tensors, file, remarks),
/// and none in effect either, however long the model trains.
/// </summary>
public class UseBiasTests
{
    private const string Declaration = """
        using ModelGen;
        [Model(Loss = Loss.MeanSquaredError)]
        [Input(1, 5, 5)]
        [Conv2D(3, 3, Padding = Padding.Same, Activation = Activation.Relu, UseBias = false)]
        [Flatten]
        [Dense(6, Activation.Relu, UseBias = false)]
        [Dense(2, UseBias = false)]
        public partial class NoBias;
        """;

    [Fact]
    public void A_layer_without_a_bias_has_no_bias_parameter()
    {
        var (result, _) = GeneratorHarness.Run(Declaration);
        var source = result.Results.Single().GeneratedSources.Single().SourceText.ToString();
        var model = Create();

        Assert.Equal((9 * 3) + (75 * 6) + (6 * 2), model.ParameterCount);
        Assert.Equal(["layers.0.weight", "layers.3.weight", "layers.5.weight"], model.ParameterTensors.Select(t => t.Name));
        Assert.Contains("nn.Conv2d(1, 3, 3, padding=1, bias=False),", source, StringComparison.Ordinal);
        Assert.Contains("nn.Linear(75, 6, bias=False),", source, StringComparison.Ordinal);
        Assert.DoesNotContain("public global::System.Span<float> Dense1Bias", source, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_biases_a_zero_input_gives_zero_outputs_after_training()
    {
        // With ReLU and linear layers and no bias anywhere, the network is positively homogeneous: f(0) = 0 exactly,
        // whatever the weights. A bias that crept in (read from the parameters, or trained by its gradient) breaks it.
        var model = Create();
        var random = new Random(3);
        var inputs = Enumerable.Range(0, 8 * 25).Select(_ => random.NextSingle()).ToArray();
        var targets = Enumerable.Range(0, 8 * 2).Select(_ => 1f + random.NextSingle()).ToArray();
        model.Fit(new Dataset(inputs, 25, targets, 2), new FitOptions { Epochs = 30, BatchSize = 4, Optimizer = new AdamW(0.01f) });

        var output = new float[2];
        model.Predict(new float[25], output);
        Assert.Equal([0f, 0f], output);
        model.Predict(inputs.AsSpan(0, 25), output);
        Assert.NotEqual([0f, 0f], output);
    }

    [Fact]
    public void A_saved_model_without_biases_loads_back()
    {
        var model = Create();
        using var stream = new System.IO.MemoryStream();
        ModelGen.Serialization.SafeTensors.Write(model, stream);
        var loaded = Create(seed: 9);
        ModelGen.Serialization.SafeTensors.Read(loaded, stream.ToArray(), "nobias.safetensors");

        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
    }

    private static ITrainableModel Create(int seed = 1) =>
        (ITrainableModel)Activator.CreateInstance(GeneratorHarness.BuildAndLoad(Declaration).GetType("NoBias")!, seed)!;
}
