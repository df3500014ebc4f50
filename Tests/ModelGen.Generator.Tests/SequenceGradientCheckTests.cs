using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;
using Xunit.Abstractions;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Proves the generated sequence layers: token embeddings (with and without a position table), self-attention (causal
/// and not, one and several heads, odd widths and lengths), dense and layer-normalization layers applied position by
/// position, a head tied to the embedding, pre-norm residual blocks, and the sequence cross-entropy with ignored
/// positions. Each model is generated, compiled and loaded; its backward pass is checked against finite differences
/// of its own loss, parameter by parameter.
/// </summary>
public class SequenceGradientCheckTests(ITestOutputHelper output)
{
    private static readonly CompiledModels<SequenceModel> Models = new("SequenceModels", Describe, m => m.Name, m => m.Declaration);

    public static TheoryData<string> ModelNames() => Models.Names();

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Backward_matches_finite_differences(string name)
    {
        foreach (var batch in new[] { 1, 3 })
        {
            var (model, description) = Models.Create(name, seed: 5 + batch);
            var random = new Random((name.Length * 31) + batch);
            var inputs = description.Inputs(random, batch);
            var targets = description.Targets(random, batch);
            GradientChecker.MoveToGenericPoint(model, seed: batch);

            var (compared, kinks) = GradientChecker.Check(model, inputs, targets, seed: 3, step: 1e-3f, maxParameters: 300);
            output.WriteLine($"{description.Declaration}: batch {batch}, {compared} gradients compared, {kinks} skipped at kinks");
            Assert.True(compared > 0);
            Assert.True(kinks <= compared / 10, $"{kinks} kinks among {compared} coordinates: the check would say little");
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void A_training_step_allocates_nothing_after_warm_up(string name)
    {
        var (model, description) = Models.Create(name, seed: 1);
        var random = new Random(7);
        var inputs = description.Inputs(random, 4);
        var targets = description.Targets(random, 4);
        var predictions = new float[4 * model.OutputSize];
        model.TrainStep(inputs, targets);
        model.PredictBatch(inputs, predictions);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 3; i++)
        {
            model.TrainStep(inputs, targets);
            model.PredictBatch(inputs, predictions);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Token_ids_outside_the_vocabulary_and_bad_targets_are_reported()
    {
        var (model, description) = Models.Create("TiedOnly", seed: 1);
        var inputs = description.Inputs(new Random(1), 2);
        var targets = description.Targets(new Random(2), 2);
        inputs[3] = description.Vocabulary;
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainStep(inputs, targets));
        inputs[3] = 1.5f;
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainStep(inputs, targets));
        inputs[3] = 0;
        targets[1] = description.Vocabulary;
        Assert.Throws<ArgumentOutOfRangeException>(() => model.TrainStep(inputs, targets));
        Assert.Throws<ArgumentException>(() => model.TrainStep(inputs, targets.AsSpan(1).ToArray()));
    }

    [Fact]
    public void Ignored_positions_take_no_part_in_the_loss()
    {
        var (model, description) = Models.Create("TiedOnly", seed: 1);
        var random = new Random(4);
        var inputs = description.Inputs(random, 2);
        var targets = description.Targets(random, 2).Select(t => Math.Max(t, 0)).ToArray();
        var changed = (float[])targets.Clone();
        changed[2] = -1;
        var full = model.ComputeLoss(inputs, targets);
        var partial = model.ComputeLoss(inputs, changed);
        changed[2] = (targets[2] + 1) % description.Vocabulary;
        var other = model.ComputeLoss(inputs, changed);
        Assert.NotEqual(full, partial);
        changed[2] = -1;
        Assert.Equal(partial, model.ComputeLoss(inputs, changed));
        Assert.NotEqual(other, partial);
    }

    [Theory]
    [InlineData("TinyGpt")]
    [InlineData("CharLstm")]
    public void Weights_saved_as_safetensors_load_into_a_fresh_model_and_predict_the_same(string name)
    {
        var (model, description) = Models.Create(name, seed: 1);
        GradientChecker.MoveToGenericPoint(model, seed: 6);
        var (fresh, _) = Models.Create(name, seed: 2);
        var inputs = description.Inputs(new Random(3), 2);
        var (expected, actual) = (new float[2 * model.OutputSize], new float[2 * model.OutputSize]);
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sequence-{name}-{Environment.ProcessId}.safetensors");
        try
        {
            // The vocabulary travels in the file's metadata; ModelGen's own keys stay its own.
            var vocabulary = new Dictionary<string, string> { ["vocabulary"] = "abcdefghi" };
            ModelGen.Serialization.SafeTensors.Save(model, path, vocabulary);
            ModelGen.Serialization.SafeTensors.Load(fresh, path);
            Assert.Equal("abcdefghi", ModelGen.Serialization.SafeTensors.ReadMetadata(path)["vocabulary"]);
            Assert.Throws<ArgumentException>(() => ModelGen.Serialization.SafeTensors.Save(model, path, new Dictionary<string, string> { ["model"] = "other" }));
        }
        finally
        {
            System.IO.File.Delete(path);
        }

        model.PredictBatch(inputs, expected);
        fresh.PredictBatch(inputs, actual);
        Assert.Equal(expected, actual);
        Assert.All(model.ParameterTensors, tensor =>
            Assert.Equal(tensor.Slice(model.Parameters).ToArray(), tensor.Slice(fresh.Parameters).ToArray()));
    }

    [Fact]
    public void Fit_and_Evaluate_take_a_class_index_per_position_and_skip_the_ignored_ones()
    {
        var (model, description) = Models.Create("TinyGpt", seed: 1);
        var random = new Random(8);
        const int Count = 40;
        // The task: each position's target is the id at that position (an identity a small GPT learns quickly).
        var inputs = description.Inputs(random, Count);
        var targets = inputs.Select((id, i) => i % 6 == 0 ? -1f : id).ToArray();
        var data = new Dataset(inputs, description.Positions, targets, description.Positions);
        var before = model.Evaluate(data);
        model.Fit(data, new FitOptions { Epochs = 30, BatchSize = 8, Optimizer = new Adam(0.01f), Seed = 1 });
        var after = model.Evaluate(data);
        Assert.True(after.Loss < before.Loss / 2, $"loss {before.Loss} → {after.Loss}");
        Assert.True(after.Accuracy > 0.9f, $"accuracy per counted position {after.Accuracy}");

        targets[7] = description.Vocabulary;
        var error = Assert.Throws<ArgumentException>(() => model.Evaluate(new Dataset(inputs, description.Positions, targets, description.Positions)));
        Assert.Contains("−1 marks one that does not count", error.Message);
    }

    [Fact]
    public void Members_without_a_sequence_version_say_so()
    {
        var (model, description) = Models.Create("TiedOnly", seed: 1);
        var inputs = description.Inputs(new Random(1), 1);
        Assert.Throws<NotSupportedException>(() => model.InputGradients(inputs, new float[model.OutputSize], new float[model.InputSize]));
        Assert.Throws<NotSupportedException>(() => model.TrainStepClipped(inputs, description.Targets(new Random(1), 1), 1f, new float[1]));
    }

    [Theory]
    [InlineData("TinyGpt", 0f, 0)]
    [InlineData("TinyGpt", 1f, 0)]
    [InlineData("TinyGpt", 0.8f, 4)]
    [InlineData("CharLstm", 0f, 0)]
    [InlineData("CharLstm", 1f, 3)]
    [InlineData("GruTied", 1f, 0)]
    public void Generation_with_the_cache_gives_the_tokens_of_full_recomputation(string name, float temperature, int topK)
    {
        var (trainable, description) = Models.Create(name, seed: 2);
        var model = Assert.IsAssignableFrom<IGenerativeModel>(trainable);
        GradientChecker.MoveToGenericPoint(model, seed: 4);
        var prompt = new[] { 1, 4, 2 };
        // 14 tokens from a 3-token prompt with 6 positions: the window fills and starts again more than once.
        var cached = model.Generate(prompt, 14, temperature, topK, seed: 9);

        // The same windows, each recomputed whole by PredictBatch; its probabilities' logarithms are the logits less a
        // constant per row, which the sampler's softmax does not see.
        var (positions, vocabulary) = (description.Positions, description.Vocabulary);
        var history = new List<int>(prompt);
        var window = prompt.Skip(Math.Max(0, prompt.Length - positions)).ToList();
        var random = new SeededRandom(9);
        var (input, probabilities, logits, scratch) = (new float[positions], new float[model.OutputSize], new float[vocabulary], new float[vocabulary]);
        var recomputed = new List<int>();
        for (var i = 0; i < cached.Length; i++)
        {
            Array.Clear(input);
            for (var t = 0; t < window.Count; t++)
            {
                input[t] = window[t];
            }

            model.PredictBatch(input, probabilities);
            for (var c = 0; c < vocabulary; c++)
            {
                logits[c] = MathF.Log(probabilities[((window.Count - 1) * vocabulary) + c]);
            }

            var next = TokenSampler.Sample(logits, temperature, topK, ref random, scratch);
            recomputed.Add(next);
            history.Add(next);
            if (window.Count == positions)
            {
                window = history.Skip(history.Count - (positions / 2)).ToList();
            }
            else
            {
                window.Add(next);
            }
        }

        Assert.Equal(recomputed, cached);
        Assert.True(temperature == 0f || cached.Distinct().Count() >= 3, "The draws should vary: " + string.Join(" ", cached));
    }

    [Fact]
    public void Generating_a_token_allocates_nothing_after_the_first_call()
    {
        var (trainable, _) = Models.Create("TinyGpt", seed: 3);
        var model = (IGenerativeModel)trainable;
        var tokens = new int[20];
        model.Generate([1, 2], tokens, temperature: 0.9f, topK: 5, seed: 1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        model.Generate([1, 2], tokens, temperature: 0.9f, topK: 5, seed: 2);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static List<SequenceModel> Describe() =>
    [
        new("TiedOnly", 5, 7, "[Embedding(6)] [TiedHead]"),
        new("AttentionOneHead", 5, 7, "[Embedding(8)] [Attention(1)] [Dense(7)]"),
        new("AttentionUnmasked", 7, 5, "[Embedding(6, Positions = PositionEncoding.None, Initializer = Initializer.GlorotUniform)] [Attention(2, Causal = false)] [LayerNorm] [Dense(9, Activation.Gelu)] [Dense(5)]"),
        new("TinyGpt", 6, 9, "[Embedding(12)] [Residual(typeof(TinyGptAttend))] [Residual(typeof(TinyGptMix))] [LayerNorm] [TiedHead]",
            "/// <summary>Attention.</summary>\n[Block] [LayerNorm] [Attention(3)] public sealed class TinyGptAttend;\n/// <summary>Mixing.</summary>\n[Block] [LayerNorm] [Dense(20, Activation.Gelu)] [Dense(12)] public sealed class TinyGptMix;"),
        new("ValuesInOut", 5, 0, "[Attention(2, Causal = false)] [Dense(3, Activation.Tanh)] [Flatten] [Dense(2)]", Features: 4),
        new("CharLstm", 5, 7, "[Embedding(6, Positions = PositionEncoding.None, Initializer = Initializer.StandardNormal)] [Lstm(5)] [Lstm(4)] [Dense(7)]"),
        new("GruTied", 6, 8, "[Embedding(4)] [Gru(5)] [Dense(4)] [TiedHead]"),
        new("GruLast", 6, 0, "[Gru(4, ReturnSequences = false)] [Dense(2)]", Features: 3),
        new("LstmLast", 4, 0, "[Lstm(3, ReturnSequences = false)] [Dense(2, Activation.Tanh)]", Features: 5),
        new("MeanPooled", 5, 7, "[Embedding(6)] [Attention(2, Causal = false)] [SequencePool] [Dense(3)]", Classes: 3),
        new("LastPooled", 6, 8, "[Embedding(5)] [Attention(1)] [LayerNorm] [SequencePool(SequencePooling.Last)] [Dense(4, Activation.Tanh)] [Dense(3)]", Classes: 3),
    ];

    /// <summary>
    /// A model on token ids (<paramref name="Vocabulary"/> &gt; 0) or on a sequence of <paramref name="Features"/> values per
    /// position; a language model (a class per position) unless it pools the sequence into one of <paramref name="Classes"/>.
    /// </summary>
    internal sealed record SequenceModel(string Name, int Positions, int Vocabulary, string Layers, string Blocks = "", int Features = 0, int Classes = 0)
    {
        public string Declaration => Vocabulary > 0
            ? $"{Blocks}\n[Model(Loss = Loss.SoftmaxCrossEntropy)] [Input({Positions}, Vocabulary = {Vocabulary})] {Layers} public partial class {Name};"
            : $"{Blocks}\n[Model(Loss = Loss.MeanSquaredError)] [Input({Positions}, {Features})] {Layers} public partial class {Name};";

        public float[] Inputs(Random random, int batch) => Vocabulary > 0
            ? Enumerable.Range(0, batch * Positions).Select(_ => (float)random.Next(Vocabulary)).ToArray()
            : GradientCheckTests.RandomArray(random, batch * Positions * Features, -1, 1);

        /// <summary>A class per sample; or a class index per position, about one in five ignored (−1); or values for the regression.</summary>
        public float[] Targets(Random random, int batch) =>
            Classes > 0 ? Enumerable.Range(0, batch).Select(_ => (float)random.Next(Classes)).ToArray()
            : Vocabulary > 0 ? Enumerable.Range(0, batch * Positions).Select(i => i % 5 == 3 ? -1f : random.Next(Vocabulary)).ToArray()
            : GradientCheckTests.RandomArray(random, batch * 2, -1, 1);
    }
}
