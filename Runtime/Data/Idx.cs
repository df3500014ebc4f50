using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace ModelGen;

/// <summary>
/// Reads IDX files, the format of MNIST and Fashion-MNIST (gzipped or not): two zero bytes, a type code, the number
/// of dimensions, each dimension as a big-endian 32-bit integer, then the values. Only unsigned bytes (type 0x08, the
/// type of every MNIST-family file) are read. Everything is checked before use: a truncated, oversized or foreign
/// file is rejected with an <see cref="InvalidDataException"/> that names the file and says what is wrong.
/// </summary>
public static class Idx
{
    private const byte UnsignedByte = 0x08;

    /// <summary>The largest file, once decompressed, that is read: far above MNIST's 47 MB, far below a bad day.</summary>
    private const long MaxBytes = 1L << 30;

    /// <summary>Deflate's largest ratio of decompressed to compressed bytes (zlib's documentation): it bounds what a gzipped file can hold.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>Decompressed bytes read at a time while images are converted to floats.</summary>
    private const int ChunkBytes = 1 << 16;

    /// <summary>Images as floats in [0, 1] (pixel / 255), one image after another, from a 3-dimensional IDX file.</summary>
    /// <remarks>
    /// The file is read as a stream, its pixels converted chunk by chunk into the one array returned: reading takes the
    /// floats' memory and no more (no copy of the file, compressed or not, is held).
    /// </remarks>
    /// <param name="path">An <c>…-images-idx3-ubyte</c> file, gzipped or not.</param>
    /// <param name="rows">Pixels per column of an image (28 for MNIST).</param>
    /// <param name="columns">Pixels per row of an image (28 for MNIST).</param>
    /// <exception cref="InvalidDataException">The file is not a 3-dimensional unsigned-byte IDX file, or is truncated.</exception>
    public static float[] ReadImages(string path, out int rows, out int columns)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenRead(path);
        using var reader = new Reader(file, Path.GetFileName(path));
        var dimensions = reader.ReadHeader();
        if (dimensions.Length != 3)
        {
            throw Invalid(path, $"it holds {dimensions.Length}-dimensional data; images need 3 dimensions (count, rows, columns)");
        }

        (rows, columns) = (dimensions[1], dimensions[2]);
        var pixels = new float[reader.Count];
        var chunk = new byte[Math.Min(ChunkBytes, pixels.Length)];
        for (var done = 0; done < pixels.Length; done += chunk.Length)
        {
            var bytes = chunk.AsSpan(0, Math.Min(chunk.Length, pixels.Length - done));
            reader.Fill(bytes, done);
            var floats = pixels.AsSpan(done, bytes.Length);
            for (var i = 0; i < bytes.Length; i++)
            {
                floats[i] = bytes[i] / 255f;
            }
        }

