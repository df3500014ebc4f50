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

    /// <summary>Images as floats in [0, 1] (pixel / 255), one image after another, from a 3-dimensional IDX file.</summary>
    /// <param name="path">An <c>…-images-idx3-ubyte</c> file, gzipped or not.</param>
    /// <param name="rows">Pixels per column of an image (28 for MNIST).</param>
    /// <param name="columns">Pixels per row of an image (28 for MNIST).</param>
    /// <exception cref="InvalidDataException">The file is not a 3-dimensional unsigned-byte IDX file, or is truncated.</exception>
    public static float[] ReadImages(string path, out int rows, out int columns)
    {
        var (dimensions, data) = Read(path);
        if (dimensions.Length != 3)
        {
            throw Invalid(path, $"it holds {dimensions.Length}-dimensional data; images need 3 dimensions (count, rows, columns)");
        }

        (rows, columns) = (dimensions[1], dimensions[2]);
        var pixels = new float[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            pixels[i] = data[i] / 255f;
        }

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

    /// <summary>Reads an IDX file (gzipped or not) from <paramref name="stream"/>; <paramref name="name"/> is used in messages.</summary>
    /// <exception cref="InvalidDataException">The data is not an unsigned-byte IDX file, or its length does not match its header.</exception>
    public static (int[] Dimensions, byte[] Data) Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = ReadAll(stream, name);
        if (bytes.Length < 4)
        {
            throw Invalid(name, $"it holds {bytes.Length} bytes, fewer than the 4 of an IDX header");
        }

        if (bytes[0] != 0 || bytes[1] != 0)
        {
            throw Invalid(name, $"it starts with bytes 0x{bytes[0]:X2} 0x{bytes[1]:X2} rather than the two zero bytes of an IDX file");
        }

        if (bytes[2] != UnsignedByte)
        {
            throw Invalid(name, $"its values have type code 0x{bytes[2]:X2}; only unsigned bytes (0x08) are supported");
        }

        var rank = bytes[3];
        if (rank == 0)
        {
            throw Invalid(name, "it declares 0 dimensions");
        }

        var headerLength = 4 + (4 * rank);
        if (bytes.Length < headerLength)
        {
            throw Invalid(name, $"it declares {rank} dimensions but ends after {bytes.Length} bytes, inside its header");
        }

        var dimensions = new int[rank];
        long count = 1;
        for (var d = 0; d < rank; d++)
        {
            dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + (4 * d)));
            if (dimensions[d] <= 0)
            {
                throw Invalid(name, $"dimension {d} is {dimensions[d]}");
            }

            count *= dimensions[d];
            if (count > MaxBytes)
            {
                throw Invalid(name, $"its dimensions multiply to more than {MaxBytes} values");
            }
        }

        var available = bytes.Length - headerLength;
        if (available != count)
        {
            var shape = string.Join(" × ", dimensions);
            throw Invalid(name, available < count
                ? $"its header declares {shape} = {count} values but only {available} bytes follow (truncated)"
                : $"its header declares {shape} = {count} values but {available} bytes follow ({available - count} too many)");
        }

        return (dimensions, bytes.AsSpan(headerLength).ToArray());
    }

    /// <summary>All bytes of the stream, decompressed first when it starts with gzip's magic number.</summary>
    private static byte[] ReadAll(Stream stream, string name)
    {
        var buffered = new MemoryStream();
        CopyLimited(stream, buffered, name);
        var raw = buffered.GetBuffer().AsSpan(0, (int)buffered.Length);
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B)
        {
            return raw.ToArray();
        }

        buffered.Position = 0;
        var decompressed = new MemoryStream();
        try
        {
            using var gzip = new GZipStream(buffered, CompressionMode.Decompress);
            CopyLimited(gzip, decompressed, name);
        }
        catch (InvalidDataException exception)
        {
            throw new InvalidDataException($"'{name}' is not a valid IDX file: its gzip data is corrupt or truncated ({exception.Message}).", exception);
        }

        return decompressed.ToArray();
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
