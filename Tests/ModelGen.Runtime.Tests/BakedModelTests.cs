using System;
using System.IO;
using System.Linq;
using ModelGen.Serialization;
using Xunit;

namespace ModelGen.Runtime.Tests;

/// <summary>
/// <c>[Model(Weights = …)]</c> through the real build: MSBuild hands the file to the compiler as an AdditionalFiles
/// item and the generator bakes it in. The generator tests cover the diagnostics; this proves the build itself.
/// </summary>
public class BakedModelTests
{
    [Fact]
    public void The_baked_model_is_the_saved_model()
    {
        var saved = SavedModel();
        var baked = new BakedClassifier();

        Assert.Equal(saved.Parameters.ToArray(), baked.Parameters.ToArray());
        foreach (var tensor in saved.ParameterTensors.Where(t => t.InState && !t.IsBatchCounter))
        {
            // Only the running statistics are saved; the rest of State (alignment, the last batch's 1/σ) bakes as zero.
            Assert.Equal(tensor.Slice(saved.State).ToArray(), tensor.Slice(baked.State).ToArray());
        }

        var input = Enumerable.Range(0, 20).Select(i => (i - 10) * 0.1f).ToArray();
        var (expected, actual) = (new float[3], new float[3]);
        saved.Predict(input, expected);
        baked.Predict(input, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void The_baked_file_is_the_one_in_the_repository()
    {
        // Loading the file at run time gives what the compiler baked in at build time.
        var loaded = new ClassifierToBake(seed: 7);
        SafeTensors.Load(loaded, Path.Combine(AppContext.BaseDirectory, "Weights", "baked-classifier.safetensors"));

        Assert.Equal(loaded.Parameters.ToArray(), new BakedClassifier().Parameters.ToArray());
    }

    [Fact]
    public void A_baked_model_trains_like_any_other()
    {
        var model = new BakedClassifier();
        var before = model.Parameters.ToArray();
        var features = Enumerable.Range(0, 40 * 20).Select(i => MathF.Sin(i)).ToArray();
        var labels = Enumerable.Range(0, 40).Select(i => i % 3).ToArray();

        model.Fit(Dataset.FromLabels(features, 20, labels), new FitOptions { Epochs = 2, BatchSize = 8, Optimizer = new Adam(1e-2f), Seed = 1 });

        Assert.NotEqual(before, model.Parameters.ToArray());
        Assert.Equal(before, new BakedClassifier().Parameters.ToArray());
    }

    /// <summary>The saved model as the file was made: seed 42, every State value 0.5 + (i mod 7) / 8.</summary>
    private static ClassifierToBake SavedModel()
    {
        var model = new ClassifierToBake(seed: 42);
        for (var i = 0; i < model.State.Length; i++)
        {
            model.State[i] = 0.5f + ((i % 7) * 0.125f);
        }

        return model;
    }
}
