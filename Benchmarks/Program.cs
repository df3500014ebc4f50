using BenchmarkDotNet.Running;

if (args is ["threads"])
{
    ModelGen.Benchmarks.ThreadScaling.Run();
    return;
}

if (args is ["alignment"])
{
    ModelGen.Benchmarks.AlignmentEffect.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ModelGen.Benchmarks.DenseMlpBenchmarks).Assembly).Run(args);
