using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace ModelGen.Samples.TinyGpt;

/// <summary>
/// Draws the training loss (blue, averaged over every 20 steps) and the final validation loss (red line) into a PNG,
/// with the steps and losses written at the ticks. Written by hand, a raster and a PNG encoder on System.IO.Compression,
/// so that the sample has no native dependency and publishes with NativeAOT.
/// </summary>
internal static class LossPlot
{
    private const int Every = 20;
    private const int Width = 800;
    private const int Height = 500;
    private const int Left = 60;
    private const int Right = 20;
    private const int Top = 20;
    private const int Bottom = 40;

    public static void Save(List<double> losses, double validation, string path)
    {
        var pixels = new uint[Width * Height];
        Array.Fill(pixels, 0xFFFFFFu);
        var points = Enumerable.Range(0, (losses.Count + Every - 1) / Every)
            .Select(g => (Step: Math.Min((g + 1) * Every, losses.Count), Loss: losses.Skip(g * Every).Take(Every).Average()))
            .ToList();
        var low = Math.Floor(Math.Min(validation, points.Min(p => p.Loss)) * 2) / 2;
        var high = Math.Ceiling(Math.Max(validation, points.Max(p => p.Loss)) * 2) / 2;
        int X(double step) => Left + (int)Math.Round((Width - Left - Right - 1) * step / Math.Max(1, losses.Count));
        int Y(double loss) => Top + (int)Math.Round((Height - Top - Bottom - 1) * (high - loss) / (high - low));

        for (var tick = low; tick <= high + 1e-9; tick += 0.5)
        {
            Line(pixels, Left, Y(tick), Width - Right, Y(tick), 0xE0E0E0u);
            Text(pixels, tick.ToString("F1", System.Globalization.CultureInfo.InvariantCulture), 8, Y(tick) - 3);
        }

        var stride = Math.Max(1, (int)Math.Pow(10, Math.Floor(Math.Log10(Math.Max(1, losses.Count)))) / 2);
        for (var step = 0; step <= losses.Count; step += stride)
        {
            Line(pixels, X(step), Height - Bottom, X(step), Height - Bottom + 4, 0x000000u);
            Text(pixels, step.ToString(System.Globalization.CultureInfo.InvariantCulture), X(step) - 8, Height - Bottom + 10);
        }

        Line(pixels, Left, Top, Left, Height - Bottom, 0x000000u);
        Line(pixels, Left, Height - Bottom, Width - Right, Height - Bottom, 0x000000u);
        Line(pixels, Left, Y(validation), Width - Right, Y(validation), 0xD03030u);
        for (var i = 1; i < points.Count; i++)
        {
            Line(pixels, X(points[i - 1].Step), Y(points[i - 1].Loss), X(points[i].Step), Y(points[i].Loss), 0x2060C0u);
        }

        WritePng(pixels, path);
    }

    private static void Line(uint[] pixels, int x0, int y0, int x1, int y1, uint color)
    {
        var steps = Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0));
        for (var i = 0; i <= steps; i++)
        {
            var x = x0 + ((x1 - x0) * i / Math.Max(1, steps));
            var y = y0 + ((y1 - y0) * i / Math.Max(1, steps));
            if ((uint)x < Width && (uint)y < Height)
            {
                pixels[(y * Width) + x] = color;
            }
        }
    }

    // Digits and the point as 3×5 bitmaps, each row three bits, drawn twice the size.
    private static readonly Dictionary<char, int[]> Glyphs = new()
    {
        ['0'] = [7, 5, 5, 5, 7], ['1'] = [2, 6, 2, 2, 7], ['2'] = [7, 1, 7, 4, 7], ['3'] = [7, 1, 7, 1, 7], ['4'] = [5, 5, 7, 1, 1],
        ['5'] = [7, 4, 7, 1, 7], ['6'] = [7, 4, 7, 5, 7], ['7'] = [7, 1, 1, 1, 1], ['8'] = [7, 5, 7, 5, 7], ['9'] = [7, 5, 7, 1, 7],
        ['.'] = [0, 0, 0, 0, 2],
    };

    private static void Text(uint[] pixels, string text, int x, int y)
    {
        foreach (var c in text)
        {
            var rows = Glyphs[c];
            for (var row = 0; row < 5; row++)
            {
                for (var column = 0; column < 3; column++)
                {
                    if ((rows[row] & (4 >> column)) != 0)
                    {
                        for (var d = 0; d < 4; d++)
                        {
                            var (px, py) = (x + (2 * column) + (d & 1), y + (2 * row) + (d >> 1));
                            if ((uint)px < Width && (uint)py < Height)
                            {
                                pixels[(py * Width) + px] = 0x000000u;
                            }
                        }
                    }
                }
            }

            x += 8;
        }
    }

    /// <summary>An 8-bit RGB PNG: signature, IHDR, one zlib-compressed IDAT of filter-0 rows, IEND.</summary>
    private static void WritePng(uint[] pixels, string path)
    {
        var raw = new byte[Height * ((Width * 3) + 1)];
        for (var y = 0; y < Height; y++)
        {
            var row = y * ((Width * 3) + 1);
            for (var x = 0; x < Width; x++)
            {
                var color = pixels[(y * Width) + x];
                raw[row + 1 + (3 * x)] = (byte)(color >> 16);
                raw[row + 2 + (3 * x)] = (byte)(color >> 8);
                raw[row + 3 + (3 * x)] = (byte)color;
            }
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        var header = new byte[13];
        BigEndian(header, 0, Width);
        BigEndian(header, 4, Height);
        header[8] = 8; // bits per channel
        header[9] = 2; // RGB
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var bytes = new byte[12 + data.Length];
        BigEndian(bytes, 0, data.Length);
        for (var i = 0; i < 4; i++)
        {
            bytes[4 + i] = (byte)type[i];
        }

        data.CopyTo(bytes, 8);
        BigEndian(bytes, 8 + data.Length, (int)Crc32(bytes.AsSpan(4, 4 + data.Length)));
        stream.Write(bytes);
    }

    private static void BigEndian(byte[] bytes, int at, int value)
    {
        bytes[at] = (byte)(value >> 24);
        bytes[at + 1] = (byte)(value >> 16);
        bytes[at + 2] = (byte)(value >> 8);
        bytes[at + 3] = (byte)value;
    }

    /// <summary>The CRC-32 PNG chunks end with (polynomial 0xEDB88320, reflected).</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
