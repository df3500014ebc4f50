using ModelGen;

namespace ModelGen.Samples.FashionMnist;

/// <summary>
/// A small convolutional network for the same images (<c>--model cnn</c>): two 3×3 convolutions with "same" padding,
/// each followed by 2×2 max pooling, then a dense layer with dropout and the 10 classes.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dense(64, Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class FashionCnn;
