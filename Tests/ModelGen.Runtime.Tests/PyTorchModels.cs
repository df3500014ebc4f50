namespace ModelGen.Runtime.Tests;

// The models whose weights move to and from real PyTorch (PyTorchFixtureTests, PyTorchExportTests). Each has its
// PyTorch module, written by hand, in Tests/Fixtures/pytorch_fixtures.py; a change here needs the same change there
// and the fixtures written again. The fourth is the Fashion MLP sample itself (Samples/FashionMnist/FashionMlp.cs).

/// <summary>A small CNN with batch normalization per channel after each convolution (fixture bn-cnn).</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm]
[MaxPool2D(2)]
[Conv2D(16, 3, Padding = Padding.Same, Activation = Activation.Relu)]
[BatchNorm]
[MaxPool2D(2)]
[Flatten]
[Dense(32, Activation.Relu)]
[Dropout(0.25f)]
[Dense(10)]
public partial class TorchBatchNormCnn;

/// <summary>
/// Layer kinds the other fixtures leave out (fixture mixed-cnn): a stride-2 "same" convolution whose odd zero row and
/// column PyTorch needs a ZeroPad2d for, LeakyReLU with its own α, layer normalization of a whole image, GELU, average
/// pooling, batch normalization of a flattened image (per value, in PyTorch's (c, h, w) order), ELU, dropout and SiLU.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(3, 12, 12)]
[Conv2D(6, 3, Stride = 2, Padding = Padding.Same, Activation = Activation.LeakyRelu, Alpha = 0.2f)]
[LayerNorm]
[Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Gelu)]
[AvgPool2D(2)]
[Flatten]
[BatchNorm]
[Dense(16, Activation.Elu)]
[Dropout(0.1f)]
[Dense(12, Activation.Silu)]
[Dense(5)]
public partial class TorchMixedCnn;

/// <summary>
/// The rest, in a multi-label model with sigmoid outputs (fixture pooled-net): a valid convolution with tanh,
/// overlapping max pooling (stride 1), a stride-2 "same" convolution of kernel 4 padded on all four sides (1 before,
/// 2 after), sigmoid, batch normalization with PyTorch's default ε and momentum, global average pooling, layer
/// normalization of a vector with its own ε, and GELU.
/// </summary>
[Model(Loss = Loss.BinaryCrossEntropy)]
[Input(2, 10, 10)]
[Conv2D(4, 3, Activation = Activation.Tanh)]
[MaxPool2D(2, Stride = 1)]
[Conv2D(6, 4, Stride = 2, Padding = Padding.Same, Activation = Activation.Sigmoid)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[GlobalAvgPool2D]
[LayerNorm(Epsilon = 1e-3f)]
[Dense(8, Activation.Gelu)]
[Dense(3)]
public partial class TorchPooledNet;
