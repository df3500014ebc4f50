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
/// header length lied about, the JSON edited, the padding between the JSON object and the data rewritten. Each either
/// loads (a change that leaves a valid file, such as one weight's low bits) or is rejected with an
/// <see cref="InvalidDataException"/>; none crashes, hangs, allocates much beyond the file's size, or leaves a
/// rejected file's model changed. A file that loads must give the tensors its data section holds under the original
/// header; a file that differs from the original only in its padding (and the header length that counts it) must load,
/// as the original, when that padding is all spaces and be rejected otherwise.
/// </summary>
public class SafeTensorsFuzzTests
{
    /// <summary>Bytes that may not pad a header, and the space that may: what the padding mutation writes.</summary>
    private static readonly byte[] PaddingBytes = [0x00, (byte)'\t', (byte)'\n', (byte)'\r', (byte)'x', (byte)'/', (byte)'{', (byte)'}', (byte)',', (byte)'0', 0x7F, 0x80, 0xC3, 0xFF, (byte)' '];

    [Fact]
    public void Ten_thousand_mutated_and_truncated_files_fail_cleanly()
    {
        var model = new SmallMlp(seed: 3);
        using var stream = new MemoryStream();
        SafeTensors.Write(model, stream);
        var original = stream.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var jsonEnd = 8 + original.AsSpan(8, headerLength).TrimEnd((byte)' ').Length;
        var random = new Random(20261128);
        var target = new SmallMlp(seed: 9);
        var untouched = target.Parameters.ToArray();

        int loaded = 0, rejected = 0, paddingLoaded = 0, paddingRejected = 0;
        for (var n = 0; n < 10_000; n++)
        {
            var file = Mutate(original, headerLength, jsonEnd, random);
            var spacesOnly = PaddingOnlyChange(original, headerLength, jsonEnd, file);
            var before = target.Parameters.ToArray();
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            var accepted = false;
            try
            {
                SafeTensors.Read(target, file, $"mutant {n}");
                accepted = true;
                loaded++;
            }
            catch (InvalidDataException error)
            {
                rejected++;
                Assert.StartsWith($"'mutant {n}'", error.Message);
                Assert.Equal(before, target.Parameters.ToArray());
                Assert.True(spacesOnly != true, $"mutant {n} differs from the original only by padding of spaces, yet was rejected: {error.Message}");
            }
            catch (Exception other)
            {
                Assert.Fail($"mutant {n} ({file.Length} bytes) threw {other.GetType().Name}: {other.Message}");
            }

            Assert.True(watch.ElapsedMilliseconds < 2_000, $"mutant {n} took {watch.ElapsedMilliseconds} ms");
            var used = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Assert.True(used <= (2L * file.Length) + 65_536, $"mutant {n} ({file.Length} bytes) allocated {used} bytes");
            if (accepted)
            {
                Assert.True(spacesOnly != false, $"mutant {n} has something other than spaces after its header's JSON object, yet loaded");
                Assert.Equal(ExpectedTensors(original, headerLength, file, n), target.Parameters.ToArray());
            }

            if (spacesOnly is not null && accepted)
            {
                paddingLoaded++;
            }
            else if (spacesOnly is not null)
            {
                paddingRejected++;
            }

            if (n % 100 == 0)
            {
                untouched.CopyTo(target.Parameters);
            }
        }

        // Most damage must be caught; some (weights' low bits, whitespace) leaves a valid file.
        Assert.True(rejected > 7_000, $"only {rejected} of 10,000 were rejected");
        Assert.True(loaded > 0, "no mutant loaded: the mutations never leave a valid file, so they test little");

        // The padding mutations reach both verdicts often, so the rule is tested both ways.
        Assert.True(paddingLoaded > 100 && paddingRejected > 500, $"padding-only mutants: {paddingLoaded} loaded, {paddingRejected} rejected");
    }

    /// <summary>
    /// The parameters a loaded mutant must give: those of the original header over the mutant's data section (the
    /// bytes after its own header). A mutant whose data section the original header cannot read should not have loaded.
    /// </summary>
    private static float[] ExpectedTensors(byte[] original, int headerLength, byte[] mutant, int n)
    {
        var mutantDataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(mutant);
        byte[] reference = [.. original.AsSpan(0, 8 + headerLength), .. mutant.AsSpan(mutantDataStart)];
        var expected = new SmallMlp(seed: 9);
        try
        {
            SafeTensors.Read(expected, reference, "reference");
        }
        catch (InvalidDataException error)
        {
            Assert.Fail($"mutant {n} loaded, but its data section under the original header does not: {error.Message}");
        }

        return expected.Parameters.ToArray();
    }

    /// <summary>
    /// Whether <paramref name="mutant"/> is the original with only the bytes between its header's JSON object and its
    /// data changed (their number too, with the header length to match): then true when those bytes are all spaces,
    /// false otherwise; null when the mutant differs anywhere else.
    /// </summary>
    private static bool? PaddingOnlyChange(byte[] original, int headerLength, int jsonEnd, byte[] mutant)
    {
        if (mutant.Length < 8 || BinaryPrimitives.ReadUInt64LittleEndian(mutant) > (ulong)(mutant.Length - 8))
        {
            return null;
        }

        var dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(mutant);
        if (dataStart < jsonEnd ||
            !mutant.AsSpan(8, jsonEnd - 8).SequenceEqual(original.AsSpan(8, jsonEnd - 8)) ||
            !mutant.AsSpan(dataStart).SequenceEqual(original.AsSpan(8 + headerLength)))
        {
            return null;
        }

        return mutant.AsSpan(jsonEnd, dataStart - jsonEnd).IndexOfAnyExcept((byte)' ') < 0;
    }

    private static byte[] Mutate(byte[] original, int headerLength, int jsonEnd, Random random)
    {
        var file = original.ToArray();
        switch (random.Next(8))
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

            case 7: // replace the padding after the JSON object: 0–23 bytes (the header length to match), spaces with up to three others
                {
                    var padding = new byte[random.Next(24)];
                    padding.AsSpan().Fill((byte)' ');
                    for (var i = random.Next(4); i > 0 && padding.Length > 0; i--)
                    {
                        padding[random.Next(padding.Length)] = random.Next(4) == 0 ? (byte)random.Next(256) : PaddingBytes[random.Next(PaddingBytes.Length)];
                    }

                    byte[] repadded = [.. original.AsSpan(0, jsonEnd), .. padding, .. original.AsSpan(8 + headerLength)];
                    BinaryPrimitives.WriteUInt64LittleEndian(repadded, (ulong)(jsonEnd - 8 + padding.Length));
                    return repadded;
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
