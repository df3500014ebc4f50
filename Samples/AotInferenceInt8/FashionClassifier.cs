using ModelGen;

namespace ModelGen.Samples.AotInferenceInt8;

/// <summary>
/// The Fashion-MNIST sample's MLP (784 → 256 → 128 → 10) with the weights Samples/AotInference bakes in
/// (<c>fashion-mlp.safetensors</c>, float; test accuracy 0.8910 there): <c>new FashionClassifier()</c> is the trained
/// model, and its generated <c>Quantize()</c> makes the int8 predictor this program classifies with.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "fashion-mlp.safetensors")]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionClassifier;
