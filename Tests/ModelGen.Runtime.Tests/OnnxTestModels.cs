namespace ModelGen.Runtime.Tests;

// Convolutional models for the ONNX export tests (OnnxExportConvolutionTests, which also export the sample's own
// FashionCnn and FashionResNet, and PyTorchModels.cs' TorchResNet), each exported with its generated ExportOnnx and
// compared with PredictBatch after a few training steps.
// The comment under each lists its equivalent PyTorch nn.Sequential, whose module indices name the tensors (the
// generated remarks show the same).

/// <summary>
/// Per-channel batch normalization after each convolution of a three-channel, non-square image; average pooling
/// (one tiling, one overlapping), global average pooling and batch normalization of the pooled vector. Momentum 0.5 so
/// that a few training steps move the running statistics well away from 0 and 1.
/// </summary>
/// <remarks>
/// Conv2d(3, 8, 3, padding=1) 0, ReLU 1, BatchNorm2d(8) 2, AvgPool2d(2) 3, Conv2d(8, 12, 3) 4, SiLU 5,
/// BatchNorm2d(12, eps=0.01) 6, AvgPool2d(2, stride=1) 7, AdaptiveAvgPool2d(1) 8, Flatten 9, BatchNorm1d(12) 10,
/// Linear(12, 5) 11.
/// </remarks>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(3, 12, 10)]
[Conv2D(8, 3, Padding = Padding.Same, Activation = Activation.Relu)]                    // 8 × 12 × 10
[BatchNorm(Momentum = 0.5f)]
[AvgPool2D(2)]                                                                          // 8 × 6 × 5
[Conv2D(12, 3, Activation = Activation.Silu)]                                           // 12 × 4 × 3
[BatchNorm(Momentum = 0.5f, Epsilon = 1e-2f)]
[AvgPool2D(2, Stride = 1)]                                                              // 12 × 3 × 2
[GlobalAvgPool2D]                                                                       // 12
[BatchNorm(Momentum = 0.5f)]
[Dense(5)]
public partial class OnnxBatchNormCnn;

/// <summary>
/// "Same" padding that cannot be even: a 2 × 2 kernel (one zero row below, one column right), a stride-2 3 × 3 kernel
/// on 9 × 8 (rows padded 1 and 1, columns 0 and 1) and a stride-2 4 × 4 kernel (rows 1 and 2, columns 1 and 1). Each
/// is a ZeroPad2d and a Conv2d in PyTorch, one Conv with pads [top, left, bottom, right] in ONNX.
/// </summary>
/// <remarks>
/// ZeroPad2d((0, 1, 0, 1)) 0, Conv2d(2, 6, 2) 1, LeakyReLU(0.1) 2, ZeroPad2d((0, 1, 1, 1)) 3, Conv2d(6, 8, 3, stride=2) 4,
/// Tanh 5, ZeroPad2d((1, 1, 1, 2)) 6, Conv2d(8, 8, 4, stride=2) 7, ELU 8, MaxPool2d(2, stride=1) 9, Flatten 10,
/// Linear(16, 3) 11.
/// </remarks>
[Model(Loss = Loss.BinaryCrossEntropy)]
[Input(2, 9, 8)]
[Conv2D(6, 2, Padding = Padding.Same, Activation = Activation.LeakyRelu, Alpha = 0.1f)] // 6 × 9 × 8
[Conv2D(8, 3, Stride = 2, Padding = Padding.Same, Activation = Activation.Tanh)]        // 8 × 5 × 4
[Conv2D(8, 4, Stride = 2, Padding = Padding.Same, Activation = Activation.Elu)]         // 8 × 3 × 2
[MaxPool2D(2, Stride = 1)]                                                              // 8 × 2 × 1
[Flatten]
[Dense(3)]
public partial class OnnxStridedCnn;

/// <summary>
/// Layer normalization of an image: of a convolution's output (channels-last in ModelGen, γ and β [c, h, w] in the
/// file), then max pooling, flatten and a regression output.
/// </summary>
/// <remarks>
/// Conv2d(2, 4, 3) 0, GELU(approximate="tanh") 1, LayerNorm([4, 6, 5], eps=0.0001) 2, MaxPool2d(2) 3, Flatten 4,
/// Linear(24, 3) 5.
/// </remarks>
[Model(Loss = Loss.MeanSquaredError)]
[Input(2, 8, 7)]
[Conv2D(4, 3, Activation = Activation.Gelu)]                                            // 4 × 6 × 5
[LayerNorm(Epsilon = 1e-4f)]
[MaxPool2D(2)]                                                                          // 4 × 3 × 2
[Flatten]
[Dense(3)]
public partial class OnnxImageLayerNormCnn;

/// <summary>
/// Batch normalization of a flattened convolution output: one feature per (c, h, w) value, so γ, β and the running
/// statistics are in PyTorch's (c, h, w) order in the file while ModelGen keeps them (h, w, c); then layer
/// normalization of the same vector and dense layers whose columns are permuted the same way.
/// </summary>
/// <remarks>
/// Conv2d(2, 3, 3) 0, ReLU 1, Flatten 2, Dropout(0.2) 3, BatchNorm1d(60) 4, LayerNorm(60) 5, Linear(60, 6) 6,
/// GELU(approximate="tanh") 7, Linear(6, 3) 8.
/// </remarks>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(2, 7, 6)]
[Conv2D(3, 3, Activation = Activation.Relu)]                                            // 3 × 5 × 4
[Flatten]                                                                               // 60
[Dropout(0.2f)]
[BatchNorm(Momentum = 0.5f)]
[LayerNorm]
[Dense(6, Activation.Gelu)]
[Dense(3)]
public partial class OnnxFlatBatchNormCnn;
