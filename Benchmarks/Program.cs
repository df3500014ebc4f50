using BenchmarkDotNet.Running;

if (args is ["sustained", ..])
{
    var thousands = Number(1, 10);
    var threads = Number(2, 1);
    ModelGen.Benchmarks.SustainedTraining.Run(thousands, threads);
    return;
}

if (args is ["conv", ..])
{
    ModelGen.Benchmarks.ConvolutionCost.Run(Number(1, 31));
    return;
}

if (args is ["torch-side", ..])
{
    ModelGen.Benchmarks.TorchComparison.Run(Number(1, 5));
    return;
}

if (args is ["wide-cnn", ..])
{
    ModelGen.Benchmarks.ConvolutionCost.Train(Number(1, 2000), args is [_, _, "mlp"]);
    return;
}

if (args is ["conv-products", ..])
{
    ModelGen.Benchmarks.ConvolutionProducts.Run(Number(1, 21));
    return;
}

if (args is ["batchnorm", ..])
{
    ModelGen.Benchmarks.BatchNormCost.Run(Number(1, 31));
    return;
}

if (args is ["threads"])
{
    ModelGen.Benchmarks.ThreadScaling.Run();
    return;
}

if (args is ["fit", ..])
{
    ModelGen.Benchmarks.FitGather.Run(Number(1, 11));
    return;
}

if (args is ["roofline", ..])
{
    ModelGen.Benchmarks.GemmRoofline.Run(Number(1, 15));
    return;
}

if (args is ["training", ..])
{
    ModelGen.Benchmarks.TrainingBreakdown.Run(Number(1, 400));
    return;
}

if (args is ["split", ..])
{
    ModelGen.Benchmarks.SplitBalance.Run(Number(1));
    return;
}

if (args is ["inplace", ..])
{
    ModelGen.Benchmarks.InPlaceA.Run(Number(1));
    return;
}

if (args is ["predict", ..])
{
    ModelGen.Benchmarks.SinglePrediction.Run(Number(1));
    return;
}

if (args is ["int8", ..])
{
    ModelGen.Benchmarks.Int8Inference.Run(Number(1, 21), Number(2, 1));
    return;
}

if (args is ["steps", ..])
{
    ModelGen.Benchmarks.SplitTraining.Run(Number(1));
    return;
}

if (args is ["phases", ..])
{
    ModelGen.Benchmarks.StepPhases.Run(Number(1));
    return;
}

if (args is ["vcpus", ..])
{
    ModelGen.Benchmarks.VcpuCapacity.Run(Number(1, 200));
    return;
}

if (args is ["tiles", ..])
{
    ModelGen.Benchmarks.KernelSwitch.Run(Number(1, 31), "6×64 tile for rows and depth blocks", on => ModelGen.Kernels.Gemm.Tuning = ModelGen.Kernels.GemmTuning.Default with { WideTiles = on });
    return;
}

if (args is ["adam", ..])
{
    ModelGen.Benchmarks.AdamCost.Run(Number(1, 101));
    return;
}

if (args is ["edges", ..])
{
    ModelGen.Benchmarks.KernelSwitch.Run(Number(1, 31), "edges written as masked vectors", on => ModelGen.Kernels.Gemm.Tuning = ModelGen.Kernels.GemmTuning.Default with { MaskedEdges = on });
    return;
}

if (args is ["panels", ..])
{
    ModelGen.Benchmarks.KernelSwitch.Run(Number(1, 31), "B packed panel by panel", on => ModelGen.Kernels.Gemm.Tuning = ModelGen.Kernels.GemmTuning.Default with { PackBPerPanel = on });
    return;
}

if (args is ["overhead"])
{
    ModelGen.Benchmarks.SplitOverhead.Run();
    return;
}

if (args is ["spin"])
{
    ModelGen.Benchmarks.SpinEffect.Run(301);
    return;
}

if (args is ["spirals", ..])
{
    ModelGen.Benchmarks.SpiralTraining.Run(Number(1, 30), args is [_, _, "ulp"]);
    return;
}

if (args is ["stream-memory", ..])
{
    ModelGen.Benchmarks.StreamingMemory.Run(args);
    return;
}

if (args is ["resnet", ..])
{
    ModelGen.Benchmarks.ResNetStep.Run(Number(1, 40));
    return;
}

if (args is ["stream-fashion", ..])
{
    ModelGen.Benchmarks.StreamingThroughput.Run(Number(1, 5));
    return;
}

if (args is ["dp-fashion", ..])
{
    ModelGen.Benchmarks.PrivateTrainingCost.Run(Number(1, 5));
    return;
}

if (args is ["lstm", ..])
{
    ModelGen.Benchmarks.RecurrentStep.Run(Number(1, 7));
    return;
}

if (args is ["attention", ..])
{
    ModelGen.Benchmarks.AttentionCost.Run(Number(1, 21));
    return;
}

if (args is ["alignment"])
{
    ModelGen.Benchmarks.AlignmentEffect.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ModelGen.Benchmarks.DenseMlpBenchmarks).Assembly).Run(args);

// The command's number argument at <index>, or <fallback> when it is left out (required when there is no fallback).
int Number(int index, int? fallback = null) =>
    args.Length > index || fallback is null ? int.Parse(args[index], System.Globalization.CultureInfo.InvariantCulture) : fallback.Value;
