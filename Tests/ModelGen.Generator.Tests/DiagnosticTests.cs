extern alias generator;

using System;
using System.IO;
using System.Linq;
using System.Reflection;
using generator::ModelGen.Generator;
using generator::ModelGen.Generator.Helpers;
using generator::ModelGen.Generator.Model;
using Microsoft.CodeAnalysis;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>One test per diagnostic id: the error appears, on the declaration or argument at fault, and nothing is generated.</summary>
public class DiagnosticTests
{
    [Fact]
    public void MG0001_model_class_not_partial()
    {
        AssertSingleDiagnostic(
            "[Model] [Input(1)] [Dense(1)] public class Plain;",
            "MG0001", "Plain", "'Plain' must be declared partial");
    }

    [Fact]
    public void MG0001_containing_type_not_partial()
    {
        AssertSingleDiagnostic(
            "public class Outer { [Model] [Input(1)] [Dense(1)] public partial class Inner; }",
            "MG0001", "Outer", "'Outer' must be declared partial: ModelGen adds the generated members of model 'Inner'");
    }

    [Fact]
    public void MG0002_missing_input()
    {
        AssertSingleDiagnostic("[Model] [Dense(1)] public partial class NoInput;", "MG0002", "NoInput", "has no [Input] attribute", extra: "MG0006");
    }

    [Fact]
    public void MG0002_no_attributes_at_all()
    {
        AssertSingleDiagnostic("[Model] public partial class Empty;", "MG0002", "Empty", "Model 'Empty' has no [Input]");
    }

