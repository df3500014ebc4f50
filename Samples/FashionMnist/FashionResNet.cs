using ModelGen;

namespace ModelGen.Samples.FashionMnist;

/// <summary>
/// A small residual network for the same images (<c>--model resnet</c>), after He et al. (2016) for CIFAR: a 3×3
/// stem convolution, three stages of two basic blocks (16, 32 and 64 channels; the second and third stages halve the
/// image with a strided first convolution, and their first block's shortcut is a strided 1×1 convolution), global
/// average pooling and the 10 classes. Every convolution is followed by batch normalization, which takes the part of
/// its bias; each block adds its input (or the projection of it) before the last ReLU. 175,000 parameters.
/// </summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(1, 28, 28)]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Residual(typeof(Basic16), Repeat = 2, Activation = Activation.Relu)]
[Residual(typeof(Down32), Shortcut = typeof(Project32), Activation = Activation.Relu)]
[Residual(typeof(Basic32), Activation = Activation.Relu)]
[Residual(typeof(Down64), Shortcut = typeof(Project64), Activation = Activation.Relu)]
[Residual(typeof(Basic64), Activation = Activation.Relu)]
[GlobalAvgPool2D]
[Dense(10)]
public partial class FashionResNet;

/// <summary>A basic block of 16 channels: two 3×3 convolutions, each with batch normalization, a ReLU between them.</summary>
[Block]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(16, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Basic16;

/// <summary>The first block of the 32-channel stage: its first convolution halves the image (stride 2).</summary>
[Block]
[Conv2D(32, 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Down32;

/// <summary>The shortcut of <see cref="Down32"/>: a strided 1×1 convolution to 32 channels, with batch normalization.</summary>
[Block]
[Conv2D(32, 1, Stride = 2, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Project32;

/// <summary>A basic block of 32 channels.</summary>
[Block]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(32, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Basic32;

/// <summary>The first block of the 64-channel stage, halving the image again.</summary>
[Block]
[Conv2D(64, 3, Stride = 2, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Down64;

/// <summary>The shortcut of <see cref="Down64"/>.</summary>
[Block]
[Conv2D(64, 1, Stride = 2, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Project64;

/// <summary>A basic block of 64 channels.</summary>
[Block]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
[Activation(Activation.Relu)]
[Conv2D(64, 3, Padding = Padding.Same, UseBias = false)]
[BatchNorm(Momentum = 0.9f, Epsilon = 1e-5f)]
public sealed class Basic64;
