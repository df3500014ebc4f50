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
