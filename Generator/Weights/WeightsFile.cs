using System;
using System.IO;
using System.Threading;
using ModelGen.Generator.Helpers;

namespace ModelGen.Generator.Weights;

/// <summary>
/// One <c>.safetensors</c> file among the project's <c>AdditionalFiles</c>, read whole: the bytes are the value the
/// incremental pipeline compares, so an edited file re-bakes the models that use it and nothing else.
/// </summary>
/// <param name="Path">The file's path as the compiler was given it.</param>
/// <param name="Bytes">Its content, when it could be read.</param>
/// <param name="Error">Why it could not be read, otherwise.</param>
internal sealed record WeightsFile(string Path, EquatableArray<byte> Bytes, string? Error)
{
    /// <summary>Files larger than this are refused: baked weights become source text, and 256 MB of floats would be far too much of it.</summary>
    public const long MaxBytes = 256L * 1024 * 1024;

    /// <summary>Whether <paramref name="path"/> is a file the baker reads.</summary>
    public static bool IsWeightsFile(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    public static WeightsFile Read(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            // AdditionalText only offers the file as decoded text: binary data comes back with every invalid UTF-8
            // sequence replaced by U+FFFD, or not at all (checked with the .NET 10 SDK's compiler), so the bytes are
            // read from the path the compiler was given. The pipeline still keys on the AdditionalText, which the
            // IDE replaces when the file changes.
#pragma warning disable RS1035 // File IO in an analyzer: see above; there is no binary AdditionalText API.
            var info = new FileInfo(path);
            if (info.Length > MaxBytes)
            {
                return new WeightsFile(path, EquatableArray<byte>.Empty, $"it holds {info.Length:N0} bytes, more than the {MaxBytes:N0} ModelGen bakes into source");
            }

            return new WeightsFile(path, File.ReadAllBytes(path).ToEquatableArray(), null);
#pragma warning restore RS1035
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return new WeightsFile(path, EquatableArray<byte>.Empty, exception.Message);
        }
    }

    /// <summary>
    /// Whether this file is the one a model names: <paramref name="declared"/> must be the end of the path, whole
    /// names only (<c>fashion.safetensors</c> matches <c>Data/fashion.safetensors</c>, not <c>myfashion.safetensors</c>).
    /// </summary>
    public bool Matches(string declared)
    {
        var path = Path.Replace('\\', '/');
        var name = declared.Replace('\\', '/').TrimStart('.', '/');
        if (name.Length == 0 || !path.EndsWith(name, StringComparison.Ordinal))
        {
            return false;
        }

        return path.Length == name.Length || path[path.Length - name.Length - 1] == '/';
    }
}
