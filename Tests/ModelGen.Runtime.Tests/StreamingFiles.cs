using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;

namespace ModelGen.Runtime.Tests;

/// <summary>Data and files for the streaming tests: random datasets, record files, IDX pairs, and what a process holds open.</summary>
internal static class StreamingFiles
{
    /// <summary><paramref name="count"/> samples for <see cref="SmallMlp"/>: 20 features in [−1, 1), 3 targets in [0, 1).</summary>
    public static Dataset Regression(int count, int seed)
    {
        var random = new SeededRandom(seed);
        var features = new float[count * 20];
        var targets = new float[count * 3];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = random.NextSingle(-1f, 1f);
        }

        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = random.NextSingle();
        }

        return new Dataset(features, 20, targets, 3);
    }

    /// <summary><paramref name="count"/> labelled samples of <paramref name="featureSize"/> features in [0, 1) and labels below <paramref name="classes"/>.</summary>
    public static Dataset Labelled(int count, int featureSize, int classes, int seed)
    {
        var random = new SeededRandom(seed);
        var features = new float[count * featureSize];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = random.NextSingle();
        }

        var labels = Enumerable.Range(0, count).Select(_ => random.NextInt32(classes)).ToArray();
        return Dataset.FromLabels(features, featureSize, labels);
    }

    /// <summary>An IDX file of unsigned bytes with the dimensions given.</summary>
    public static byte[] Idx(byte[] values, params int[] dimensions)
    {
        var bytes = new byte[4 + (4 * dimensions.Length) + values.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)dimensions.Length;
        for (var d = 0; d < dimensions.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * d)), dimensions[d]);
        }

        values.CopyTo(bytes, 4 + (4 * dimensions.Length));
        return bytes;
    }

    /// <summary>
    /// Writes an IDX pair of <paramref name="count"/> random images of <paramref name="rows"/> × <paramref name="columns"/>
    /// pixels and labels below <paramref name="classes"/>; returns the two paths.
    /// </summary>
    public static (string Images, string Labels) WriteIdxPair(string directory, string name, int count, int rows, int columns, int classes, int seed)
    {
        var random = new SeededRandom(seed);
        var pixels = new byte[count * rows * columns];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)random.NextInt32(256);
        }

        var labels = Enumerable.Range(0, count).Select(_ => (byte)random.NextInt32(classes)).ToArray();
        var images = Path.Combine(directory, name + "-images-idx3-ubyte");
        var labelsPath = Path.Combine(directory, name + "-labels-idx1-ubyte");
        File.WriteAllBytes(images, Idx(pixels, count, rows, columns));
        File.WriteAllBytes(labelsPath, Idx(labels, count));
        return (images, labelsPath);
    }

    /// <summary>The pair as the in-memory path reads it.</summary>
    public static Dataset ReadIdxPair((string Images, string Labels) pair)
    {
        var pixels = ModelGen.Idx.ReadImages(pair.Images, out var rows, out var columns);
        return Dataset.FromLabels(pixels, rows * columns, ModelGen.Idx.ReadLabels(pair.Labels));
    }

    /// <summary>Whether this process holds a file descriptor on <paramref name="path"/> (Linux; false where /proc is missing).</summary>
    public static bool IsOpen(string path)
    {
        if (!Directory.Exists("/proc/self/fd"))
        {
            return false;
        }

        var full = Path.GetFullPath(path);
        foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget == full)
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // The descriptor closed while we looked.
            }
        }

        return false;
    }
}
