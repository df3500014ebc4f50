using System.Globalization;

namespace ModelGen.Samples.LinearRegression;

/// <summary>The result of the example: the learned line and its final training error.</summary>
public sealed record ExampleResult(LinearRegression Model, float Weight, float Bias, float Loss)
{
    /// <summary>The sample's last line: <c>w=… b=… loss=…</c> with 4 decimals.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"w={Weight:F4} b={Bias:F4} loss={Loss:F4}");
}

/// <summary>The Keras linear-regression example, step for step.</summary>
public static class Example
{
    public const int Samples = 100;
    public const int Epochs = 1000;

    /// <summary>X: 100 values uniform in [0, 1); y = 3·X + U[0, 1) noise.</summary>
    public static Dataset MakeData(int seed)
    {
        var random = new SeededRandom(seed);
        var x = new float[Samples];
        var y = new float[Samples];
        for (var i = 0; i < Samples; i++)
        {
            x[i] = random.NextSingle();
            y[i] = (3f * x[i]) + random.NextSingle();
        }

        return new Dataset(x, LinearRegression.InputSize, y, LinearRegression.OutputSize);
    }

    /// <summary>Fits the model with SGD (learning rate 0.01, batch 32) for 1000 epochs and reports the line it found.</summary>
    public static ExampleResult Run(int seed = 42)
    {
        var data = MakeData(seed);
        var model = new LinearRegression(seed);
        model.Fit(data, new FitOptions { Epochs = Epochs, BatchSize = 32, Optimizer = new Sgd(0.01f), Seed = seed });
        var final = model.Evaluate(data);
        return new ExampleResult(model, model.Dense1Weights[0], model.Dense1Bias[0], final.Loss);
    }
}
