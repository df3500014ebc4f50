using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Runtime.Intrinsics;

namespace ModelGen.Benchmarks;

/// <summary>
/// A streamed epoch against an in-memory one, side by side (<c>stream-fashion [ROUNDS]</c>): <see cref="FashionMlp"/>,
/// batch 64, Adam, shuffled, one epoch of Fashion-MNIST's training set per variant, the variants taking turns round by
/// round (after one untimed round) so the machine's drift falls on all alike. The variants: the set in memory
/// (<see cref="Dataset"/>), the raw IDX pair streamed (<see cref="StreamingDataset.OpenIdx"/>) and the set as a record
/// file streamed (<see cref="StreamingDataset.OpenRecords(string[])"/>). The streamed files are written to a
/// temporary folder first (decompressed, since gzip cannot be read at random) and deleted at the end; they are in the
/// page cache, as a set read every epoch is. The full set when it is installed, else the 3,000 embedded images.
/// </summary>
internal static class StreamingThroughput
{
    public static void Run(int rounds)
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-stream-bench-").FullName;
        try
        {
            var (images, labels, source) = RawIdx(directory);
            var inMemory = Dataset.FromLabels(Idx.ReadImages(images, out _, out _), FashionMlp.InputSize, Idx.ReadLabels(labels));
            var records = Path.Combine(directory, "train.mgrec");
            RecordFileWriter.WriteAll(records, inMemory);
            var streamedIdx = StreamingDataset.OpenIdx(images, labels);
            var streamedRecords = StreamingDataset.OpenRecords(records);

            (string Name, Func<FashionMlp, FitOptions, TrainingHistory> Fit)[] variants =
            [
                ("in memory (Dataset)", (model, options) => model.Fit(inMemory, options)),
                ("streamed, raw IDX", (model, options) => model.Fit(streamedIdx, options)),
                ("streamed, record file", (model, options) => model.Fit(streamedRecords, options)),
            ];

            FitOptions Options() => new() { Epochs = 1, BatchSize = 64, Optimizer = new Adam(1e-3f), Seed = 1 };
            var times = variants.Select(_ => new List<double>()).ToArray();
            var losses = new float[variants.Length];
            for (var round = -1; round < rounds; round++)
            {
                // Alternate which variant goes first, so that none always follows the same one.
                var turn = round % 2 == 0 ? Enumerable.Range(0, variants.Length) : Enumerable.Range(0, variants.Length).Reverse();
                foreach (var v in turn)
                {
                    var model = new FashionMlp(seed: 1);
                    var start = Stopwatch.GetTimestamp();
                    var history = variants[v].Fit(model, Options());
                    Measurements.AddIf(round >= 0, times[v], Stopwatch.GetElapsedTime(start).TotalSeconds);
                    losses[v] = history.Epochs[0].Loss;
                }
            }

            var isa = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : Vector128.IsHardwareAccelerated ? "SSE" : "scalar";
            Console.WriteLine($"{Cpu()}, {isa}, {Environment.ProcessorCount} logical cores, {Kernels.KernelSettings.MaxThreads} kernel thread(s)");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Fit, FashionMlp, batch 64, Adam, shuffled, one epoch of {source} ({inMemory.Count:N0} samples): medians of {rounds} interleaved rounds"));
            Console.WriteLine("| variant | s per epoch | samples/s | vs in memory | loss |");
            Console.WriteLine("|---|--:|--:|--:|--:|");
            var reference = Measurements.Median(times[0]);
            for (var v = 0; v < variants.Length; v++)
            {
                var median = Measurements.Median(times[v]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {variants[v].Name} | {median:F3} | {inMemory.Count / median:N0} | {reference / median:P1} | {losses[v]:F6} |"));
            }

            Console.WriteLine(losses.Distinct().Count() == 1
                ? "The three epochs ended with the same loss, as they must (the same samples, order and arithmetic)."
                : "THE LOSSES DIFFER: the streamed and in-memory runs did not train alike.");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Fashion-MNIST's training set as a raw IDX pair in <paramref name="directory"/>.</summary>
    private static (string Images, string Labels, string Source) RawIdx(string directory)
    {
        const string installed = "/usr/share/datasets/fashion-mnist";
        var images = Path.Combine(directory, "train-images-idx3-ubyte");
        var labels = Path.Combine(directory, "train-labels-idx1-ubyte");
        foreach (var (folder, source) in new[] { (installed, "the full training set"), (EmbeddedData(), "the 3,000 embedded images (the full set is not installed)") })
        {
            if (File.Exists(Path.Combine(folder, "train-images-idx3-ubyte.gz")))
            {
                Decompress(Path.Combine(folder, "train-images-idx3-ubyte.gz"), images);
                Decompress(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), labels);
                return (images, labels, source);
            }
        }

        throw new FileNotFoundException("Neither the installed Fashion-MNIST nor the sample's embedded subset was found.");
    }

    private static string EmbeddedData()
    {
        var directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "ModelGen.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return Path.Combine(directory ?? ".", "Samples", "FashionMnist", "Data");
    }

    private static void Decompress(string gzipped, string raw)
    {
        using var input = new GZipStream(File.OpenRead(gzipped), CompressionMode.Decompress);
        using var output = File.Create(raw);
        input.CopyTo(output);
    }

    private static string Cpu()
    {
        const string info = "/proc/cpuinfo";
        var line = File.Exists(info) ? File.ReadLines(info).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line is null ? "unknown CPU" : line[(line.IndexOf(':') + 1)..].Trim();
    }
}
