using System;
using System.IO;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Finds files of the repository from the test binaries. [CallerFilePath] cannot be used: CI builds are
/// deterministic and map source paths to <c>/_/</c>.
/// </summary>
internal static class RepositoryPaths
{
    public static readonly string Root = FindRoot();

    public static string SnapshotDirectory => Path.Combine(Root, "Tests", "ModelGen.Generator.Tests", "Snapshots");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ModelGen.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No ModelGen.sln above {AppContext.BaseDirectory}.");
    }
}
