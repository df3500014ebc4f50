using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelGen.Samples.TinyGpt;

/// <summary>A progress bar on one line redrawn in place, or, when the output is a file, a line every 100 steps.</summary>
internal sealed class ProgressLine(int steps, bool redirected)
{
    private const int Width = 30;

    public void Report(int step, float loss, List<double> stepTimes)
    {
        if (redirected ? step % 100 != 0 && step != steps : step % 5 != 0 && step != steps)
        {
            return;
        }

        var recent = stepTimes.Skip(Math.Max(0, stepTimes.Count - 50)).Average();
        var filled = step * Width / steps;
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] step {step}/{steps}  loss {loss:F4}  {1 / recent:F2} steps/s");
        Console.Write(redirected ? line + Environment.NewLine : "\r" + line);
    }

    public void Finish()
    {
        if (!redirected)
        {
            Console.WriteLine();
        }
    }
}
