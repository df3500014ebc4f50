using System;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>Learning-rate schedules, gradient clipping, SGD weight decay and Adagrad against their formulas.</summary>
public class ScheduleTests
{
    [Fact]
    public void Schedules_follow_their_formulas()
    {
        const float eta = 0.2f;
        var step = new StepDecay(10, 0.5f);
        Assert.Equal([eta, eta, eta / 2, eta / 4], new[] { step.Rate(0, eta), step.Rate(9, eta), step.Rate(10, eta), step.Rate(25, eta) });

        Assert.Equal(eta * Math.Sqrt(0.5), new ExponentialDecay(100, 0.5f).Rate(50, eta), 6);
        Assert.Equal(eta * 0.5, new ExponentialDecay(100, 0.5f, staircase: true).Rate(150, eta), 6);

        var cosine = new CosineDecay(100, alpha: 0.1f);
        Assert.Equal(eta, cosine.Rate(0, eta), 6);
        Assert.Equal(eta * ((0.9 * 0.5) + 0.1), cosine.Rate(50, eta), 6);
        Assert.Equal(eta * 0.1, cosine.Rate(100, eta), 6);
        Assert.Equal(eta * 0.1, cosine.Rate(1000, eta), 6);

        var warmup = new LinearWarmup(4, cosine);
        Assert.Equal(eta / 4, warmup.Rate(0, eta), 6);
        Assert.Equal(eta, warmup.Rate(3, eta), 6);
        Assert.Equal(eta, warmup.Rate(4, eta), 6);
        Assert.Equal(cosine.Rate(50, eta), warmup.Rate(54, eta));

        Assert.Throws<ArgumentOutOfRangeException>(() => new StepDecay(0, 0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialDecay(10, 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(10, alpha: -0.1f));
    }

    [Fact]
    public void An_optimizer_takes_each_step_at_its_scheduled_rate()
    {
        var sgd = new Sgd(0.1f) { Schedule = new StepDecay(1, 0.5f) };
        float[] parameters = [1f];
        float[] gradients = [1f];
        sgd.Step(parameters, gradients);
        Assert.Equal(0.9f, parameters[0], 6);
        sgd.Step(parameters, gradients);
        Assert.Equal(0.85f, parameters[0], 6);
        sgd.Step(parameters, gradients);
        Assert.Equal(0.825f, parameters[0], 6);
        Assert.Equal(3, sgd.Iterations);
    }

    [Fact]
    public void Global_norm_clipping_scales_large_gradients_and_keeps_small_ones()
    {
        var sgd = new Sgd(1f) { GlobalClipNorm = 1f };
        float[] parameters = [0f, 0f];
        sgd.Step(parameters, [3f, 4f]);               // norm 5 → scaled to 1
        Assert.Equal([-0.6f, -0.8f], parameters);
        sgd.Step(parameters, [0.3f, 0.4f]);           // norm 0.5: unchanged
        Assert.Equal(-0.9f, parameters[0], 6);
        Assert.Equal(-1.2f, parameters[1], 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd { GlobalClipNorm = 0f });
    }

    [Fact]
    public void Sgd_weight_decay_shrinks_parameters_before_the_gradient_step()
    {
        var sgd = new Sgd(0.1f, weightDecay: 0.5f);
        float[] parameters = [2f, -1f];
        sgd.Step(parameters, [0f, 1f]);
        Assert.Equal(2f * (1 - 0.05f), parameters[0], 6);
        Assert.Equal((-1f * (1 - 0.05f)) - 0.1f, parameters[1], 6);
    }

    [Fact]
    public void Adagrad_first_three_updates_match_the_formula()
    {
        const double eta = 0.1, epsilon = 1e-7;
        var adagrad = new Adagrad(0.1f);
        float[] parameters = [0.5f, -0.25f];
        double[] expected = [0.5, -0.25];
        double[] accumulator = [0.1, 0.1];
        float[][] steps = [[1f, -2f], [0.5f, 0f], [-3f, 0.25f]];
        foreach (var g in steps)
        {
            adagrad.Step(parameters, g);
            for (var i = 0; i < 2; i++)
            {
                accumulator[i] += g[i] * (double)g[i];
                expected[i] -= eta * g[i] / (Math.Sqrt(accumulator[i]) + epsilon);
                Assert.Equal(expected[i], parameters[i], 5);
            }
        }
    }

    [Fact]
    public void Scheduled_and_clipped_steps_allocate_nothing_after_the_first()
    {
        var adam = new Adam(0.01f) { Schedule = new LinearWarmup(10, new CosineDecay(1000)), GlobalClipNorm = 0.5f };
        var parameters = new float[1000];
        var gradients = new float[1000];
        gradients.AsSpan().Fill(1f);
        AllocationAssert.NoneAfterWarmUp(() => adam.Step(parameters, gradients));
    }
}
