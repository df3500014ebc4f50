using System;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Proves a hot path allocates nothing once warm: runs it 50 times, then counts this thread's allocations over
/// windows of 100 more calls, and passes when a window allocates nothing. A per-call allocation shows in every
/// window (100 times over); what a single window can catch instead is the runtime's own one-off bookkeeping on this
/// thread when tiered compilation starts counting calls or promotes a method, which begins only after a startup
/// delay (seen in CI: a few hundred to a few thousand bytes once, on the scalar path whose kernels are tiered).
/// </summary>
internal static class AllocationAssert
{
    private const int Windows = 5;

    public static void NoneAfterWarmUp(Action action, int warmUp = 50, int measured = 100)
    {
        for (var i = 0; i < warmUp; i++)
        {
            action();
        }

        var allocations = new long[Windows];
        for (var window = 0; window < Windows; window++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < measured; i++)
            {
                action();
            }

            allocations[window] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocations[window] == 0)
            {
                return;
            }
        }

        Assert.Fail($"Every window of {measured} calls allocated: {string.Join(", ", allocations)} bytes.");
    }

    /// <summary>One training step (forward, backward) and one SGD update on a zero batch of <paramref name="batch"/> samples.</summary>
    public static void TrainingStepAllocatesNothing(ITrainableModel model, int batch)
    {
        var optimizer = new Sgd(0.01f);
        var inputs = new float[batch * model.InputSize];
        var targets = new float[batch * model.OutputSize];
        NoneAfterWarmUp(() =>
        {
            model.TrainStep(inputs, targets);
            optimizer.Step(model.Parameters, model.Gradients);
        });
    }
}

/// <summary>The allocation check itself: it must fail on an action that allocates.</summary>
public class AllocationAssertTests
{
    private static object? _sink;

    [Fact]
    public void An_allocating_action_fails_the_check()
    {
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AllocationAssert.NoneAfterWarmUp(() => _sink = new byte[24]));
    }
}
