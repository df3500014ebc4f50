using ModelGen;

namespace ModelGen.Samples.FashionMnist;

/// <summary>
/// The classic Fashion-MNIST MLP: 784 pixels → 256 → 128 → 10 classes, ReLU, dropout 0.2 after each hidden layer,
/// softmax cross-entropy fused into the last layer's backward pass.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionMlp;
