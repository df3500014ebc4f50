using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>The IDX reader on valid files, gzipped or not, and on every way a file can be wrong.</summary>
public sealed class IdxTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-idx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Images_and_labels_are_read_back(bool gzip)
    {
        var pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 4)).ToArray();
        var images = Write("images", Idx(pixels, 3, 4, 5), gzip);
        var labels = Write("labels", Idx([7, 0, 9], 3), gzip);

        var read = ModelGen.Idx.ReadImages(images, out var rows, out var columns);

        Assert.Equal((4, 5), (rows, columns));
        Assert.Equal(pixels.Select(p => p / 255f), read);
        Assert.Equal([7, 0, 9], ModelGen.Idx.ReadLabels(labels));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_files_are_rejected_with_the_file_name(bool gzip)
    {
        var whole = Idx(Enumerable.Range(0, 2 * 3 * 3).Select(i => (byte)i).ToArray(), 2, 3, 3);
        foreach (var length in new[] { 0, 2, 4, 9, 15, 16, whole.Length - 1 })
        {
            var path = Write($"cut{length}", whole[..length], gzip);
            var error = Assert.Throws<InvalidDataException>(() => ModelGen.Idx.ReadImages(path, out _, out _));
            Assert.Contains(Path.GetFileName(path), error.Message);
        }
    }

    [Fact]
    public void A_truncated_gzip_stream_is_rejected()
    {
        var path = Write("images", Idx(new byte[2000], 2, 25, 40), gzip: true);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        Assert.Throws<InvalidDataException>(() => ModelGen.Idx.ReadImages(path, out _, out _));
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 5 }, "two zero bytes")]
    [InlineData(new byte[] { 0, 0, 13, 1, 0, 0, 0, 1, 5, 5, 5, 5 }, "type code 0x0D")]
    [InlineData(new byte[] { 0, 0, 8, 0 }, "0 dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 0 }, "dimension 0 is 0")]
    [InlineData(new byte[] { 0, 0, 8, 1, 255, 255, 255, 255 }, "dimension 0 is -1")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3 }, "1 too many")]
    [InlineData(new byte[] { 0, 0, 8, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0 }, "more than")]
    public void Foreign_or_lying_headers_are_rejected_with_the_reason(byte[] bytes, string reason)
    {
        var path = Path.Combine(_directory, "bad.idx");
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => ModelGen.Idx.Read(path));
        Assert.Contains(reason, error.Message);
        Assert.Contains("bad.idx", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_header_that_declares_more_than_the_file_can_hold_is_rejected_before_its_array_is_made(bool gzip)
    {
        // 10⁹ values declared (4 GB as floats), 5 bytes given.
        var header = Idx([], 100_000, 100, 100);
        var path = Write("lying", [.. header, 1, 2, 3, 4, 5], gzip);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => ModelGen.Idx.ReadImages(path, out _, out _));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("100000 × 100 × 100 = 1000000000 values but only 5 bytes follow (truncated)", error.Message);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated to reject it");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_stream_is_read_from_its_position_and_left_open_and_one_that_cannot_seek_is_read_alike(bool gzip)
    {
        var pixels = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        var file = File.ReadAllBytes(Write("images", Idx(pixels, 2, 3, 4), gzip));
        using var stream = new MemoryStream([9, 9, 9, .. file]) { Position = 3 };

        var (dimensions, data) = ModelGen.Idx.Read(stream, "images");
        var (unseekableDimensions, unseekableData) = ModelGen.Idx.Read(new ForwardOnly(file), "images");

        Assert.Equal([2, 3, 4], dimensions);
        Assert.Equal(pixels, data);
        Assert.True(stream.CanRead);
        Assert.Equal([2, 3, 4], unseekableDimensions);
        Assert.Equal(pixels, unseekableData);
        Assert.Contains("1 too many", Assert.Throws<InvalidDataException>(() => ModelGen.Idx.Read(new ForwardOnly([.. Idx(pixels, 2, 3, 4), 0]), "images")).Message);
    }

    [Fact]
    public void Labels_read_as_images_and_images_read_as_labels_are_rejected()
    {
        var labels = Write("labels", Idx([1, 2, 3], 3), gzip: false);
        var images = Write("images", Idx(new byte[8], 2, 2, 2), gzip: false);

        Assert.Contains("images need 3 dimensions", Assert.Throws<InvalidDataException>(() => ModelGen.Idx.ReadImages(labels, out _, out _)).Message);
        Assert.Contains("labels need 1 dimension", Assert.Throws<InvalidDataException>(() => ModelGen.Idx.ReadLabels(images)).Message);
    }

    [Fact]
    public void The_installed_fashion_mnist_files_are_read_when_present()
    {
        var directory = FashionMnistFiles.Directory;
        if (directory is null)
        {
            return; // CI installs the dataset; a developer machine may not have it.
        }

        var images = ModelGen.Idx.ReadImages(Path.Combine(directory, "t10k-images-idx3-ubyte.gz"), out var rows, out var columns);
        var labels = ModelGen.Idx.ReadLabels(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"));

        Assert.Equal((28, 28), (rows, columns));
        Assert.Equal(10_000 * 784, images.Length);
        Assert.Equal(10_000, labels.Length);
        Assert.All(labels, l => Assert.InRange(l, 0, 9));
        Assert.Equal(1_000, labels.Count(l => l == 3));
    }

    private static byte[] Idx(byte[] values, params int[] dimensions)
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

    private string Write(string name, byte[] bytes, bool gzip)
    {
        var path = Path.Combine(_directory, name + (gzip ? ".gz" : string.Empty));
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return path;
        }

        using (var file = File.Create(path))
        using (var compressor = new GZipStream(file, CompressionLevel.Optimal))
        {
            compressor.Write(bytes);
        }

        return path;
    }
}

/// <summary>Where the Debian package <c>dataset-fashion-mnist</c> puts Fashion-MNIST, if it is installed.</summary>
internal static class FashionMnistFiles
{
    public static string? Directory =>
        File.Exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") ? "/usr/share/datasets/fashion-mnist" : null;
}

/// <summary>A stream that can only be read forward, like a pipe or a network stream.</summary>
internal sealed class ForwardOnly(byte[] bytes) : Stream
{
    private readonly MemoryStream _inner = new(bytes);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 5));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
