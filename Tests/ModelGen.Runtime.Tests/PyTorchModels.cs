namespace ModelGen.Runtime.Tests;

// The models whose weights move to and from real PyTorch (PyTorchFixtureTests, PyTorchExportTests). Each has its
// PyTorch module, written by hand, in Tests/Fixtures/pytorch_fixtures.py; a change here needs the same change there
// and the fixtures written again. The Fashion MLP and ResNet samples (Samples/FashionMnist/) are checked too.

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

/// <summary>
/// A small residual network (fixture res-net), ResNet's two kinds of block at the smallest size: a stem convolution
/// with batch normalization and ReLU, an identity block (conv, BN, ReLU, conv, BN, then x added and ReLU), and a block
/// that halves the image and widens it from 4 to 6 channels, whose shortcut is a strided 1 × 1 convolution and batch
/// normalization; then global average pooling and the 3 classes. The downsampling block's "same" stride-2 convolution
/// needs a ZeroPad2d inside the branch, and the projection keeps its bias, so that the names of both kinds of tensor
/// are checked under a residual connection (layers.3.branch.…, layers.4.shortcut.…).
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2, 6, 6)]
[Conv2D(4, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Residual(typeof(TorchBasicBlock), Activation = Activation.Relu)]
[Residual(typeof(TorchDownBlock), Shortcut = typeof(TorchProjection), Activation = Activation.Relu)]
[GlobalAvgPool2D]
[Dense(3)]
public partial class TorchResNet;

/// <summary>The identity block of <see cref="TorchResNet"/>: two 3 × 3 convolutions of 4 channels, each with batch normalization.</summary>
[Block]
[Conv2D(4, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(4, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class TorchBasicBlock;

/// <summary>The downsampling block of <see cref="TorchResNet"/>: 4 × 6 × 6 to 6 × 3 × 3, its first convolution at stride 2.</summary>
[Block]
[Conv2D(6, 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(6, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class TorchDownBlock;

/// <summary>The shortcut of <see cref="TorchDownBlock"/>: a strided 1 × 1 convolution (with its bias) and batch normalization.</summary>
[Block]
[Conv2D(6, 1, Stride = 2)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class TorchProjection;
