using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Threading;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// The real interruption: a training process (<c>Tests/ModelGen.ResumeProbe</c>) killed with SIGKILL at a random
/// moment, twice, and started again each time, ends with the same weights file, byte for byte, as a process that was
/// never interrupted. A kill that lands during a checkpoint save must leave the previous checkpoint readable.
/// </summary>
public sealed class CheckpointKillTests : IDisposable
{
    private const int Epochs = 12;

    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-kill-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_training_process_killed_twice_and_restarted_ends_as_an_uninterrupted_one()
    {
        var uninterrupted = Path.Combine(_directory, "whole.safetensors");
        RunToEnd(Path.Combine(_directory, "whole.ckpt"), uninterrupted);

        var checkpoint = Path.Combine(_directory, "killed.ckpt");
        var resumed = Path.Combine(_directory, "resumed.safetensors");
        var random = new Random(5);
        KillAfter(checkpoint, resumed, epoch: 3, delayMilliseconds: random.Next(0, 100));
        var first = SavedEpoch(checkpoint);
        KillAfter(checkpoint, resumed, epoch: 8, delayMilliseconds: random.Next(0, 100));
        var second = SavedEpoch(checkpoint);
        Assert.False(File.Exists(resumed), "a killed run must not have reached its final save");
        Assert.InRange(first, 3, Epochs - 1);
        Assert.InRange(second, 8, Epochs - 1);
        RunToEnd(checkpoint, resumed);

        Assert.Equal(File.ReadAllBytes(uninterrupted), File.ReadAllBytes(resumed));
    }

    /// <summary>
    /// Starts the probe, waits until its checkpoint holds <paramref name="epoch"/>, waits a little more (so the kill
    /// lands in training or in the next save), and kills it.
    /// </summary>
    private static void KillAfter(string checkpoint, string weights, int epoch, int delayMilliseconds)
    {
        using var process = Start(checkpoint, weights);
        var watch = Stopwatch.StartNew();
        while (SavedEpoch(checkpoint) < epoch)
        {
            // The message is built only on failure: reading the error stream waits for the process to end.
            if (process.HasExited)
            {
                Assert.Fail($"the probe ended before epoch {epoch}: {process.StandardError.ReadToEnd()}");
            }

            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), $"the probe did not reach epoch {epoch} within two minutes");
            Thread.Sleep(2);
        }

        Thread.Sleep(delayMilliseconds);
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>The epoch a checkpoint file records, 0 if there is none yet.</summary>
    private static int SavedEpoch(string checkpoint)
    {
        if (!File.Exists(checkpoint))
        {
            return 0;
        }

        // The file is replaced by a rename, so whatever is read here is one complete checkpoint.
        var bytes = File.ReadAllBytes(checkpoint);
        var header = bytes.AsSpan(8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        using var json = JsonDocument.Parse(header.ToArray());
        return int.Parse(json.RootElement.GetProperty("__metadata__").GetProperty("epoch").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void RunToEnd(string checkpoint, string weights)
    {
        using var process = Start(checkpoint, weights);
        Assert.True(process.WaitForExit(120_000), "the probe did not finish within two minutes");
        if (process.ExitCode != 0)
        {
            Assert.Fail($"the probe failed ({process.ExitCode}): {process.StandardError.ReadToEnd()}");
        }
    }

    private static Process Start(string checkpoint, string weights)
    {
        var probe = Path.Combine(AppContext.BaseDirectory, "ModelGen.ResumeProbe.dll");
        Assert.True(File.Exists(probe), $"{probe} was not built beside the tests");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["exec", probe, checkpoint, weights, Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the probe");
        process.OutputDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }
}
