using BenchmarkDotNet.Running;

if (args is ["sustained", ..])
{
    var thousands = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10;
    var threads = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1;
    ModelGen.Benchmarks.SustainedTraining.Run(thousands, threads);
    return;
}

if (args is ["threads"])
{
    ModelGen.Benchmarks.ThreadScaling.Run();
    return;
}

if (args is ["roofline", ..])
{
    ModelGen.Benchmarks.GemmRoofline.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15);
    return;
}

if (args is ["training", ..])
{
    ModelGen.Benchmarks.TrainingBreakdown.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 400);
    return;
}

if (args is ["split", ..])
{
    ModelGen.Benchmarks.SplitBalance.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["inplace", ..])
{
    ModelGen.Benchmarks.InPlaceA.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["predict", ..])
{
    ModelGen.Benchmarks.SinglePrediction.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["steps", ..])
{
    ModelGen.Benchmarks.SplitTraining.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["phases", ..])
{
    ModelGen.Benchmarks.StepPhases.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["vcpus", ..])
{
    ModelGen.Benchmarks.VcpuCapacity.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
    return;
}

if (args is ["tiles", ..])
{
    ModelGen.Benchmarks.KernelSwitch.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 31, "6×64 tile for rows and depth blocks", on => ModelGen.Kernels.Gemm.UseWideTiles = on);
    return;
}

if (args is ["edges", ..])
{
    ModelGen.Benchmarks.KernelSwitch.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 31, "edges written as masked vectors", on => ModelGen.Kernels.Gemm.MaskedEdges = on);
    return;
}

if (args is ["panels", ..])
{
    ModelGen.Benchmarks.KernelSwitch.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 31, "B packed panel by panel", on => ModelGen.Kernels.Gemm.PackBPerPanel = on);
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

if (args is ["alignment"])
{
    ModelGen.Benchmarks.AlignmentEffect.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ModelGen.Benchmarks.DenseMlpBenchmarks).Assembly).Run(args);
