using System;
using System.Diagnostics;
using System.IO;
using System.Runtime;
using ModelGen.Samples.LinearRegression;

Console.WriteLine($"Learning y = 3x + U[0, 1) from {Example.Samples} samples: {Example.Epochs} epochs of SGD (lr 0.01, batch 32).");
// --time: how long the training took, and how much of it the JIT spent compiling (Benchmarks/jit-startup.sh compares
// this process under the JIT, with ReadyToRun code and as a NativeAOT binary).
var timed = args.Length > 0 && args[0] == "--time";
var (compileBefore, methodsBefore, started) = (JitInfo.GetCompilationTime(), JitInfo.GetCompiledMethodCount(), Stopwatch.GetTimestamp());
var result = Example.Run(seed: 42);
if (timed)
{
    Console.WriteLine(FormattableString.Invariant(
        $"fit_ms={Stopwatch.GetElapsedTime(started).TotalMilliseconds:F2} jit_ms={(JitInfo.GetCompilationTime() - compileBefore).TotalMilliseconds:F2} jit_methods={JitInfo.GetCompiledMethodCount() - methodsBefore}"));
}

Span<float> prediction = stackalloc float[LinearRegression.OutputSize];
foreach (var x in new[] { 0f, 0.5f, 1f })
{
    result.Model.Predict([x], prediction);
    Console.WriteLine(FormattableString.Invariant($"predict({x:F1}) = {prediction[0]:F4}   (the true line with mean noise: {(3 * x) + 0.5f:F4})"));
}

// Weights travel as safetensors (PyTorch reads the same file): save, load, and predict the same.
var path = Path.Combine(Path.GetTempPath(), $"linear-regression-{Environment.ProcessId}.safetensors");
result.Model.Save(path);
var reloaded = LinearRegression.Load(path);
File.Delete(path);
Span<float> again = stackalloc float[LinearRegression.OutputSize];
reloaded.Predict([0.5f], again);
result.Model.Predict([0.5f], prediction);
if (again[0] != prediction[0])
{
    Console.Error.WriteLine($"The reloaded model predicts {again[0]}, the saved one {prediction[0]}.");
    return 1;
}

Console.WriteLine(FormattableString.Invariant($"Saved as safetensors and reloaded: predict(0.5) = {again[0]:F4} again."));
Console.WriteLine(result);
return 0;
