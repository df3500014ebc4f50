using ModelGen;

namespace ModelGen.Samples.AotInferenceInt8;

/// <summary>
/// The Fashion-MNIST sample's MLP (784 → 256 → 128 → 10) with the weights Samples/AotInference bakes in
/// (<c>fashion-mlp.safetensors</c>, float; test accuracy 0.8910 there), quantized to int8 by the generator when the
/// program is compiled: the generated <c>FashionClassifier.CreateInt8Predictor()</c> reads only the int8 weights and
/// their scales, and since this program never constructs the float model, NativeAOT leaves the float weights out.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "fashion-mlp.safetensors", Quantize = QuantizationMode.Dynamic)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionClassifier;