    [Theory]
    [InlineData("[Dense(0)]", "0", "Layer 1 ([Dense]): the number of units must be positive, but it is 0")]
    [InlineData("[Dense(-3, Activation.Relu)]", "-3", "but it is -3")]
    [InlineData("[Dense(units: -1)]", "units: -1", "but it is -1")]
    public void MG0003_dense_units_not_positive(string dense, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(4)] {dense} public partial class M;", "MG0003", at, message);
    }

    [Theory]
    [InlineData("Input(0)", "The input size must be positive, but it is 0")]
    [InlineData("Input(1, 0, 28)", "Input dimension 1 must be positive, but it is 0")]
    [InlineData("Input()", "The number of input dimensions must be positive")]
    public void MG0003_input_size_not_positive(string input, string message)
    {
        AssertSingleDiagnostic($"[Model] [{input}] [Dense(1)] public partial class M;", "MG0003", input, message);
    }

    [Fact]
    public void MG0004_layers_on_two_partial_declarations()
    {
        AssertSingleDiagnostic(
            "[Model] [Input(2)] [Dense(3)] public partial class Split; [Dense(1)] public partial class Split;",
            "MG0004", "Dense(1)", "spread over several partial declarations");
    }

    [Fact]
    public void MG0005_two_inputs()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Input(3)] [Dense(1)] public partial class M;", "MG0005", "Input(3)", "declares [Input] more than once");
    }

    [Fact]
    public void MG0006_layer_before_input()
    {
        AssertSingleDiagnostic("[Model] [Dense(5)] [Input(2)] [Dense(1)] public partial class M;", "MG0006", "Dense(5)", "[Dense] comes before [Input]");
    }

    [Fact]
    public void MG0007_no_layers()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] public partial class Bare;", "MG0007", "Bare", "declares no layer after [Input]");
    }

    [Fact]
    public void MG0008_undefined_activation()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1, (Activation)42)] public partial class M;", "MG0008", "(Activation)42", "42 is not a defined Activation value");
    }

    [Fact]
    public void MG0008_undefined_activation_property()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1, Activation = (Activation)9)] public partial class M;", "MG0008", "Activation = (Activation)9", "9 is not a defined Activation");
    }

    [Fact]
    public void MG0008_undefined_loss()
    {
        AssertSingleDiagnostic("[Model(Loss = (Loss)7)] [Input(2)] [Dense(1)] public partial class M;", "MG0008", "Loss = (Loss)7", "7 is not a defined Loss value");
    }

    [Fact]
    public void MG0009_dense_after_multidimensional_input()
    {
        AssertSingleDiagnostic("[Model] [Input(1, 28, 28)] [Dense(10)] public partial class M;", "MG0009", "Dense(10)", "receives samples of shape 1×28×28");
    }

    [Fact]
    public void MG0009_dense_after_a_convolution_without_flatten()
    {
        AssertSingleDiagnostic("[Model] [Input(1, 8, 8)] [Conv2D(4, 3)] [Dense(10)] public partial class M;", "MG0009", "Dense(10)", "put [Flatten] before it");
    }

    [Theory]
    [InlineData("[Conv2D(8, 3)]", "Conv2D(8, 3)", "Layer 1 ([Conv2D]) needs samples of channels × height × width, but it receives samples of shape 784")]
    [InlineData("[MaxPool2D(2)]", "MaxPool2D(2)", "Layer 1 ([MaxPool2D]) needs samples of channels × height × width")]
    [InlineData("[AvgPool2D(2)]", "AvgPool2D(2)", "Layer 1 ([AvgPool2D]) needs samples of channels × height × width")]
    [InlineData("[GlobalAvgPool2D]", "GlobalAvgPool2D", "Layer 1 ([GlobalAvgPool2D]) needs samples of channels × height × width, but it receives samples of shape 784")]
    public void MG0026_window_layer_on_a_vector(string layer, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(784)] {layer} [Flatten] [Dense(2)] public partial class M;", "MG0026", at, message);
    }

    [Fact]
    public void MG0026_convolution_after_flatten()
    {
        AssertSingleDiagnostic("[Model] [Input(1, 6, 6)] [Flatten] [Conv2D(2, 3)] [Flatten] [Dense(2)] public partial class M;", "MG0026", "Conv2D(2, 3)", "receives samples of shape 36");
    }

    [Theory]
    [InlineData("[Conv2D(4, 5)]", "5", "Layer 1 ([Conv2D]): its 5×5 window does not fit the 4×6 input, which Padding.Valid does not pad")]
    [InlineData("[Conv2D(4, 7, Padding = Padding.Valid)]", "7", "7×7 window does not fit the 4×6 input")]
    [InlineData("[MaxPool2D(5)]", "5", "Layer 1 ([MaxPool2D]): its 5×5 window does not fit the 4×6 input")]
    [InlineData("[Conv2D(2, 3)] [MaxPool2D(3)]", "3", "Layer 2 ([MaxPool2D]): its 3×3 window does not fit the 2×4 input")]
    [InlineData("[AvgPool2D(5, Stride = 1)]", "5", "Layer 1 ([AvgPool2D]): its 5×5 window does not fit the 4×6 input")]
    public void MG0027_window_larger_than_its_input(string layers, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(1, 4, 6)] {layers} [Flatten] [Dense(2)] public partial class M;", "MG0027", at, message);
    }

    [Fact]
    public void MG0038_residual_of_a_type_that_is_not_a_block()
    {
        AssertSingleDiagnostic(
            "[Dense(4)] internal sealed class F; [Model] [Input(4)] [Residual(typeof(F))] [Dense(2)] public partial class M;",
            "MG0038", "typeof(F)", "'F' is used as a block of [Residual] but has no [Block] attribute", extra: "MG0037"); // and F's layers are ignored
        AssertSingleDiagnostic(
            "[Block] [Dense(4)] internal sealed class F; internal sealed class S; [Model] [Input(4)] [Residual(typeof(F), Shortcut = typeof(S))] [Dense(2)] public partial class M;",
            "MG0038", "Shortcut = typeof(S)", "'S' is used as a block");
    }

    [Fact]
    public void MG0039_empty_block()
    {
        AssertSingleDiagnostic(
            "[Block] internal sealed class F; [Model] [Input(4)] [Residual(typeof(F))] [Dense(2)] public partial class M;",
            "MG0039", "typeof(F)", "Block 'F' declares no layers");
    }

    [Theory]
    [InlineData("[Block] [Dense(4)] [Residual(typeof(F))] internal sealed class F;", "typeof(F)", "F → F")]
    [InlineData("[Block] [Residual(typeof(G))] internal sealed class F; [Block] [Dense(4)] [Residual(typeof(F))] internal sealed class G;", "typeof(F)", "F → G → F")]
    public void MG0040_block_that_contains_itself(string blocks, string at, string cycle)
    {
        var (result, _) = GeneratorHarness.Run($"using ModelGen;\n{blocks} [Model] [Input(4)] [Residual(typeof(F))] [Dense(2)] public partial class M;");
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MG0040", diagnostic.Id);
        Assert.Contains($"uses itself through [Residual] ({cycle})", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(at, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
    }

    [Theory]
    [InlineData("[Block] [Dense(3)] internal sealed class F;", "[Input(4)]", "block 'F' turns 4 into 3, which cannot be added to its input")]
    [InlineData("[Block] [Conv2D(4, 3, Stride = 2, Padding = Padding.Same)] internal sealed class F;", "[Input(1, 6, 6)] [Conv2D(4, 3, Padding = Padding.Same)]", "block 'F' turns 4×6×6 into 4×3×3")]
    [InlineData("[Block] [Conv2D(3, 1)] internal sealed class F;", "[Input(3, 6, 6)]", "turns 3×6×6 into 3×6×6, which cannot be added to its input as it lies in memory")]
    public void MG0041_residual_shapes_that_do_not_match(string block, string before, string message)
    {
        AssertSingleDiagnostic($"{block} [Model] {before} [Residual(typeof(F))] [Flatten] [Dense(2)] public partial class M;", "MG0041", "typeof(F)", message);
    }

    [Fact]
    public void MG0042_shortcut_that_does_not_fix_the_shape()
    {
        AssertSingleDiagnostic(
            "[Block] [Conv2D(8, 3, Stride = 2, Padding = Padding.Same)] internal sealed class F; [Block] [Conv2D(8, 1)] internal sealed class S; " +
            "[Model] [Input(1, 6, 6)] [Conv2D(4, 3, Padding = Padding.Same)] [Residual(typeof(F), Shortcut = typeof(S))] [Flatten] [Dense(2)] public partial class M;",
            "MG0042", "Shortcut = typeof(S)", "shortcut block 'S' turns 4×6×6 into 8×6×6, but block 'F' gives 8×3×3");
    }

    [Fact]
    public void MG0043_input_in_a_block()
    {
        AssertSingleDiagnostic(
            "[Block] [Input(4)] [Dense(4)] internal sealed class F; [Model] [Input(4)] [Residual(typeof(F))] [Dense(2)] public partial class M;",
            "MG0043", "Input(4)", "Block 'F' declares [Input]");
    }

    [Fact]
    public void Residual_repeats_must_be_positive()
    {
        AssertSingleDiagnostic(
            "[Block] [Dense(4)] internal sealed class F; [Model] [Input(4)] [Residual(typeof(F), Repeat = 0)] [Dense(2)] public partial class M;",
            "MG0003", "Repeat = 0", "the number of repeats");
    }

    [Fact]
    public void A_block_gets_no_warning_for_layers_without_model()
    {
        var (result, _) = GeneratorHarness.Run("using ModelGen;\n[Block] [Dense(4)] internal sealed class F; [Model] [Input(4)] [Residual(typeof(F))] [Dense(2)] public partial class M;");
        Assert.Empty(result.Diagnostics);
    }

    [Theory]
    [InlineData("[BatchNorm]", "BatchNorm", "Layer 1 ([BatchNorm]): the model's 3×6×6 input image is normalized per channel only after a [Conv2D] or a pooling layer")]
    [InlineData("[Dropout(0.1f)] [BatchNorm(Momentum = 0.9f)]", "BatchNorm(Momentum = 0.9f)", "Layer 2 ([BatchNorm]): the model's 3×6×6 input image")]
    public void MG0028_batch_norm_on_a_multichannel_input_image(string layers, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(3, 6, 6)] {layers} [Conv2D(2, 3)] [Flatten] [Dense(2)] public partial class M;", "MG0028", at, message);
    }

    [Theory]
    [InlineData("[Input(1, 6, 6)] [BatchNorm]")] // one channel: per channel is per sample, whatever the layout
    [InlineData("[Input(3, 6, 6)] [MaxPool2D(2)] [BatchNorm]")]
    [InlineData("[Input(3, 6, 6)] [AvgPool2D(2)] [BatchNorm]")]
    [InlineData("[Input(3, 6, 6)] [GlobalAvgPool2D] [BatchNorm]")]
    [InlineData("[Input(3, 6, 6)] [Conv2D(4, 3)] [Dropout(0.5f)] [BatchNorm]")]
    [InlineData("[Input(3, 6, 6)] [Flatten] [BatchNorm]")]
    public void Batch_norm_of_an_image_is_accepted_where_its_channels_are_known(string layers)
    {
        AssertNoDiagnostics($"[Model] {layers} [Flatten] [Dense(2)] public partial class M;");
    }

    [Theory]
    [InlineData("[Conv2D(0, 3)]", "0", "Layer 1 ([Conv2D]): the number of filters must be positive, but it is 0")]
    [InlineData("[Conv2D(2, -1)]", "-1", "Layer 1 ([Conv2D]): the kernel size must be positive")]
    [InlineData("[Conv2D(2, 3, Stride = 0)]", "Stride = 0", "Layer 1 ([Conv2D]): the stride must be positive")]
    [InlineData("[MaxPool2D(0)]", "0", "Layer 1 ([MaxPool2D]): the pool size must be positive")]
    [InlineData("[MaxPool2D(2, Stride = -2)]", "Stride = -2", "Layer 1 ([MaxPool2D]): the stride must be positive")]
    [InlineData("[AvgPool2D(0)]", "0", "Layer 1 ([AvgPool2D]): the pool size must be positive")]
    [InlineData("[AvgPool2D(2, Stride = 0)]", "Stride = 0", "Layer 1 ([AvgPool2D]): the stride must be positive")]
    public void MG0003_window_sizes_not_positive(string layer, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(1, 6, 6)] {layer} [Flatten] [Dense(2)] public partial class M;", "MG0003", at, message);
    }

    [Theory]
    [InlineData("Padding = (Padding)3", "3 is not a defined Padding value")]
    [InlineData("Activation = (Activation)40", "40 is not a defined Activation value")]
    public void MG0008_convolution_undefined_enum(string argument, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(1, 6, 6)] [Conv2D(2, 3, {argument})] [Flatten] [Dense(2)] public partial class M;", "MG0008", argument, message);
    }

    [Fact]
    public void MG0016_invalid_alpha_on_a_convolution()
    {
        AssertSingleDiagnostic(
            "[Model] [Input(1, 6, 6)] [Conv2D(2, 3, Activation = Activation.Tanh, Alpha = 0.5f)] [Flatten] [Dense(2)] public partial class M;",
            "MG0016", "Alpha = 0.5f", "Layer 1 ([Conv2D]): Alpha = 0.5: Alpha applies only to LeakyRelu and Elu, not Tanh");
    }

    [Fact]
    public void MG0010_generic_model()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1)] public partial class G<T>;", "MG0010", "G", "cannot be generic");
    }

    [Fact]
    public void MG0011_static_model()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1)] public static partial class S;", "MG0011", "S", "cannot be static");
    }

    [Theory]
    [InlineData("0f", "HuberDelta = 0f")]
    [InlineData("-1.5f", "HuberDelta = -1.5f")]
    [InlineData("float.NaN", "HuberDelta = float.NaN")]
    public void MG0012_huber_delta_not_positive(string delta, string at)
    {
        AssertSingleDiagnostic(
            $"[Model(Loss = Loss.Huber, HuberDelta = {delta})] [Input(2)] [Dense(1)] public partial class H;", "MG0012", at, "needs a positive, finite δ");
    }

    [Fact]
    public void MG0013_softmax_cross_entropy_on_one_unit()
    {
        AssertSingleDiagnostic(
            "[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(4)] [Dense(1)] public partial class C;",
            "MG0013",
            "Loss = Loss.SoftmaxCrossEntropy",
            "does not fit an output of 1 unit(s): it needs at least 2 classes");
    }

    [Theory]
    [InlineData("Loss.SoftmaxCrossEntropy", "Activation.Relu", "softmax")]
    [InlineData("Loss.BinaryCrossEntropy", "Activation.Sigmoid", "the sigmoid")]
    public void MG0014_activation_before_a_loss_that_applies_its_own_is_a_warning_and_code_is_still_generated(string loss, string activation, string applied)
    {
        var (result, output) = GeneratorHarness.Run($"using ModelGen;\n[Model(Loss = {loss})] [Input(4)] [Dense(3, {activation})] public partial class W;");

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MG0014", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains($"applies {applied} to the last layer's outputs itself", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(activation, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Single(result.GeneratedTrees);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Theory]
    [InlineData("1f", "1f")]
    [InlineData("-0.1f", "-0.1f")]
    [InlineData("rate: 1.5f", "rate: 1.5f")]
    public void MG0015_dropout_rate_out_of_range(string argument, string at)
    {
        AssertSingleDiagnostic($"[Model] [Input(4)] [Dense(3)] [Dropout({argument})] [Dense(1)] public partial class D;", "MG0015", at, "Layer 2 ([Dropout]): the rate is");
    }

    [Theory]
    [InlineData("Activation.Relu, Alpha = 0.1f", "Alpha = 0.1f", "applies only to LeakyRelu and Elu, not Relu")]
    [InlineData("Activation.LeakyRelu, Alpha = 0f", "Alpha = 0f", "must be positive and finite")]
    [InlineData("Activation.Elu, Alpha = float.PositiveInfinity", "Alpha = float.PositiveInfinity", "must be positive and finite")]
    public void MG0016_invalid_alpha(string arguments, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(4)] [Dense(3, {arguments})] public partial class A;", "MG0016", at, message);
    }

    [Theory]
    [InlineData("[Input(100000, 100000)] [Dense(1)]", "Input(100000, 100000)", "[Input] would hold more than 268435456 values")]
    [InlineData("[Input(784)] [Dense(int.MaxValue)]", "Dense(int.MaxValue)", "784 inputs, would hold 1683627179248 values")]
    public void MG0017_model_too_large(string layers, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] {layers} public partial class Big;", "MG0017", at, message);
    }

    [Fact]
    public void MG0017_too_many_parameters_in_total_is_reported_on_the_class()
    {
        AssertSingleDiagnostic(
            "[Model] [Input(16384)] [Dense(16384)] [Dense(16384)] public partial class Big;", "MG0017", "Big", "Model 'Big's parameters would hold");
    }

    [Theory]
    [InlineData("0f")]
    [InlineData("-1e-5f")]
    [InlineData("float.NaN")]
    public void MG0019_layer_norm_epsilon_not_positive(string epsilon)
    {
        AssertSingleDiagnostic($"[Model] [Input(4)] [LayerNorm(Epsilon = {epsilon})] [Dense(2)] public partial class N;", "MG0019", $"Epsilon = {epsilon}", "Layer 1 ([LayerNorm]): Epsilon is");
    }

    [Theory]
    [InlineData("Momentum = 1f", "Momentum = 1f", "Momentum is 1; it must lie in [0, 1)")]
    [InlineData("Momentum = -0.5f", "Momentum = -0.5f", "Momentum is -0.5")]
    public void MG0021_batch_norm_momentum_out_of_range(string arguments, string at, string message)
    {
        AssertSingleDiagnostic($"[Model] [Input(4)] [BatchNorm({arguments})] [Dense(2)] public partial class B;", "MG0021", at, "Layer 1 ([BatchNorm]): " + message);
    }

    [Fact]
    public void MG0019_batch_norm_epsilon_not_positive()
    {
        AssertSingleDiagnostic("[Model] [Input(4)] [BatchNorm(Epsilon = 0f)] [Dense(2)] public partial class B;", "MG0019", "Epsilon = 0f", "Layer 1 ([BatchNorm]): Epsilon is 0");
    }

    [Fact]
    public void MG0020_layer_norm_on_one_value()
    {
        AssertSingleDiagnostic("[Model] [Input(4)] [Dense(1)] [LayerNorm] public partial class N;", "MG0020", "LayerNorm", "Layer 2 ([LayerNorm]) receives 1 value(s)");
    }

    [Theory]
    [InlineData("[Input(null)]", "null")]
    [InlineData("[Input(default)]", "default")]
    [InlineData("[Input(shape: null)]", "shape: null")]
    public void MG0029_input_shape_null(string input, string at)
    {
        AssertSingleDiagnostic(
            $"[Model] {input} [Dense(1)] public partial class M;", "MG0029", at,
            $"[Input]: '{at.Replace("shape: ", string.Empty, StringComparison.Ordinal)}' is not a valid argument: give the shape of one sample");
    }

    [Theory]
    [InlineData("public int ParameterCount => 0;", "ParameterCount", "field ParameterCount")]
    [InlineData("public float[] Parameters = new float[1];", "Parameters", "property Parameters")]
    [InlineData("public void Predict(System.ReadOnlySpan<float> input, System.Span<float> output) { }", "Predict", "method Predict")]
    [InlineData("public M(int seed) { }", "M", "constructor M(int seed)")]
    [InlineData("public class Gradients { }", "Gradients", "property Gradients")]
    [InlineData("public event System.Action? Save;", "Save", "method Save")]
    public void MG0030_user_member_named_like_a_generated_member(string member, string at, string generated)
    {
        AssertSingleDiagnostic(
            "[Model] [Input(2)] [Dense(1)] public partial class M { " + member + " }",
            "MG0030", at, $"on model 'M' clashes with the member {generated}");
    }

    [Theory]
    [InlineData("public void Predict(float[] input) { }")]
    [InlineData("public M(int seed, int other) : this(seed) { }")]
    [InlineData("public void Predict<T>(System.ReadOnlySpan<float> input, System.Span<float> output) { }")]
    public void An_overload_of_a_generated_method_is_not_a_clash(string member)
    {
        AssertNoDiagnostics("[Model] [Input(2)] [Dense(1)] public partial class M { " + member + " }");
    }

    [Theory]
    [InlineData("Loss")]
    [InlineData("Gradients")]
    [InlineData("Parameters")]
    [InlineData("InputSize")]
    public void MG0031_model_named_like_a_generated_member(string name)
    {
        AssertSingleDiagnostic(
            $"[Model] [Input(2)] [Dense(1)] public partial class {name};", "MG0031", name,
            $"Model '{name}' has the name of one of the members ModelGen generates on it");
    }

    [Theory]
    [InlineData("public partial class Net(int x);", "(int x)")]
    [InlineData("public partial class Net();", "()")]
    [InlineData("public sealed partial record Net(int Width);", "(int Width)")]
    public void MG0032_primary_constructor(string declaration, string at)
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1)] " + declaration, "MG0032", at, "Model 'Net' cannot have a primary constructor");
    }

    [Fact]
    public void MG0033_file_local_model()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1)] file partial class Local;", "MG0033", "Local", "'Local' is file-local");
    }

    [Fact]
    public void MG0033_model_nested_in_a_file_local_type()
    {
        AssertSingleDiagnostic(
            "file partial class Outer { [Model] [Input(2)] [Dense(1)] public partial class Inner; }", "MG0033", "Outer",
            "Model 'Inner' cannot be generated: 'Outer' is file-local");
    }

    [Theory]
    [InlineData("[Model] [Input(2)] [Dense(1)] public partial class @var;", "@var", "var")]
    [InlineData("class var { } [Model] [Input(2)] [Dense(1)] public partial class M;", "var", "var")]
    [InlineData("[Model] [Input(2)] [Dense(1)] public partial class M { private class var { } }", "var", "var")]
    [InlineData("[Model] [Input(2)] [Dense(1)] public partial class M { static string nameof(object o) => \"\"; }", "nameof", "nameof")]
    public void MG0034_a_name_in_scope_hides_a_contextual_keyword(string declaration, string at, string name)
    {
        AssertSingleDiagnostic(declaration, "MG0034", at, $"Something named '{name}' is visible inside model");
    }

    [Theory]
    [InlineData("public class Base { public Base(int width) { } }", "Base")]
    [InlineData("public class Base { private Base() { } public Base(int width) { } }", "Base")]
    public void MG0035_base_class_without_a_parameterless_constructor(string baseClass, string at)
    {
        AssertSingleDiagnostic(
            "[Model] [Input(2)] [Dense(1)] public partial class Net : Base { public Net(string s) : base(1) { } } " + baseClass,
            "MG0035", at, "Model 'Net' derives from 'Base', which has no accessible constructor without arguments");
    }

    [Theory]
    [InlineData("public class Base { protected Base() { } }")]
    [InlineData("public class Base { public Base(int width = 3) { } }")]
    [InlineData("public abstract class Base { }")]
    public void A_base_class_with_a_parameterless_constructor_is_fine(string baseClass)
    {
        AssertNoDiagnostics("[Model] [Input(2)] [Dense(1)] public partial class Net : Base; " + baseClass);
    }

    [Fact]
    public void MG0036_required_member()
    {
        AssertSingleDiagnostic(
            "[Model] [Input(2)] [Dense(1)] public partial class Net { public required int Width { get; set; } }",
            "MG0036", "Width", "Model 'Net' cannot have the required member 'Width'");
    }

    [Theory]
    [InlineData("[Input(784)] [Dense(10)] public partial class Forgotten;", "Input(784)")]
    [InlineData("[Dense(10)] [Dropout(0.5f)] public class Forgotten;", "Dense(10)")]
    [InlineData("[Flatten] public partial class Forgotten; [Input(3)] public partial class Forgotten;", "Flatten")]
    public void MG0037_layer_attributes_without_model(string declaration, string at)
    {
        var (result, _) = GeneratorHarness.Run("using ModelGen;\n" + declaration);

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MG0037", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains("'Forgotten' declares layers but has no [Model] attribute", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(at, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Empty(result.GeneratedTrees);
    }

    [Fact]
    public void A_record_struct_model_is_left_to_the_compiler_error_and_generates_nothing()
    {
        // [Model] only applies to classes: the compiler reports CS0592, and the generator must add nothing on top.
        var (result, output) = GeneratorHarness.Run("using ModelGen; [Model] [Input(2)] [Dense(1)] public partial record struct S;");

        Assert.Null(result.Results.Single().Exception);
        Assert.Empty(result.GeneratedTrees);
        Assert.Contains(output.GetDiagnostics(), d => d.Id == "CS0592");
    }

    [Fact]
    public void MG0018_abstract_model()
    {
        AssertSingleDiagnostic("[Model] [Input(2)] [Dense(1)] public abstract partial class Base;", "MG0018", "Base", "cannot be abstract");
    }

    [Fact]
    public void Errors_are_all_reported_in_one_build()
    {
        var (result, _) = GeneratorHarness.Run("using ModelGen; [Model] [Input(0)] [Dense(1, (Activation)42)] public partial class M;");

        Assert.Equal(["MG0003"], result.Diagnostics.Select(d => d.Id).Distinct());
        Assert.Null(result.Results.Single().Exception);
    }

    [Fact]
    public void An_attribute_the_compiler_rejects_generates_nothing_and_does_not_crash()
    {
        var (result, output) = GeneratorHarness.Run("using ModelGen; [Model] [Input(2)] [Dense(\"ten\")] public partial class M;");

        Assert.Null(result.Results.Single().Exception);
        Assert.Empty(result.GeneratedTrees);
        Assert.Contains(output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error && d.Id.StartsWith("CS", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_descriptor_is_documented_and_tracked()
    {
        var descriptors = typeof(ModelGenerator).Assembly.GetType("ModelGen.Generator.DiagnosticDescriptors", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .ToList();
        var ids = descriptors.Select(d => d.Id).ToList();
        var root = RepositoryPaths.Root;
        var docs = File.ReadAllText(Path.Combine(root, "docs", "diagnostics.md"));
        var releases = File.ReadAllText(Path.Combine(root, "Generator", "AnalyzerReleases.Unshipped.md"));

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Contains("## " + id + "\n", docs.ReplaceLineEndings("\n")));
        Assert.All(ids, id => Assert.Contains(id + " |", releases));
        Assert.All(descriptors, d =>
        {
            Assert.Equal("docs/diagnostics.md#" + d.Id.ToLowerInvariant(), d.HelpLinkUri);
            Assert.False(string.IsNullOrWhiteSpace(d.Description.ToString(System.Globalization.CultureInfo.InvariantCulture)), d.Id);
        });
    }

    [Fact]
    public void MG0999_an_unexpected_failure_in_a_stage_becomes_an_error_on_the_model()
    {
        // A layer kind the checker does not know makes it throw, as a bug would.
        var where = LocationInfo.From(Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("partial class Broken;", path: "Broken.cs").GetRoot().GetLocation());
        var spec = new ModelSpec(
            new TypeSpec(EquatableArray<string>.Empty, EquatableArray<ContainingTypeSpec>.Empty, "class", "Broken"), generator::ModelGen.Loss.MeanSquaredError, null, 1f, null,
            where,
            new LayerSpec[] { new InputSpec(new[] { 2 }.ToEquatableArray(), null), new UnknownLayer() }.ToEquatableArray());

        var result = ModelGenerator.CheckSafely(new StageResult<ModelSpec>(spec, EquatableArray<DiagnosticInfo>.Empty));

        Assert.Null(result.Value);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MG0999", diagnostic.Descriptor.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Descriptor.DefaultSeverity);
        Assert.Contains("Broken", diagnostic.Arguments[0]);
        Assert.Contains("No layer kind reads UnknownLayer", diagnostic.Arguments[1]);
        Assert.NotNull(where);
        Assert.Equal(where, diagnostic.Location);
    }

    private sealed record UnknownLayer() : LayerSpec((LocationInfo?)null)
    {
        public override string Kind => "Unknown";
    }

    /// <summary>No model code was generated: at most the stand-ins that keep a broken model's uses compiling.</summary>
    private static void AssertNothingButStandIns(GeneratorDriverRunResult result) =>
        Assert.All(result.Results.Single().GeneratedSources, s => Assert.Contains("every member throws", s.SourceText.ToString(), StringComparison.Ordinal));

    private static void AssertNoDiagnostics(string declaration)
    {
        var (result, output) = GeneratorHarness.Run("using ModelGen;\n" + declaration);

        Assert.Empty(result.Diagnostics);
        Assert.Single(result.GeneratedTrees);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Theory]
    [InlineData("[Dense(4)]", "Dense")]
    [InlineData("[Attention(2)]", "Attention")]
    [InlineData("[LayerNorm]", "LayerNorm")]
    public void MG0046_a_layer_other_than_an_embedding_on_token_ids(string layer, string kind) =>
        AssertSingleDiagnostic(
            $"[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(8, Vocabulary = 12)] {layer} [Dense(3)] public partial class M;",
            "MG0046", layer.Trim('[', ']'), $"Layer 1 ([{kind}]) receives token ids (8 tokens of 12)");

    [Fact]
    public void MG0047_an_embedding_on_values() =>
        AssertSingleDiagnostic(
            "[Model] [Input(8, 4)] [Embedding(16)] [Flatten] [Dense(1)] public partial class M;",
            "MG0047", "Embedding(16)", "Layer 1 ([Embedding]) looks up token ids, but it receives samples of shape 8×4");

    [Fact]
    public void MG0048_attention_on_a_flat_vector() =>
        AssertSingleDiagnostic(
            "[Model] [Input(32)] [Attention(2)] [Dense(1)] public partial class M;",
            "MG0048", "Attention(2)", "Layer 1 ([Attention]) works on a sequence of positions × features, but it receives samples of shape 32");

    [Fact]
    public void MG0048_sequence_pooling_of_an_image() =>
        AssertSingleDiagnostic(
            "[Model] [Input(1, 4, 4)] [SequencePool] [Dense(1)] public partial class M;",
            "MG0048", "SequencePool", "Layer 1 ([SequencePool]) works on a sequence of positions × features, but it receives samples of shape 1×4×4");

    [Fact]
    public void MG0049_a_head_count_that_does_not_divide_the_width() =>
        AssertSingleDiagnostic(
            "[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(8, Vocabulary = 12)] [Embedding(30)] [Attention(4)] [TiedHead] public partial class M;",
            "MG0049", "4", "Layer 2 ([Attention]): 4 heads cannot split the sequence's 30 features evenly");

    [Fact]
    public void MG0050_a_tied_head_without_an_embedding() =>
        AssertSingleDiagnostic(
            "[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(8, 6)] [Attention(2)] [TiedHead] public partial class M;",
            "MG0050", "TiedHead", "Layer 2 ([TiedHead]) shares an embedding's table, but no [Embedding] comes before it");

    [Fact]
    public void MG0050_a_tied_head_whose_width_differs_from_the_embedding() =>
        AssertSingleDiagnostic(
            "[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input(8, Vocabulary = 12)] [Embedding(16)] [Dense(20)] [TiedHead] public partial class M;",
            "MG0050", "TiedHead", "receives 20 features per position, but the embedding's table has rows of 16");

    [Theory]
    [InlineData("[Input(8, Vocabulary = 1)]", "Vocabulary = 1", "the number of distinct tokens, at least 2")]
    [InlineData("[Input(8, 2, Vocabulary = 12)]", "Vocabulary = 12", "one size with it, the positions")]
    public void MG0029_a_token_input_that_cannot_be(string input, string at, string message) =>
        AssertSingleDiagnostic(
            $"[Model(Loss = Loss.SoftmaxCrossEntropy)] {input} [Embedding(4)] [TiedHead] public partial class M;", "MG0029", at, message);

    private static void AssertSingleDiagnostic(string declaration, string id, string at, string message, string? extra = null)
    {
        var source = "using ModelGen;\n" + declaration;
        var (result, _) = GeneratorHarness.Run(source);

        Assert.Null(result.Results.Single().Exception);
        AssertNothingButStandIns(result);
        var diagnostics = result.Diagnostics.Where(d => d.Id != extra).ToList();
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Contains(message, diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(diagnostic.Location.IsInSource, "The diagnostic has no source location.");
        Assert.Equal(at, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Equal(1, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
    }
}
