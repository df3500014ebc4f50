using System;
using System.IO;
using System.Text;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Compares text with <c>Snapshots/NAME.verified.cs</c>, named as Verify.SourceGenerators would name it, so that
/// package could replace this harness without renaming a file. A mismatch writes
/// <c>NAME.received.cs</c> beside it and fails; with <c>MODELGEN_ACCEPT_SNAPSHOTS=1</c> the received text becomes
/// the verified one instead.
/// </summary>
internal static class SnapshotAssert
{
    public const string AcceptVariable = "MODELGEN_ACCEPT_SNAPSHOTS";

    public static void Matches(string name, string actual)
    {
        var directory = RepositoryPaths.SnapshotDirectory;
        var verifiedPath = Path.Combine(directory, name + ".verified.cs");
        var receivedPath = Path.Combine(directory, name + ".received.cs");
        actual = actual.Replace("\r\n", "\n");
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

        var expected = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).Replace("\r\n", "\n") : null;
        if (expected == actual)
        {
            File.Delete(receivedPath);
            return;
        }

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(verifiedPath, actual, utf8);
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, actual, utf8);
        Assert.Fail(
            expected is null
                ? $"No snapshot {verifiedPath} yet. Review {receivedPath}, then accept it by running the tests with {AcceptVariable}=1."
                : $"The generated code differs from {verifiedPath}: compare it with {receivedPath}; if the change is intended, run the tests with {AcceptVariable}=1.");
    }
}
