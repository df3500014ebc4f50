using ModelGen;

namespace ModelGen.Samples.AotInference;

/// <summary>
/// The Fashion-MNIST sample's MLP (784 → 256 → 128 → 10), with the weights it trained baked in:
/// <c>new FashionClassifier()</c> is the trained model. Retrain and replace the file with
/// <c>dotnet run -c Release --project Samples/FashionMnist -- --standardize false --learning-rate 0.002 --save Samples/AotInference/fashion-mlp.safetensors</c>
/// (this program feeds it pixels / 255, as those settings train it; test accuracy 0.8910 with seed 1).
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "fashion-mlp.safetensors")]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionClassifier;
