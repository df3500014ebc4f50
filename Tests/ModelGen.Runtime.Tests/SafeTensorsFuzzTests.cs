using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using ModelGen.Serialization;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Ten thousand damaged copies of a valid weights file, seeded: bytes flipped, the file cut short or grown, the
/// header length lied about, the JSON edited. Each either loads (a change that leaves a valid file, such as one weight's
/// low bits) or is rejected with an <see cref="InvalidDataException"/>; none crashes, hangs, allocates much beyond the
/// file's size, or leaves a rejected file's model changed.
/// </summary>
public class SafeTensorsFuzzTests
{
    [Fact]
    public void Ten_thousand_mutated_and_truncated_files_fail_cleanly()
    {
        var model = new SmallMlp(seed: 3);
        using var stream = new MemoryStream();
        SafeTensors.Write(model, stream);
        var original = stream.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var random = new Random(20261128);
        var target = new SmallMlp(seed: 9);
        var untouched = target.Parameters.ToArray();

        int loaded = 0, rejected = 0;
        for (var n = 0; n < 10_000; n++)
        {
            var file = Mutate(original, headerLength, random);
            var before = target.Parameters.ToArray();
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            try
            {
                SafeTensors.Read(target, file, $"mutant {n}");
                loaded++;
            }
            catch (InvalidDataException error)
            {
                rejected++;
                Assert.StartsWith($"'mutant {n}'", error.Message);
                Assert.Equal(before, target.Parameters.ToArray());
            }
            catch (Exception other)
            {
                Assert.Fail($"mutant {n} ({file.Length} bytes) threw {other.GetType().Name}: {other.Message}");
            }

            Assert.True(watch.ElapsedMilliseconds < 2_000, $"mutant {n} took {watch.ElapsedMilliseconds} ms");
            var used = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Assert.True(used <= (2L * file.Length) + 65_536, $"mutant {n} ({file.Length} bytes) allocated {used} bytes");
            if (n % 100 == 0)
            {
                untouched.CopyTo(target.Parameters);
            }
        }

        // Most damage must be caught; some (weights' low bits, whitespace) leaves a valid file.
        Assert.True(rejected > 7_000, $"only {rejected} of 10,000 were rejected");
        Assert.True(loaded > 0, "no mutant loaded: the mutations never leave a valid file, so they test little");
    }

    private static byte[] Mutate(byte[] original, int headerLength, Random random)
    {
        var file = original.ToArray();
        switch (random.Next(7))
        {
            case 0: // flip a few random bits anywhere
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    file[random.Next(file.Length)] ^= (byte)(1 << random.Next(8));
                }

                return file;
            case 1: // flip bits inside the header
                for (var i = random.Next(1, 3); i > 0; i--)
                {
                    file[8 + random.Next(headerLength)] ^= (byte)(1 << random.Next(8));
                }

                return file;
            case 2: // cut short anywhere
                return file[..random.Next(file.Length)];
            case 3: // grow: garbage appended
                return [.. file, .. Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256))];
            case 4: // lie about the header length, up to absurd values
                BinaryPrimitives.WriteUInt64LittleEndian(file, random.Next(3) switch
                {
                    0 => (ulong)random.Next(headerLength * 2),
                    1 => ulong.MaxValue - (ulong)random.Next(1000),
                    _ => (ulong)random.NextInt64(int.MaxValue, long.MaxValue),
                });
                return file;
            case 5: // replace a digit of the JSON (shapes, offsets) with another
                {
                    var header = Encoding.UTF8.GetString(file, 8, headerLength).ToCharArray();
                    var digits = Enumerable.Range(0, header.Length).Where(i => char.IsDigit(header[i])).ToArray();
                    header[digits[random.Next(digits.Length)]] = (char)('0' + random.Next(10));
                    Encoding.UTF8.GetBytes(header).CopyTo(file, 8);
                    return file;
                }

            default: // overwrite a span of the JSON with structural characters
                {
                    var start = 8 + random.Next(headerLength);
                    var symbols = "{}[]\":,-0e9 ";
                    for (var i = start; i < Math.Min(start + random.Next(1, 6), 8 + headerLength); i++)
                    {
                        file[i] = (byte)symbols[random.Next(symbols.Length)];
                    }

                    return file;
                }
        }
    }
}
