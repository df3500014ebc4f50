using System;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// Proves a hot path allocates nothing once warm: runs it 50 times, then counts this thread's allocations over 100
/// more. The warm-up passes the JIT's 30-call tier-up threshold: the runtime's own bookkeeping when a method is
/// promoted once allocated a few hundred bytes on the calling thread inside a shorter warm-up (seen in CI, scalar
/// path, where the kernels are tiered rather than compiled fully optimized at once).
/// </summary>
internal static class AllocationAssert
{
    public static void NoneAfterWarmUp(Action action, int warmUp = 50, int measured = 100)
    {
        for (var i = 0; i < warmUp; i++)
        {
            action();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < measured; i++)
        {
            action();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
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
