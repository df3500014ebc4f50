using BenchmarkDotNet.Running;

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

if (args is ["alignment"])
{
    ModelGen.Benchmarks.AlignmentEffect.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ModelGen.Benchmarks.DenseMlpBenchmarks).Assembly).Run(args);
