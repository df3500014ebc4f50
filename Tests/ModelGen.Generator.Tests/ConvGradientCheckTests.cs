extern alias generator;

using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Proves the generated convolution, pooling (max, average, global average), batch-normalization and flatten layers: random networks (every activation, both
/// paddings, strides 1 and 2, one and several input channels, pooling straight on the input, a flatten first or last)
/// are generated, compiled and loaded; their forward pass is checked against a double-precision reference written
/// from the definitions, and their backward pass against finite differences.
/// </summary>
public class ConvGradientCheckTests(ITestOutputHelper output)
{
    private const int ShapeSeed = 20261129;

    private static readonly CompiledModels<ConvModel> Models = new("ConvModels", Describe, m => m.Name, m => m.Declaration);

    public static TheoryData<string> ModelNames() => Models.Names();

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Forward_matches_the_definition(string name)
    {
        var (model, description) = Create(name, seed: 3);
        var random = new Random(name.Length * 7919);
        var batch = random.Next(1, 4);
        var inputs = GradientCheckTests.RandomArray(random, batch * description.InputSize, -1, 1);
        var outputs = new float[batch * description.OutputSize];

        // Batch normalization: γ and β moved off 1 and 0, and running statistics that differ per feature (or channel).
        GradientChecker.MoveToGenericPoint(model, seed: 11);
        GradientCheckTests.RandomArray(random, model.State.Length, 0.5f, 1.5f).CopyTo(model.State);
        model.PredictBatch(inputs, outputs);

        var expected = description.Reference(model.Parameters.ToArray(), model.State.ToArray(), inputs, batch);
        for (var i = 0; i < outputs.Length; i++)
        {
            Assert.True(Math.Abs(outputs[i] - expected[i]) <= 1e-4 + (1e-4 * Math.Abs(expected[i])), $"output {i}: {outputs[i]} vs reference {expected[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Backward_matches_finite_differences(string name)
    {
        foreach (var batch in new[] { 1, 3 })
        {
            var (model, description) = Create(name, seed: 5 + batch);
            var random = new Random((name.Length * 31) + batch);
            var inputs = GradientCheckTests.RandomArray(random, batch * description.InputSize, -1, 1);
            var targets = description.Loss == Loss.SoftmaxCrossEntropy
                ? Enumerable.Range(0, batch).Select(_ => (float)random.Next(description.OutputSize)).ToArray()
                : GradientCheckTests.RandomArray(random, batch * description.OutputSize, 0.05f, 0.95f);

            GradientChecker.MoveToGenericPoint(model, seed: batch);

            var (compared, kinks) = GradientChecker.Check(model, inputs, targets, seed: 3, step: 1e-3f);
            output.WriteLine($"{description.Declaration}: batch {batch}, {compared} gradients compared, {kinks} skipped at kinks");
            Assert.True(compared > 0);
            Assert.True(kinks <= compared / 10, $"{kinks} kinks among {compared} coordinates: the check would say little");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Input_gradients_match_finite_differences(string name)
    {
        foreach (var batch in new[] { 1, 2 })
        {
            var (model, description) = Create(name, seed: 9 + batch);
            var random = new Random((name.Length * 37) + batch);
            var inputs = GradientCheckTests.RandomArray(random, batch * description.InputSize, -1, 1);
            var targets = description.Loss == Loss.SoftmaxCrossEntropy
                ? Enumerable.Range(0, batch).Select(_ => (float)random.Next(description.OutputSize)).ToArray()
                : GradientCheckTests.RandomArray(random, batch * description.OutputSize, 0.05f, 0.95f);

            // Batch normalization predicts from its running statistics: made to differ per feature, as in a trained model.
            GradientChecker.MoveToGenericPoint(model, seed: batch);
            GradientCheckTests.RandomArray(random, model.State.Length, 0.5f, 1.5f).CopyTo(model.State);

            var (compared, kinks) = GradientChecker.CheckInputs(model, inputs, targets, seed: 7, step: 1e-3f);
            output.WriteLine($"{description.Declaration}: batch {batch}, {compared} input gradients compared, {kinks} skipped at kinks");
            Assert.True(compared > 0);
            Assert.True(kinks <= compared / 10, $"{kinks} kinks among {compared} coordinates: the check would say little");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Clipped_steps_clip_each_samples_own_gradient(string name)
    {
        var (model, description) = Create(name, seed: 21);
        var random = new Random((name.Length * 41) + 3);
        var inputs = GradientCheckTests.RandomArray(random, 4 * description.InputSize, -1, 1);
        var targets = description.Loss == Loss.SoftmaxCrossEntropy
            ? Enumerable.Range(0, 4).Select(_ => (float)random.Next(description.OutputSize)).ToArray()
            : GradientCheckTests.RandomArray(random, 4 * description.OutputSize, 0.05f, 0.95f);
        GradientChecker.MoveToGenericPoint(model, seed: 6);
        var clipped = GradientChecker.CheckClipping(model, inputs, targets, description.Declaration);
        output.WriteLine($"{description.Declaration}: {clipped} of 4 samples clipped");
    }

    /// <summary>
    /// The generator decides at build time which first layers read their windows in place; the runtime's kernels refuse
    /// any other geometry. Both must draw the line in the same place.
    /// </summary>
    [Fact]
    public void The_planner_and_the_runtime_agree_on_which_convolutions_read_their_windows_in_place()
    {
        Assert.Equal(ModelGen.Kernels.Convolution.MaxDirectPatch, generator::ModelGen.Generator.Layers.ConvKind.MaxDirectPatch);
        Assert.Equal(ModelGen.Kernels.Convolution.MaxDirectPaddedSample, generator::ModelGen.Generator.Layers.ConvKind.MaxDirectPaddedSample);
    }

    private static (ITrainableModel Model, ConvModel Description) Create(string name, int seed) => Models.Create(name, seed);

    /// <summary>The networks checked, sizes drawn from a fixed seed so that a failure can be reproduced.</summary>
    private static List<ConvModel> Describe()
    {
        var random = new Random(ShapeSeed);
        var models = new List<ConvModel>();
        foreach (var activation in Enum.GetValues<Activation>())
        {
            // Convolution (same padding), pooling, convolution (valid, stride 2), flatten, dense.
            models.Add(new ConvModel(
                $"Cnn{activation}",
                (random.Next(1, 4), random.Next(7, 10), random.Next(7, 10)),
                [
                    new Conv(random.Next(2, 5), 3, 1, Padding.Same, activation),
                    new Pool(2, 2),
                    new Conv(random.Next(2, 5), 2, 2, Padding.Valid, activation),
                    new Flatten(),
                    new Dense(random.Next(2, 5), Activation.Linear),
                ]));
        }

        // Pooling straight on a several-channel input (read channels-first), overlapping windows, then a classifier.
        models.Add(new ConvModel(
            "PoolFirst", (3, 6, 7), [new Pool(3, 1), new Conv(3, 2, 1, Padding.Valid, Activation.Tanh), new Flatten(), new Dense(3, Activation.Linear)],
            Loss.SoftmaxCrossEntropy));

        // An even kernel with same padding and stride 2 (the extra zero row and column at the bottom and right), dropout on the
        // convolution's output, a dense hidden layer.
        models.Add(new ConvModel(
            "EvenKernelDropout",
            (2, 8, 7),
            [new Conv(4, 4, 2, Padding.Same, Activation.Relu), new Dropout(), new Flatten(), new Dense(5, Activation.Sigmoid), new Dense(2, Activation.Linear)],
            Loss.BinaryCrossEntropy));

        // A flatten first (a dense network on a declared image) and a flatten last (the convolution's outputs are the predictions).
        models.Add(new ConvModel("FlattenFirst", (2, 3, 4), [new Flatten(), new Dense(17, Activation.Tanh), new Dense(3, Activation.Linear)]));
        models.Add(new ConvModel("FlattenLast", (1, 5, 6), [new Conv(2, 3, 1, Padding.Valid, Activation.Sigmoid), new Pool(2, 1), new Flatten()]));

        // Batch normalization per channel: after a convolution, after pooling, after pooling straight on the input (the
        // first layer to lay the image out channels-last); and per feature after the flatten.
        models.Add(new ConvModel(
            "ConvBatchNorm",
            (2, 6, 6),
            [new Conv(4, 3, 1, Padding.Same, Activation.Elu), new BatchNorm(), new Pool(2, 2), new BatchNorm(), new Flatten(), new Dense(3, Activation.Linear)],
            Loss.SoftmaxCrossEntropy));
        models.Add(new ConvModel(
            "PoolBatchNorm",
            (3, 5, 6),
            [new Pool(2, 1), new BatchNorm(), new Conv(2, 2, 1, Padding.Valid, Activation.Tanh), new Flatten(), new BatchNorm(), new Dense(2, Activation.Linear)]));

        // Average pooling: overlapping windows on a convolution's output, and straight on the input (read channels-first);
        // global average pooling after a convolution (channels-last) and straight on the input, each followed by a
        // dense layer with no flatten.
        models.Add(new ConvModel(
            "AveragePooling",
            (2, 9, 8),
            [new Conv(3, 3, 1, Padding.Same, Activation.Silu), new Pool(3, 2, Average: true), new Conv(2, 2, 1, Padding.Valid, Activation.Tanh), new Pool(2, 1, Average: true), new Flatten(), new Dense(2, Activation.Linear)]));
        models.Add(new ConvModel(
            "AverageFirst", (3, 5, 5), [new Pool(2, 1, Average: true), new Conv(2, 2, 1, Padding.Valid, Activation.Sigmoid), new Flatten(), new Dense(2, Activation.Linear)], Loss.SoftmaxCrossEntropy));
        models.Add(new ConvModel(
            "GlobalAverage",
            (2, 6, 5),
            [new Conv(5, 3, 1, Padding.Same, Activation.Gelu), new BatchNorm(), new GlobalPool(), new Dense(3, Activation.Linear)],
            Loss.SoftmaxCrossEntropy));
        models.Add(new ConvModel("GlobalAverageFirst", (3, 4, 5), [new GlobalPool(), new Dense(4, Activation.Tanh), new Dense(2, Activation.Linear)]));

        // First layers read their windows in place when they are short; these are too long (4 × 3 × 3 = 36 values), so the
        // first layer builds them (im2col) from the channels-first input. After a layer normalization the first
        // convolution needs an input gradient, which only col2im gives.
        models.Add(new ConvModel(
            "LongFirstWindows", (4, 7, 6), [new Conv(3, 3, 1, Padding.Same, Activation.Tanh), new Pool(2, 2), new Flatten(), new Dense(2, Activation.Linear)]));
        models.Add(new ConvModel(
            "NormalizedInput", (1, 6, 6), [new LayerNorm(), new Conv(2, 3, 2, Padding.Same, Activation.Elu), new Flatten(), new Dense(2, Activation.Linear)]));

        // Layers without a bias (UseBias = false), as before a batch normalization: a first convolution that reads its
        // windows in place, one through im2col, and dense layers of several sizes. Smooth activations only: without a
        // bias a ReLU unit's kink sits where its weighted sum crosses zero, and a batch of one samples few of them.
        models.Add(new ConvModel(
            "Unbiased",
            (2, 6, 6),
            [new Conv(4, 3, 1, Padding.Same, Activation.Tanh, UseBias: false), new BatchNorm(), new Conv(3, 3, 2, Padding.Same, Activation.Linear, UseBias: false),
             new BatchNorm(), new Flatten(), new Dense(40, Activation.Tanh, UseBias: false), new Dense(9, Activation.Silu, UseBias: false), new Dense(2, Activation.Linear, UseBias: false)],
            Loss.SoftmaxCrossEntropy));

        // A 1 × 1 convolution over more channels than a vector holds.
        models.Add(new ConvModel(
            "PointwiseWide", (17, 3, 3), [new Conv(19, 1, 1, Padding.Valid, Activation.Elu), new Conv(2, 3, 1, Padding.Same, Activation.Gelu), new Flatten(), new Dense(2, Activation.Linear)]));
        // Max pooling that applies the ReLU derivative of the convolution below (and sums its bias gradient): over
        // overlapping windows (stride < kernel), with no bias, and over windows that leave the last row and column out.
        models.Add(new ConvModel(
            "ReluIntoMaxPool",
            (2, 7, 7),
            [new Conv(3, 3, 1, Padding.Same, Activation.Relu, UseBias: false), new Pool(3, 2), new Conv(4, 2, 1, Padding.Same, Activation.Relu), new Pool(2, 2),
                new Flatten(), new Dense(2, Activation.Linear)]));
        // A first convolution and its 2 × 2 pooling fused both ways, behind a dropout on the input (no parameters, still
        // channels-first): the fused backward reads the dropout's outputs.
        models.Add(new ConvModel(
            "DropoutBeforeFusedConv", (1, 6, 7), [new Dropout(), new Conv(3, 3, 1, Padding.Same, Activation.Relu), new Pool(2, 2), new Flatten(), new Dense(2, Activation.Linear)]));
        // Windows too large for more than one sample per chunk (the second layer's: 576 × 200 floats): the weight
        // gradient summed over several chunks, and the input gradient of each chunk, reach the layer below.
        models.Add(new ConvModel(
            "ChunkedWindows",
            (3, 24, 24),
            [new Conv(8, 3, 1, Padding.Same, Activation.Tanh), new Conv(4, 5, 1, Padding.Same, Activation.Relu), new Pool(4, 4), new Flatten(), new Dense(2, Activation.Linear)]));
        // Residual connections (proving the graph's backward: a tensor read twice, its gradients summed): identity
        // shortcuts (the ReLU variant keeps its kinks to the sums: with a batch normalization between, a second ReLU puts
        // too many units at zero for finite differences to say much), a post-activation ResNet block repeated,
        // a strided projection shortcut (1×1 convolution with batch
        // normalization), a pre-activation block (normalization and activation inside the block), a block nested in a
        // block, and a dense pre-norm block (x + f(LayerNorm(x))) after global pooling.
        foreach (var activation in new[] { Activation.Relu, Activation.Tanh, Activation.Gelu, Activation.Linear })
        {
            models.Add(new ConvModel(
                $"Residual{activation}",
                (random.Next(1, 3), random.Next(5, 7), random.Next(5, 7)),
                [
                    new Conv(3, 3, 1, Padding.Same, Activation.Tanh),
                    new Residual([new Conv(3, 3, 1, Padding.Same, Activation.Linear, UseBias: false), new BatchNorm(), new Act(activation == Activation.Relu ? Activation.Tanh : activation), new Conv(3, 3, 1, Padding.Same, Activation.Linear)], null, activation, Repeat: 2),
                    new Flatten(),
                    new Dense(2, Activation.Linear),
                ],
                Loss.SoftmaxCrossEntropy));
        }

        models.Add(new ConvModel(
            "ResidualProjection",
            (2, 6, 7),
            [
                new Conv(3, 3, 1, Padding.Same, Activation.Elu),
                new Residual([new Conv(4, 3, 2, Padding.Same, Activation.Silu), new Conv(4, 3, 1, Padding.Same, Activation.Linear, UseBias: false), new BatchNorm()],
                    [new Conv(4, 1, 2, Padding.Valid, Activation.Linear, UseBias: false), new BatchNorm()], Activation.Sigmoid),
                new GlobalPool(),
                new Residual([new LayerNorm(), new Dense(4, Activation.Gelu)], null, Activation.Linear),
                new Dense(3, Activation.Linear),
            ],
            Loss.SoftmaxCrossEntropy));
        models.Add(new ConvModel(
            "ResidualPreActivationNested",
            (1, 5, 5),
            [
                new Conv(2, 3, 1, Padding.Same, Activation.Linear),
                new Residual([new BatchNorm(), new Act(Activation.Elu), new Conv(2, 3, 1, Padding.Same, Activation.Linear),
                    new Residual([new Act(Activation.Tanh), new Conv(2, 1, 1, Padding.Valid, Activation.Linear)], null, Activation.Linear)], null, Activation.Linear),
                new Act(Activation.Sigmoid),
                new Pool(2, 1, Average: true),
                new Flatten(),
                new Residual([new Dense(7, Activation.Tanh), new Dropout(), new Dense(32, Activation.Linear)], null, Activation.Linear),
                new Dense(2, Activation.Linear),
            ]));
        return models;
    }

    internal abstract record Layer;

    /// <summary>
    /// A residual connection: act(f(x) + s(x)) with f the block's layers and s the shortcut's (the identity when null),
    /// <paramref name="Repeat"/> times, each with its own parameters.
    /// </summary>
    internal sealed record Residual(Layer[] Block, Layer[]? Shortcut, Activation Activation, int Repeat = 1) : Layer;

    /// <summary>An activation layer.</summary>
    internal sealed record Act(Activation Activation) : Layer;

    /// <summary>A convolution; without <paramref name="UseBias"/> it has no bias parameters at all.</summary>
    internal sealed record Conv(int Filters, int Kernel, int Stride, Padding Padding, Activation Activation, bool UseBias = true) : Layer;

    internal sealed record Pool(int Size, int Stride, bool Average = false) : Layer;

    /// <summary>Global average pooling: an image becomes the vector of its channels' means.</summary>
    internal sealed record GlobalPool : Layer;

    internal sealed record Flatten : Layer;

    /// <summary>Layer normalization, ε = 10⁻⁵, over all of a sample's values: here on the model's input image.</summary>
    internal sealed record LayerNorm : Layer;

    /// <summary>Batch normalization, ε = 10⁻³: per channel of an image, per value of a vector.</summary>
    internal sealed record BatchNorm : Layer;

    internal sealed record Dense(int Units, Activation Activation, bool UseBias = true) : Layer;

    /// <summary>Dropout at rate 0.25: the identity outside training, which is what the forward check sees.</summary>
    internal sealed record Dropout : Layer;

    internal sealed record ConvModel(string Name, (int C, int H, int W) Input, Layer[] Layers, Loss Loss = Loss.MeanSquaredError)
    {
        public int InputSize => Input.C * Input.H * Input.W;

        public int OutputSize => Reference(new float[1 << 16], new float[1 << 16], new float[InputSize], 1).Length;

        public string Declaration
        {
            get
            {
                var blocks = new List<string>();
                var model = $"[Model(Loss = Loss.{Loss})] [Input({Input.C}, {Input.H}, {Input.W})] " + Attributes(Layers, blocks) + $"public partial class {Name};";
                return string.Join("\n", blocks.Append(model));
            }
        }

        /// <summary>The layer attributes of <paramref name="layers"/>; each residual block's class declaration goes to <paramref name="blocks"/>.</summary>
        private string Attributes(Layer[] layers, List<string> blocks) =>
            string.Concat(layers.Select(l => l switch
            {
                Residual r => $"[Residual(typeof({Block(r.Block, blocks)}){(r.Shortcut is null ? string.Empty : $", Shortcut = typeof({Block(r.Shortcut, blocks)})")}, Activation = Activation.{r.Activation}, Repeat = {r.Repeat})] ",
                Act a => $"[Activation(Activation.{a.Activation})] ",
                Conv c => $"[Conv2D({c.Filters}, {c.Kernel}, Stride = {c.Stride}, Padding = Padding.{c.Padding}, Activation = Activation.{c.Activation}{(c.UseBias ? string.Empty : ", UseBias = false")})] ",
                Pool p => $"[{(p.Average ? "AvgPool2D" : "MaxPool2D")}({p.Size}, Stride = {p.Stride})] ",
                GlobalPool => "[GlobalAvgPool2D] ",
                Flatten => "[Flatten] ",
                BatchNorm => "[BatchNorm(Momentum = 0.5f)] ",
                LayerNorm => "[LayerNorm] ",
                Dense d => $"[Dense({d.Units}, Activation.{d.Activation}{(d.UseBias ? string.Empty : ", UseBias = false")})] ",
                _ => "[Dropout(0.25f)] ",
            }));

        private string Block(Layer[] layers, List<string> blocks)
        {
            var name = $"{Name}Block{blocks.Count + 1}";
            blocks.Add(string.Empty); // its place, so that nested blocks number after it
            var index = blocks.Count - 1;
            blocks[index] = $"[Block] {Attributes(layers, blocks)}internal sealed class {name};";
            return name;
        }

        /// <summary>
        /// The forward pass in doubles, from the definitions and the documented layout: every tensor 64-byte aligned;
        /// a convolution's W [(kh, kw, c) × filters] row-major, then its bias; images (c, h, w) as declared, and
        /// channels-last (h, w, c) once flattened after a convolution or pooling layer; batch normalization in inference,
        /// with γ and β in the parameters and the running mean and variance in <paramref name="state"/>.
        /// </summary>
        public float[] Reference(float[] parameters, float[] state, float[] inputs, int batch)
        {
            var results = new List<float>();
            for (var n = 0; n < batch; n++)
            {
                var sample = inputs.AsSpan(n * InputSize, InputSize).ToArray();
                var image = new double[Input.C, Input.H, Input.W];
                for (var c = 0; c < Input.C; c++)
                {
                    for (var h = 0; h < Input.H; h++)
                    {
                        for (var w = 0; w < Input.W; w++)
                        {
                            image[c, h, w] = sample[(((c * Input.H) + h) * Input.W) + w];
                        }
                    }
                }

                double[]? vector = null;
                var channelsLast = false;
                var offset = 0;
                var stateOffset = 0;
                Run(Layers, ref image, ref vector, ref channelsLast, parameters, state, ref offset, ref stateOffset);
                vector ??= Flattened(image!, channelsLast);
                if (Loss == Loss.SoftmaxCrossEntropy)
                {
                    var max = vector.Max();
                    var total = vector.Sum(v => Math.Exp(v - max));
                    vector = vector.Select(v => Math.Exp(v - max) / total).ToArray();
                }
                else if (Loss == Loss.BinaryCrossEntropy)
                {
                    vector = vector.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();
                }

                results.AddRange(vector.Select(v => (float)v));
            }

            return results.ToArray();
        }

        /// <summary>Runs <paramref name="layers"/> on one sample, an image or (after a flatten or global pooling) a vector.</summary>
        private static void Run(
            Layer[] layers, ref double[,,] image, ref double[]? vector, ref bool channelsLast, float[] parameters, float[] state, ref int offset, ref int stateOffset)
        {
            foreach (var layer in layers)
            {
                switch (layer)
                {
                    case Residual residual:
                        for (var repeat = 0; repeat < residual.Repeat; repeat++)
                        {
                            // The block's parameters come first, then the shortcut's: the order the planner lays them out in.
                            var (blockImage, blockVector, blockLast) = (image is null ? null : (double[,,])image.Clone(), (double[]?)vector?.Clone(), channelsLast);
                            Run(residual.Block, ref blockImage!, ref blockVector, ref blockLast, parameters, state, ref offset, ref stateOffset);
                            var (skipImage, skipVector, skipLast) = (image is null ? null : (double[,,])image.Clone(), (double[]?)vector?.Clone(), channelsLast);
                            if (residual.Shortcut is { } shortcut)
                            {
                                Run(shortcut, ref skipImage!, ref skipVector, ref skipLast, parameters, state, ref offset, ref stateOffset);
                            }

                            (image, vector, channelsLast) = (blockImage, blockVector, blockLast);
                            Sum(image, skipImage, vector, skipVector, residual.Activation);
                        }

                        break;
                    case Act act:
                        Sum(image, null, vector, null, act.Activation);
                        break;
                    case Conv conv:
                        image = Convolve(image!, conv, parameters, ref offset);
                        channelsLast = true;
                        break;
                    case Pool pool:
                        image = MaxPool(image!, pool);
                        channelsLast = true;
                        break;
                    case GlobalPool:
                        var pooled = image!;
                        vector = Enumerable.Range(0, pooled.GetLength(0))
                            .Select(c => Enumerable.Range(0, pooled.GetLength(1) * pooled.GetLength(2)).Average(p => pooled[c, p / pooled.GetLength(2), p % pooled.GetLength(2)]))
                            .ToArray();
                        image = null!;
                        break;
                    case Flatten:
                        vector = Flattened(image!, channelsLast);
                        image = null!;
                        break;
                    case Dense dense:
                        vector = Connect(vector!, dense, parameters, ref offset);
                        break;
                    case LayerNorm when vector is null:
                        NormalizeSample(image!, parameters, ref offset);
                        break;
                    case LayerNorm:
                        var values = new double[vector.Length, 1, 1];
                        Buffer.BlockCopy(vector, 0, values, 0, vector.Length * sizeof(double));
                        NormalizeSample(values, parameters, ref offset);
                        Buffer.BlockCopy(values, 0, vector, 0, vector.Length * sizeof(double));
                        break;
                    case BatchNorm when vector is null:
                        Normalize(image!, parameters, state, ref offset, ref stateOffset);
                        break;
                    case BatchNorm:
                        var column = new double[vector.Length, 1, 1];
                        Buffer.BlockCopy(vector, 0, column, 0, vector.Length * sizeof(double));
                        Normalize(column, parameters, state, ref offset, ref stateOffset);
                        Buffer.BlockCopy(column, 0, vector, 0, vector.Length * sizeof(double));
                        break;
                }
            }
        }

        /// <summary>value = act(value + other), in place, for an image or a vector; without <paramref name="otherImage"/> (or vector), act(value).</summary>
        private static void Sum(double[,,]? image, double[,,]? otherImage, double[]? vector, double[]? otherVector, Activation activation)
        {
            if (vector is not null)
            {
                for (var i = 0; i < vector.Length; i++)
                {
                    vector[i] = Activate(activation, vector[i] + (otherVector?[i] ?? 0));
                }

                return;
            }

            for (var c = 0; c < image!.GetLength(0); c++)
            {
                for (var h = 0; h < image.GetLength(1); h++)
                {
                    for (var w = 0; w < image.GetLength(2); w++)
                    {
                        image[c, h, w] = Activate(activation, image[c, h, w] + (otherImage?[c, h, w] ?? 0));
                    }
                }
            }
        }

        private static double[,,] Convolve(double[,,] x, Conv conv, float[] parameters, ref int offset)
        {
            var (channels, height, width) = (x.GetLength(0), x.GetLength(1), x.GetLength(2));
            var (k, s) = (conv.Kernel, conv.Stride);
            int Out(int size) => conv.Padding == Padding.Same ? (size + s - 1) / s : ((size - k) / s) + 1;
            int Before(int size) => conv.Padding == Padding.Same ? Math.Max(((Out(size) - 1) * s) + k - size, 0) / 2 : 0;
            var (outputHeight, outputWidth) = (Out(height), Out(width));
            var weights = offset;
            var bias = conv.UseBias ? Align(weights + (k * k * channels * conv.Filters)) : -1;
            offset = conv.UseBias ? Align(bias + conv.Filters) : Align(weights + (k * k * channels * conv.Filters));
            var y = new double[conv.Filters, outputHeight, outputWidth];
            for (var f = 0; f < conv.Filters; f++)
            {
                for (var oh = 0; oh < outputHeight; oh++)
                {
                    for (var ow = 0; ow < outputWidth; ow++)
                    {
                        double z = conv.UseBias ? parameters[bias + f] : 0;
                        for (var kh = 0; kh < k; kh++)
                        {
                            for (var kw = 0; kw < k; kw++)
                            {
                                var (h, w) = ((oh * s) - Before(height) + kh, (ow * s) - Before(width) + kw);
                                if (h < 0 || h >= height || w < 0 || w >= width)
                                {
                                    continue;
                                }

                                for (var c = 0; c < channels; c++)
                                {
                                    z += parameters[weights + (((((kh * k) + kw) * channels) + c) * conv.Filters) + f] * x[c, h, w];
                                }
                            }
                        }

                        y[f, oh, ow] = Activate(conv.Activation, z);
                    }
                }
            }

            return y;
        }

        private static double[,,] MaxPool(double[,,] x, Pool pool)
        {
            var (channels, height, width) = (x.GetLength(0), x.GetLength(1), x.GetLength(2));
            var (outputHeight, outputWidth) = (((height - pool.Size) / pool.Stride) + 1, ((width - pool.Size) / pool.Stride) + 1);
            var y = new double[channels, outputHeight, outputWidth];
            for (var c = 0; c < channels; c++)
            {
                for (var oh = 0; oh < outputHeight; oh++)
                {
                    for (var ow = 0; ow < outputWidth; ow++)
                    {
                        var (largest, sum) = (double.NegativeInfinity, 0.0);
                        for (var kh = 0; kh < pool.Size; kh++)
                        {
                            for (var kw = 0; kw < pool.Size; kw++)
                            {
                                largest = Math.Max(largest, x[c, (oh * pool.Stride) + kh, (ow * pool.Stride) + kw]);
                                sum += x[c, (oh * pool.Stride) + kh, (ow * pool.Stride) + kw];
                            }
                        }

                        y[c, oh, ow] = pool.Average ? sum / (pool.Size * pool.Size) : largest;
                    }
                }
            }

            return y;
        }

        /// <summary>In place: the whole sample by its mean and (biased) variance, then γ and β per value in (c, h, w) order.</summary>
        private static void NormalizeSample(double[,,] x, float[] parameters, ref int offset)
        {
            var size = x.Length;
            var (gamma, beta) = (offset, Align(offset + size));
            offset = Align(beta + size);
            var values = x.Cast<double>().ToArray();
            var mean = values.Average();
            var deviation = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)) + 1e-5);
            var i = 0;
            for (var c = 0; c < x.GetLength(0); c++)
            {
                for (var h = 0; h < x.GetLength(1); h++)
                {
                    for (var w = 0; w < x.GetLength(2); w++, i++)
                    {
                        x[c, h, w] = (parameters[gamma + i] * (x[c, h, w] - mean) / deviation) + parameters[beta + i];
                    }
                }
            }
        }

        /// <summary>In place: each channel c of x by its own γ, β, running mean and running variance.</summary>
        private static void Normalize(double[,,] x, float[] parameters, float[] state, ref int offset, ref int stateOffset)
        {
            var channels = x.GetLength(0);
            var (gamma, beta) = (offset, Align(offset + channels));
            offset = Align(beta + channels);
            var (mean, variance) = (stateOffset, Align(stateOffset + channels));
            stateOffset = Align(Align(variance + channels) + channels); // then the last batch's 1 / σ
            for (var c = 0; c < channels; c++)
            {
                for (var h = 0; h < x.GetLength(1); h++)
                {
                    for (var w = 0; w < x.GetLength(2); w++)
                    {
                        x[c, h, w] = (parameters[gamma + c] * (x[c, h, w] - state[mean + c]) / Math.Sqrt(state[variance + c] + 1e-3)) + parameters[beta + c];
                    }
                }
            }
        }

        private static double[] Flattened(double[,,] x, bool channelsLast)
        {
            var (channels, height, width) = (x.GetLength(0), x.GetLength(1), x.GetLength(2));
            var values = new List<double>();
            if (channelsLast)
            {
                for (var h = 0; h < height; h++)
                {
                    for (var w = 0; w < width; w++)
                    {
                        for (var c = 0; c < channels; c++)
                        {
                            values.Add(x[c, h, w]);
                        }
                    }
                }
            }
            else
            {
                foreach (var value in x)
                {
                    values.Add(value); // C# iterates a [c, h, w] array in (c, h, w) order
                }
            }

            return values.ToArray();
        }

        private static double[] Connect(double[] x, Dense dense, float[] parameters, ref int offset)
        {
            var weights = offset;
            var bias = dense.UseBias ? Align(weights + (dense.Units * x.Length)) : -1;
            offset = dense.UseBias ? Align(bias + dense.Units) : Align(weights + (dense.Units * x.Length));
            var y = new double[dense.Units];
            for (var o = 0; o < dense.Units; o++)
            {
                double z = dense.UseBias ? parameters[bias + o] : 0;
                for (var i = 0; i < x.Length; i++)
                {
                    z += parameters[weights + (i * dense.Units) + o] * x[i];
                }

                y[o] = Activate(dense.Activation, z);
            }

            return y;
        }

        private static double Activate(Activation activation, double z) => activation switch
        {
            Activation.Relu => Math.Max(0, z),
            Activation.Sigmoid => 1 / (1 + Math.Exp(-z)),
            Activation.Tanh => Math.Tanh(z),
            Activation.LeakyRelu => z > 0 ? z : 0.01 * z,
            Activation.Elu => z > 0 ? z : Math.Exp(z) - 1,
            Activation.Gelu => 0.5 * z * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (z + (0.044715 * z * z * z)))),
            Activation.Silu => z / (1 + Math.Exp(-z)),
            _ => z,
        };

        private static int Align(int offset) => (offset + 15) / 16 * 16;
    }
}
