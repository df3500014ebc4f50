using System;
using System.Globalization;
using System.Linq;
using ModelGen;

// Fifty Adam steps of a small CNN on fixed inputs, then the loss and a checksum of the parameters: CI compares the
// NativeAOT executable's line with the JIT's (both AVX2, one thread, so the same bits).
ModelGen.Kernels.KernelSettings.MaxThreads = 1;
var model = new ProbeCnn(seed: 1);
var inputs = new float[8 * ProbeCnn.InputSize];
for (var i = 0; i < inputs.Length; i++)
{
    inputs[i] = (i % 17) / 17f;
}

var labels = Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray();
var adam = new Adam(1e-2f);
var loss = 0f;
for (var step = 0; step < 50; step++)
{
    loss = model.TrainStep(inputs, labels);
    adam.Step(model.Parameters, model.Gradients);
}

var checksum = 0.0;
foreach (var value in model.Parameters)
{
    checksum += value;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss={loss:R} checksum={checksum:R}"));

/// <summary>Every convolution path: channels-first input, same padding, pooling, a channels-last convolution with GELU, flatten, dense.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2, 12, 12)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(6, 3, Activation = Activation.Gelu)]
[Flatten]
[Dense(3)]
public partial class ProbeCnn;
