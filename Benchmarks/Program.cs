using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(ModelGen.Benchmarks.DenseMlpBenchmarks).Assembly).Run(args);
