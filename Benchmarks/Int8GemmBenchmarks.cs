using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using ModelGen.Kernels;
using ModelGen.Quantization;

namespace ModelGen.Benchmarks;

/// <summary>
/// The Fashion MLP's three forward products (784→256, 256→128, 128→10, ReLU on the first two) in int8 against the
/// float <see cref="Gemm"/> (the baseline), for one sample (batch 1: the GEMV case, <c>Predict</c>) and a batch of
/// 256, on one thread and on two: the int32 sums alone (<see cref="Int8Gemm.Multiply"/>), the sums dequantized with
/// bias and activation (<see cref="Int8Gemm.MultiplyDequantize"/>, what replaces the float product), and the whole
/// quantized layer, which also quantizes its float inputs per sample (<see cref="QuantizedDense.Forward"/>).
/// Run: <c>dotnet run -c Release --project Benchmarks -- --filter *Int8GemmBenchmarks*</c>.
/// </summary>
[MedianColumn]
public class Int8GemmBenchmarks
{
    private Int8Operands _operands = null!;

    public static IEnumerable<DenseShape> Layers => DenseShape.FashionMlp;

    [ParamsSource(nameof(Layers))]
    public DenseShape Layer { get; set; } = DenseShape.FashionMlp[0];

    [Params(1, 256)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.MaxThreads = Threads;
        _operands = new Int8Operands(Layer, Batch);
    }

    [Benchmark(Baseline = true, Description = "float Gemm.Multiply")]
    public void Float() => _operands.RunFloat();

    [Benchmark(Description = "int8 sums")]
    public void Int8Sums() => _operands.RunSums(Int8Gemm.BestPath);

    [Benchmark(Description = "int8 dequantized")]
    public void Int8Dequantized() => _operands.RunDequantized();

    [Benchmark(Description = "int8 layer (quantize + product)")]
    public void Int8Layer() => _operands.RunLayer();
}

/// <summary>
/// The int8 sums of the same products through each path the processor has (VNNI, AVX-512BW, AVX2, SSSE3, scalar),
/// on one thread: which path <see cref="Int8Gemm"/> should prefer where several are available.
/// Run: <c>dotnet run -c Release --project Benchmarks -- --filter *Int8PathBenchmarks*</c>.
/// </summary>
[MedianColumn]
public class Int8PathBenchmarks
{
    private Int8Operands _operands = null!;
    private Int8Path _path;

    public static IEnumerable<DenseShape> Layers => DenseShape.FashionMlp;

    /// <summary>The accelerated paths, by name (the enum is internal to the runtime).</summary>
    public static IEnumerable<string> Paths => Enum.GetValues<Int8Path>().Where(Int8Gemm.IsAccelerated).Select(path => path.ToString());

    [ParamsSource(nameof(Layers))]
    public DenseShape Layer { get; set; } = DenseShape.FashionMlp[0];

    [Params(1, 256)]
    public int Batch { get; set; }

    [ParamsSource(nameof(Paths))]
    public string Path { get; set; } = nameof(Int8Path.Scalar);

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.MaxThreads = 1;
        _path = Enum.Parse<Int8Path>(Path);
        _operands = new Int8Operands(Layer, Batch);
    }

    [Benchmark]
    public void Sums() => _operands.RunSums(_path);
}

/// <summary>A dense layer's shape: inputs → units, with or without ReLU.</summary>
public sealed record DenseShape(int Inputs, int Units, bool Relu)
{
    /// <summary>The forward layers of the Fashion MLP 784-256-128-10.</summary>
    public static readonly DenseShape[] FashionMlp = [new(784, 256, true), new(256, 128, true), new(128, 10, false)];

    public override string ToString() => $"{Inputs}x{Units}";
}

/// <summary>Random float operands of one layer and batch, and their int8 counterparts (weights per unit, inputs per sample).</summary>
public sealed class Int8Operands
{
    private readonly int _batch;
    private readonly DenseShape _shape;
    private readonly float[] _x;
    private readonly float[] _w;
    private readonly float[] _bias;
    private readonly float[] _y;
    private readonly byte[] _levels;
    private readonly float[] _rowScales;
    private readonly int[] _rowZeroPoints;
    private readonly int[] _sums;
    private readonly QuantizedDense _layer;

    public Int8Operands(DenseShape shape, int batch)
    {
        (_shape, _batch) = (shape, batch);
        var random = new Random(shape.Inputs + shape.Units + batch);
        // Inputs as a ReLU layer or pixels give them (non-negative); weights and bias centered on zero.
        _x = Enumerable.Range(0, batch * shape.Inputs).Select(_ => random.NextSingle()).ToArray();
        _w = Enumerable.Range(0, shape.Inputs * shape.Units).Select(_ => (random.NextSingle() - 0.5f) * 0.1f).ToArray();
        _bias = Enumerable.Range(0, shape.Units).Select(_ => (random.NextSingle() - 0.5f) * 0.1f).ToArray();
        _y = new float[batch * shape.Units];
        _sums = new int[batch * shape.Units];
        _layer = QuantizedDense.Quantize(_w, _bias, shape.Inputs, shape.Units, Activation);
        _levels = new byte[_x.Length];
        _rowScales = new float[batch];
        _rowZeroPoints = new int[batch];
        ActivationQuantizer.QuantizeRows(_x, shape.Inputs, _levels, _rowScales, _rowZeroPoints);
    }

    private GemmActivation Activation => _shape.Relu ? GemmActivation.Relu : GemmActivation.None;

    public void RunFloat() => Gemm.Multiply(_x, _w, _y, _batch, _shape.Units, _shape.Inputs, _bias, Activation);

    internal void RunSums(Int8Path path) => Int8Gemm.MultiplyWith(path, _levels, _layer.Weights.Packed, _sums, _batch, _shape.Units, _shape.Inputs);

    public void RunDequantized() =>
        Int8Gemm.MultiplyDequantize(_levels, _layer.Weights.Packed, _y, _batch, _shape.Units, _shape.Inputs, new Int8Dequantization
        {
            RowScales = _rowScales,
            RowZeroPoints = _rowZeroPoints,
            ColumnScales = _layer.Weights.Scales,
            ColumnSums = _layer.Weights.ColumnSums,
            Bias = _bias,
            Activation = Activation,
        });

    public void RunLayer() => _layer.Forward(_x, _y);
}
