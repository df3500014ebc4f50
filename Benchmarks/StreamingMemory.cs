using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>A small classifier for the streaming memory check: 784 inputs, as a Fashion-MNIST image, 10 classes.</summary>
[Model(Loss = Loss.SoftmaxCrossEntropy)]
[Input(784)]
[Dense(32, Activation.Relu)]
[Dense(10)]
public partial class StreamingMlp;

/// <summary>
/// The memory floor of streamed training (<c>Benchmarks/streaming-memory.sh</c> runs both steps and reads the peak
/// resident set from <c>/usr/bin/time -v</c>): <c>stream-memory write FILE SAMPLES</c> writes a record file of that
/// many random samples of 784 floats and a label (1.4 million make 4.4 GB), in parts, so that writing holds little
/// memory too; <c>stream-memory fit FILE [THREADS]</c> trains <see cref="StreamingMlp"/> on it for one shuffled epoch
/// with a validation split and prints the time and the process's own peak resident set (VmHWM).
/// </summary>
internal static class StreamingMemory
{
    private const int Features = 784;
    private const int Classes = 10;

    /// <summary>Samples generated and written at a time.</summary>
    private const int Part = 4096;

    public static void Run(string[] args)
    {
        switch (args)
        {
            case [_, "write", var path, var samples]:
                Write(path, int.Parse(samples, CultureInfo.InvariantCulture));
                break;
            case [_, "fit", var path, ..]:
                Fit(path, args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1);
                break;
            default:
                Console.Error.WriteLine("usage: stream-memory write FILE SAMPLES | stream-memory fit FILE [THREADS]");
                Environment.Exit(2);
                break;
        }
    }

    private static void Write(string path, int samples)
    {
        var start = Stopwatch.GetTimestamp();
        var random = new SeededRandom(1);
        var features = new float[Part * Features];
        var labels = new float[Part];
        using (var writer = new RecordFileWriter(path, Features, 1))
        {
            for (var done = 0; done < samples; done += Part)
            {
                var count = Math.Min(Part, samples - done);
                for (var i = 0; i < count; i++)
                {
                    // Each image brighter where its label says: something to learn, so the loss means something.
                    var label = random.NextInt32(Classes);
                    labels[i] = label;
                    var image = features.AsSpan(i * Features, Features);
                    for (var p = 0; p < image.Length; p++)
                    {
                        image[p] = random.NextSingle() + (p % Classes == label ? 0.5f : 0f);
                    }
                }

                writer.Write(features.AsSpan(0, count * Features), labels.AsSpan(0, count));
            }
        }

        var bytes = new FileInfo(path).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {samples:N0} samples, {bytes / 1e9:F2} GB, in {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s; peak resident set of the writer {PeakResidentMiB()} MiB"));
    }

    private static void Fit(string path, int threads)
    {
        KernelSettings.MaxThreads = threads;
        var data = StreamingDataset.OpenRecords(path);
        var model = new StreamingMlp(seed: 1);
        var options = new FitOptions { Epochs = 1, BatchSize = 256, Optimizer = new Adam(1e-3f), Seed = 1, ValidationSplit = 0.01f };
        var start = Stopwatch.GetTimestamp();
        var history = model.Fit(data, options);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var epoch = history.Epochs[0];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one epoch of {data.Count:N0} samples ({new FileInfo(path).Length / 1e9:F2} GB, shuffled, 1 % held out) on {threads} thread(s): {seconds:F1} s, " +
            $"{data.Count / seconds:N0} samples/s; loss {epoch.Loss:F4}, validation loss {epoch.ValidationLoss:F4}, accuracy {epoch.ValidationAccuracy:F4}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"managed memory {GC.GetTotalMemory(forceFullCollection: false) / 1048576.0:F1} MiB, allocated in all {GC.GetTotalAllocatedBytes() / 1048576.0:F1} MiB; " +
            $"peak resident set (VmHWM) {PeakResidentMiB()} MiB"));
    }

    /// <summary>The process's peak resident set in MiB, from /proc/self/status (Linux), or "?" elsewhere.</summary>
    private static string PeakResidentMiB()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return "?";
        }

        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kilobytes = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return (kilobytes / 1024).ToString(CultureInfo.InvariantCulture);
            }
        }

        return "?";
    }
}
