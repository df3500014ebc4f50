using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Xunit;
using static ModelGen.Runtime.Tests.StreamingFiles;

namespace ModelGen.Runtime.Tests;

/// <summary>Record files and IDX pairs as a <see cref="StreamingDataset"/> opens and reads them, and every way a file can be wrong.</summary>
public sealed class StreamingDatasetTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-stream-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_record_file_reads_back_what_was_written()
    {
        var data = Regression(37, seed: 1);
        var path = Path.Combine(_directory, "data.mgrec");
        RecordFileWriter.WriteAll(path, data);

        var stream = StreamingDataset.OpenRecords(path);
        var back = stream.Take(0, 37);

        Assert.Equal((37, 20, 3), (stream.Count, stream.FeatureSize, stream.TargetSize));
        Assert.Equal(data.Features.ToArray(), back.Features.ToArray());
        Assert.Equal(data.Targets.ToArray(), back.Targets.ToArray());
        Assert.Equal(data.Features.Slice(5 * 20, 3 * 20).ToArray(), stream.Take(5, 3).Features.ToArray());
        Assert.Equal(32 + (37 * 23 * 4), new FileInfo(path).Length);
    }

    [Fact]
    public void The_header_is_the_documented_one()
    {
        var path = Path.Combine(_directory, "data.mgrec");
        using (var writer = new RecordFileWriter(path, 3, 2))
        {
            writer.Write([1f, 2f, 3f], [4f, 5f]);
            writer.Write([6f, 7f, 8f, 9f, 10f, 11f], [12f, 13f, 14f, 15f]);
            Assert.Equal(3, writer.Count);
        }

        var bytes = File.ReadAllBytes(path);

        Assert.Equal("MGRECORD"u8.ToArray(), bytes[..8]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(20)));
        Assert.Equal(3ul, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24)));

        // Record 1: its three features, then its two targets, as little-endian floats.
        var record = Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(32 + 20 + (4 * i)))).ToArray();
        Assert.Equal([6f, 7f, 8f, 12f, 13f], record);
    }

    [Fact]
    public void The_writer_refuses_partial_samples()
    {
        using var writer = new RecordFileWriter(Path.Combine(_directory, "data.mgrec"), 3, 1);

        Assert.Throws<ArgumentException>(() => writer.Write([1f, 2f], [1f]));
        Assert.Throws<ArgumentException>(() => writer.Write([1f, 2f, 3f], [1f, 2f]));
    }

    [Fact]
    public void Shards_read_as_one_sequence_in_the_order_given()
    {
        var data = Regression(50, seed: 2);
        var paths = new[] { (0, 20), (20, 0), (20, 30) }.Select((range, i) =>
        {
            var path = Path.Combine(_directory, $"shard-{i}.mgrec");
            RecordFileWriter.WriteAll(path, data.Slice(range.Item1, range.Item2));
            return path;
        }).ToArray();

        var stream = StreamingDataset.OpenRecords(paths);

        Assert.Equal(50, stream.Count);
        Assert.Equal(data.Features.ToArray(), stream.Take(0, 50).Features.ToArray());
        Assert.Equal(data.Targets.Slice(18 * 3, 4 * 3).ToArray(), stream.Take(18, 4).Targets.ToArray());
    }

    [Fact]
    public void Shards_must_agree_on_their_sizes()
    {
        var first = Path.Combine(_directory, "a.mgrec");
        var second = Path.Combine(_directory, "b.mgrec");
        RecordFileWriter.WriteAll(first, Regression(4, seed: 1));
        RecordFileWriter.WriteAll(second, Labelled(4, 20, 3, seed: 1));

        var error = Assert.Throws<InvalidDataException>(() => StreamingDataset.OpenRecords(first, second));

        Assert.Contains("'b.mgrec'", error.Message);
    }

    [Fact]
    public void An_idx_pair_reads_as_Idx_reads_it()
    {
        // 13 × 7 pixels: images that do not fill whole vectors, read one by one and in runs.
        var pair = WriteIdxPair(_directory, "train", 40, 13, 7, classes: 10, seed: 3);
        var inMemory = ReadIdxPair(pair);

        var stream = StreamingDataset.OpenIdx(pair.Images, pair.Labels);

        Assert.Equal((40, 91, 1), (stream.Count, stream.FeatureSize, stream.TargetSize));
        Assert.Equal(inMemory.Features.ToArray(), stream.Take(0, 40).Features.ToArray());
        Assert.Equal(inMemory.Targets.ToArray(), stream.Take(0, 40).Targets.ToArray());
        Assert.Equal(inMemory.Features.Slice(91 * 7, 91).ToArray(), stream.Take(7, 1).Features.ToArray());
    }

    [Fact]
    public void Pixels_convert_to_the_bits_of_a_scalar_division()
    {
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)((i * 7) + (i / 256))).ToArray();
        foreach (var length in new[] { 0, 1, 15, 16, 17, 256, 999, 1000 })
        {
            var values = new float[length];
            ModelGen.IdxFile.ToUnitFloats(bytes.AsSpan(0, length), values);
            Assert.Equal(bytes.Take(length).Select(b => b / 255f), values);
        }
    }

    [Fact]
    public void Concat_joins_idx_pairs()
    {
        var first = WriteIdxPair(_directory, "a", 5, 4, 3, classes: 3, seed: 1);
        var second = WriteIdxPair(_directory, "b", 7, 4, 3, classes: 3, seed: 2);

        var stream = StreamingDataset.Concat(StreamingDataset.OpenIdx(first.Images, first.Labels), StreamingDataset.OpenIdx(second.Images, second.Labels));

        Assert.Equal(12, stream.Count);
        Assert.Equal(
            ReadIdxPair(first).Targets.ToArray().Concat(ReadIdxPair(second).Targets.ToArray()),
            stream.Take(0, 12).Targets.ToArray());
    }

    [Fact]
    public void A_gzipped_idx_file_is_not_streamed()
    {
        var pair = WriteIdxPair(_directory, "train", 4, 2, 2, classes: 2, seed: 1);
        var gzipped = pair.Images + ".gz";
        using (var output = File.Create(gzipped))
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(File.ReadAllBytes(pair.Images));
        }

        var error = Assert.Throws<NotSupportedException>(() => StreamingDataset.OpenIdx(gzipped, pair.Labels));

        Assert.Contains("gzip", error.Message);
        Assert.Contains(Path.GetFileName(gzipped), error.Message);
    }

    [Theory]
    [InlineData(32 + (5 * 92) + 40, "cut short", "record 5 (from offset 492)")]
    [InlineData(32 + (5 * 92), "missing", "record 5 (from offset 492)")]
    [InlineData(20, "ends inside the 32-byte header", "20 bytes")]
    public void A_truncated_record_file_names_the_file_and_the_offset(int length, string problem, string where)
    {
        var path = Path.Combine(_directory, "cut.mgrec");
        RecordFileWriter.WriteAll(path, Regression(8, seed: 1));
        Cut(path, length);

        var error = Assert.Throws<InvalidDataException>(() => StreamingDataset.OpenRecords(path));

        Assert.Contains("'cut.mgrec'", error.Message);
        Assert.Contains(problem, error.Message);
        Assert.Contains(where, error.Message);
    }

    [Theory]
    [InlineData(0, new byte[] { (byte)'X' }, "bytes 0 to 7")]
    [InlineData(8, new byte[] { 2, 0, 0, 0 }, "version 2 (offset 8)")]
    [InlineData(12, new byte[] { 0, 0, 0, 0 }, "feature size is 0 (offset 12)")]
    [InlineData(16, new byte[] { 0, 0, 0, 0x80 }, "target size is 2147483648 (offset 16)")]
    [InlineData(20, new byte[] { 2, 0, 0, 0 }, "value type is 2 (offset 20)")]
    [InlineData(24, new byte[] { 0, 0, 0, 0, 0, 0, 0, 0 }, "368 bytes follow its last record (from offset 32)")]
    [InlineData(24, new byte[] { 3, 0, 0, 0, 0, 0, 0, 0 }, "92 bytes follow its last record (from offset 308)")]
    [InlineData(24, new byte[] { 0, 0, 0, 0, 0, 0, 0, 1 }, "record 4 (from offset 400) is missing")]
    public void A_corrupt_record_header_names_the_file_and_the_offset(int offset, byte[] bytes, string expected)
    {
        var path = Path.Combine(_directory, "bad.mgrec");
        RecordFileWriter.WriteAll(path, Regression(4, seed: 1));
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = offset;
            file.Write(bytes);
        }

        var error = Assert.Throws<InvalidDataException>(() => StreamingDataset.OpenRecords(path));

        Assert.Contains("'bad.mgrec'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_truncated_idx_file_names_the_file_and_the_offset()
    {
        var pair = WriteIdxPair(_directory, "train", 10, 4, 4, classes: 3, seed: 1);
        Cut(pair.Images, 16 + (6 * 16) + 3);

        var error = Assert.Throws<InvalidDataException>(() => StreamingDataset.OpenIdx(pair.Images, pair.Labels));

        Assert.Contains("'train-images-idx3-ubyte' is truncated", error.Message);
        Assert.Contains("image 6 (from offset 112) is cut short", error.Message);
    }

    [Fact]
    public void Idx_images_and_labels_must_agree_on_the_count()
    {
        var pair = WriteIdxPair(_directory, "train", 10, 4, 4, classes: 3, seed: 1);
        File.WriteAllBytes(pair.Labels, Idx(new byte[9], 9));

        var error = Assert.Throws<InvalidDataException>(() => StreamingDataset.OpenIdx(pair.Images, pair.Labels));

        Assert.Contains("holds 9 labels", error.Message);
        Assert.Contains("holds 10 samples", error.Message);
    }

    [Fact]
    public void A_file_that_changed_after_opening_is_refused_when_read()
    {
        var path = Path.Combine(_directory, "data.mgrec");
        RecordFileWriter.WriteAll(path, Regression(10, seed: 1));
        var stream = StreamingDataset.OpenRecords(path);
        Cut(path, 32 + (9 * 92));

        var error = Assert.Throws<InvalidDataException>(() => stream.Take(0, 1));

        Assert.Contains("'data.mgrec' changed after the dataset was opened", error.Message);
        Assert.False(IsOpen(path));
    }

    private static void Cut(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.SetLength(length);
    }
}
