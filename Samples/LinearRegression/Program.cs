using System;
using ModelGen.Samples.LinearRegression;

Console.WriteLine($"Learning y = 3x + U[0, 1) from {Example.Samples} samples: {Example.Epochs} epochs of SGD (lr 0.01, batch 32).");
var result = Example.Run(seed: 42);

Span<float> prediction = stackalloc float[LinearRegression.OutputSize];
foreach (var x in new[] { 0f, 0.5f, 1f })
{
    result.Model.Predict([x], prediction);
    Console.WriteLine(FormattableString.Invariant($"predict({x:F1}) = {prediction[0]:F4}   (the true line with mean noise: {(3 * x) + 0.5f:F4})"));
}

Console.WriteLine(result);
