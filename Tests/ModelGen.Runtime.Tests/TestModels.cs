namespace ModelGen.Runtime.Tests;

/// <summary>A small classifier-shaped regression model with both an unrolled-sized and vector-loop layers.</summary>
[Model(Loss = Loss.MeanSquaredError)]
[Input(20)]
[Dense(33, Activation.Relu)]
[Dense(17, Activation.Tanh)]
[Dense(3, Activation.Sigmoid)]
public partial class SmallMlp;

/// <summary>The Keras example's shape: one input, one output.</summary>
[Model]
[Input(1)]
[Dense(1)]
public partial class Line;

/// <summary>Wide enough that its products are split between two threads (more than 2²⁰ multiply-adds at batch 32).</summary>
[Model]
[Input(256)]
[Dense(256, Activation.Relu)]
[Dense(10)]
public partial class WideMlp;

/// <summary>The Fashion-MNIST MLP with dropout, on fewer pixels: classification with every new piece in the path.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(64)]
[Dense(48, Activation.Relu)]
[Dropout(0.5f)]
[Dense(32, Activation.Relu)]
[Dense(4)]
public partial class DropoutClassifier;

/// <summary>The Fashion-MNIST MLP of the sample: 784-256-128-10, ReLU, dropout 0.2.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(256, Activation.Relu)]
[Dropout(0.2f)]
[Dense(128, Activation.Relu)]
[Dropout(0.2f)]
[Dense(10)]
public partial class FashionClassifier;

/// <summary>Batch normalization between dense layers: running statistics in the model's state.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(12)]
[Dense(16, Activation.Relu)]
[BatchNorm(Momentum = 0.9f)]
[Dense(3)]
public partial class BatchNormClassifier;

/// <summary>
/// Batch normalization of an image, per channel: a 1 × 1 pooling copies the input channels-last unchanged, so the
/// statistics can be checked against the input itself. Momentum 0 makes the running statistics the last batch's.
/// </summary>
[Model(Loss = Loss.MeanSquaredError)]
[Input(3, 4, 5)]
[MaxPool2D(1)]
[BatchNorm(Momentum = 0f)]
[Flatten]
[Dense(2)]
public partial class ChannelNormalizer;

/// <summary>Everything a checkpoint must carry: batch-norm running statistics and a dropout random stream.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(12)]
[Dense(24, Activation.Relu)]
[BatchNorm]
[Dropout(0.3f)]
[Dense(3)]
public partial class ResumableClassifier;

/// <summary>
/// The architecture of <see cref="BakedClassifier"/> without baked weights: the file Weights/baked-classifier.safetensors
/// was saved from <c>new ClassifierToBake(seed: 42)</c> with its running statistics set to 0.5 + (i mod 7) / 8.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(20)]
[Dense(33, Activation.Relu)]
[BatchNorm]
[Dense(17, Activation.Tanh)]
[Dense(3)]
public partial class ClassifierToBake;

/// <summary>The same network with that file baked in by the compiler (an AdditionalFiles item of this project).</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "Weights/baked-classifier.safetensors")]
[Input(20)]
[Dense(33, Activation.Relu)]
[BatchNorm]
[Dense(17, Activation.Tanh)]
[Dense(3)]
public partial class BakedClassifier;

/// <summary>The same network and file, quantized to int8 by the generator at build time (its batch normalization, after a ReLU, stays in float).</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy, Weights = "Weights/baked-classifier.safetensors", Quantize = QuantizationMode.Dynamic)]
[Input(20)]
[Dense(33, Activation.Relu)]
[BatchNorm]
[Dense(17, Activation.Tanh)]
[Dense(3)]
public partial class BakedInt8Classifier;

/// <summary>A small convolutional network for 28×28 images: every convolution path (same padding, pooling, flatten) in a classifier.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Conv2D(16, 3, Activation = Activation.Relu)]
[MaxPool2D(2)]
[Flatten]
[Dropout(0.25f)]
[Dense(10)]
public partial class SmallCnn;

/// <summary>
/// The newer way to build a small convolutional classifier: batch normalization per channel after each convolution,
/// average pooling, and a global average instead of a flatten into the classifier.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm(Momentum = 0.9f)]
[AvgPool2D(2)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm(Momentum = 0.9f)]
[GlobalAvgPool2D]
[Dense(10)]
public partial class NormalizedCnn;

/// <summary>Two independent yes/no outputs (multi-label classification): binary cross-entropy with the sigmoid fused.</summary>
[Model(Loss = Loss.BinaryCrossEntropy)]
[Input(6)]
[Dense(8, Activation.Relu)]
[Dense(2)]
public partial class TwoLabelClassifier;

/// <summary>
/// A two-spirals classifier as users write it: two inputs, two hidden layers, sigmoid cross-entropy. Its first layer
/// runs as vector loops, the second and the output layer as GEMMs; 20 units leave a partial panel on every vector
/// width (AVX-512's 32 columns, AVX2's 16, SSE's 8).
/// </summary>
[Model(Loss = Loss.BinaryCrossEntropy)]
[Input(2)]
[Dense(20, Activation.Relu)]
[Dense(20, Activation.Relu)]
[Dense(1)]
public partial class SpiralRelu;

/// <summary>The two-spirals classifier with tanh hidden layers.</summary>
[Model(Loss = Loss.BinaryCrossEntropy)]
[Input(2)]
[Dense(20, Activation.Tanh)]
[Dense(20, Activation.Tanh)]
[Dense(1)]
public partial class SpiralTanh;

/// <summary>
/// Every activation in one regression network, for the ONNX export tests: LeakyRelu and Elu once with their default α
/// and once with a declared one; the layers span every dense strategy (unrolled, vector loops, GEMM).
/// </summary>
[Model(Loss = Loss.MeanSquaredError)]
[Input(3)]
[Dense(4, Activation.Relu)]
[Dense(24, Activation.LeakyRelu)]
[Dense(20, Activation.LeakyRelu, Alpha = 0.2f)]
[Dense(18, Activation.Elu)]
[Dense(18, Activation.Elu, Alpha = 0.5f)]
[Dense(16, Activation.Gelu)]
[Dense(16, Activation.Silu)]
[Dense(12, Activation.Sigmoid)]
[Dense(12, Activation.Tanh)]
[Dense(4)]
public partial class ActivationZoo;

/// <summary>Batch and layer normalization on vectors with declared ε, around a dropout layer, in a classifier (ONNX export tests).</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(12)]
[Dense(24, Activation.Relu)]
[BatchNorm(Epsilon = 1e-2f)]
[Dropout(0.3f)]
[Dense(16, Activation.Gelu)]
[LayerNorm(Epsilon = 1e-4f)]
[Dense(5)]
public partial class NormalizedMlp;

/// <summary>Mean absolute error: <c>Predict</c> returns the last layer's values (ONNX export tests).</summary>
[Model(Loss = Loss.MeanAbsoluteError)]
[Input(5)]
[Dense(7, Activation.Tanh)]
[Dense(3)]
public partial class AbsoluteRegressor;

/// <summary>Huber loss: <c>Predict</c> returns the last layer's values (ONNX export tests).</summary>
[Model(Loss = Loss.Huber, HuberDelta = 0.5f)]
[Input(5)]
[Dense(7, Activation.Elu)]
[Dense(2)]
public partial class HuberRegressor;

/// <summary>An image classifier of an odd shape (two channels of 6 × 5) with dropout, for data augmentation in Fit.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2, 6, 5)]
[Conv2D(4, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[Flatten]
[Dropout(0.25f)]
[Dense(3)]
public partial class TinyImageClassifier;
