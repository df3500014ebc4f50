using System;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Proves a hot path allocates nothing once warm: runs it a few times, then counts this thread's allocations over many more.</summary>
internal static class AllocationAssert
{
    public static void NoneAfterWarmUp(Action action, int warmUp = 5, int measured = 100)
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
