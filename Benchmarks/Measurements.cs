using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelGen.Benchmarks;

/// <summary>What the hand-rolled measurement modes share: medians, rounds kept after warm-up, random operands.</summary>
internal static class Measurements
{
    /// <summary>The median (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Adds a measurement once the warm-up rounds are over.</summary>
    public static void AddIf(bool condition, List<double> list, double value)
    {
        if (condition)
        {
            list.Add(value);
        }
    }

    /// <summary><paramref name="length"/> values uniform in [0, 1).</summary>
    public static float[] RandomValues(Random random, int length)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = random.NextSingle();
        }

        return values;
    }
}