        reader.CheckEnd(chunk);
        return pixels;
    }

    /// <summary>Labels, one byte per sample, from a 1-dimensional IDX file.</summary>
    /// <param name="path">An <c>…-labels-idx1-ubyte</c> file, gzipped or not.</param>
    /// <exception cref="InvalidDataException">The file is not a 1-dimensional unsigned-byte IDX file, or is truncated.</exception>
    public static byte[] ReadLabels(string path)
    {
        var (dimensions, data) = Read(path);
        if (dimensions.Length != 1)
        {
            throw Invalid(path, $"it holds {dimensions.Length}-dimensional data; labels need 1 dimension (count)");
        }

        return data;
    }

    /// <summary>The dimensions and the raw values of an unsigned-byte IDX file.</summary>
    /// <exception cref="InvalidDataException">The file is not an unsigned-byte IDX file, or its length does not match its header.</exception>
    public static (int[] Dimensions, byte[] Data) Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var name = Path.GetFileName(path);
        using var file = File.OpenRead(path);
        return Read(file, name);
    }

    /// <summary>
    /// Reads an IDX file (gzipped or not) from <paramref name="stream"/>, which is left open; <paramref name="name"/> is
    /// used in messages. The values are read straight into the array returned.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is not an unsigned-byte IDX file, or its length does not match its header.</exception>
    public static (int[] Dimensions, byte[] Data) Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new Reader(stream, name);
        var dimensions = reader.ReadHeader();
        var data = new byte[reader.Count];
        reader.Fill(data, 0);
        reader.CheckEnd(new byte[4096]);
        return (dimensions, data);
    }

    /// <summary>
    /// An IDX file's decompressed bytes, read in order: the header, the values, then the check that nothing follows.
    /// The array for the values is only made once the header is known to fit the data: a header that declares more
    /// values than the file can hold is rejected first.
    /// </summary>
    private sealed class Reader : IDisposable
    {
        private readonly Stream _values;
        private readonly bool _gzip;

        /// <summary>The most bytes the data can hold: exact for a plain file, deflate's limit for a gzipped one.</summary>
        private readonly long _mostBytes;

        private int[] _dimensions = [];

        /// <summary>
        /// Reads <paramref name="stream"/> from its position on, decompressing it when it starts with gzip's magic
        /// number; it is left open. A stream that cannot seek (back over the magic number) is copied into memory first,
        /// as it is (compressed, when gzipped).
        /// </summary>
        public Reader(Stream stream, string name)
        {
            Name = name;
            if (!stream.CanSeek)
            {
                var copy = new MemoryStream();
                CopyLimited(stream, copy, name);
                copy.Position = 0;
                stream = copy;
            }

            var start = stream.Position;
            var length = stream.Length - start;
            Span<byte> magic = stackalloc byte[2];
            var read = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
            stream.Position = start;
            _gzip = read == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
            _values = _gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : stream;
            _mostBytes = _gzip ? length * MaxDeflateRatio : length;
        }

        public string Name { get; }

        /// <summary>The number of values the header declares.</summary>
        public int Count { get; private set; }

        private int HeaderLength => 4 + (4 * _dimensions.Length);

        /// <summary>Reads and checks the header; returns the dimensions.</summary>
        public int[] ReadHeader()
        {
            Span<byte> header = stackalloc byte[4 + (4 * byte.MaxValue)];
            var read = ReadSome(header[..4]);
            if (read < 4)
            {
                throw Invalid(Name, $"it holds {read} bytes, fewer than the 4 of an IDX header");
            }

            if (header[0] != 0 || header[1] != 0)
            {
                throw Invalid(Name, $"it starts with bytes 0x{header[0]:X2} 0x{header[1]:X2} rather than the two zero bytes of an IDX file");
            }

            if (header[2] != UnsignedByte)
            {
                throw Invalid(Name, $"its values have type code 0x{header[2]:X2}; only unsigned bytes (0x08) are supported");
            }

            var rank = header[3];
            if (rank == 0)
            {
                throw Invalid(Name, "it declares 0 dimensions");
            }

            read = ReadSome(header.Slice(4, 4 * rank));
            if (read < 4 * rank)
            {
                throw Invalid(Name, $"it declares {rank} dimensions but ends after {4 + read} bytes, inside its header");
            }

            var dimensions = new int[rank];
            long count = 1;
            for (var d = 0; d < rank; d++)
            {
                dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(header[(4 + (4 * d))..]);
                if (dimensions[d] <= 0)
                {
                    throw Invalid(Name, $"dimension {d} is {dimensions[d]}");
                }

                count *= dimensions[d];
                if (count > MaxBytes)
                {
                    throw Invalid(Name, $"its dimensions multiply to more than {MaxBytes} values");
                }
            }

            _dimensions = dimensions;
            Count = (int)count;
            if (HeaderLength + count > _mostBytes)
            {
                // The data cannot hold what the header declares: say how much it does hold, without storing it.
                throw Truncated(_gzip ? Skip(new byte[ChunkBytes]) : _mostBytes - HeaderLength);
            }

            return dimensions;
        }

        /// <summary>Fills <paramref name="destination"/> with the next values; <paramref name="done"/> values were read before them.</summary>
        public void Fill(Span<byte> destination, long done)
        {
            var read = ReadSome(destination);
            if (read < destination.Length)
            {
                throw Truncated(done + read);
            }
        }

        /// <summary>Throws when bytes follow the values the header declares.</summary>
        public void CheckEnd(byte[] scratch)
        {
            var extra = Skip(scratch);
            if (extra > 0)
            {
                throw Invalid(Name, $"its header declares {Shape} = {Count} values but {Count + extra} bytes follow ({extra} too many)");
            }
        }

        public void Dispose()
        {
            if (_gzip)
            {
                _values.Dispose();
            }
        }

        private string Shape => string.Join(" × ", _dimensions);

        private InvalidDataException Truncated(long available) =>
            Invalid(Name, $"its header declares {Shape} = {Count} values but only {available} bytes follow (truncated)");

        /// <summary>Reads to the end of the data and counts the bytes, up to the size limit.</summary>
        private long Skip(byte[] scratch)
        {
            long skipped = 0;
            int read;
            while ((read = ReadSome(scratch)) > 0)
            {
                skipped += read;
                if (HeaderLength + Count + skipped > MaxBytes)
                {
                    throw Invalid(Name, $"it is larger than {MaxBytes} bytes");
                }
            }

            return skipped;
        }

        /// <summary>Reads until <paramref name="buffer"/> is full or the data end; gzip's own errors become this reader's.</summary>
        private int ReadSome(Span<byte> buffer)
        {
            try
            {
                return _values.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            }
            catch (InvalidDataException exception) when (_gzip)
            {
                throw new InvalidDataException($"'{Name}' is not a valid IDX file: its gzip data is corrupt or truncated ({exception.Message}).", exception);
            }
        }
    }

    private static void CopyLimited(Stream source, MemoryStream destination, string name)
    {
        var buffer = new byte[81920];
        int read;
        while ((read = source.Read(buffer)) > 0)
        {
            if (destination.Length + read > MaxBytes)
            {
                throw Invalid(name, $"it is larger than {MaxBytes} bytes");
            }

            destination.Write(buffer, 0, read);
        }
    }

    private static InvalidDataException Invalid(string name, string problem) => new($"'{name}' is not a valid IDX file: {problem}.");
}
