using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator.Emit;

/// <summary>
/// Writes stand-in members for a model whose network has MG errors: the members that code using a model reaches
/// (constructors, <c>Predict</c>, <c>Save</c>, <c>Load</c>, the <see cref="T:ModelGen.ITrainableModel"/> members),
/// each throwing. Without them every use of the model would add C# errors after the MG errors that say what is wrong.
/// The build fails on the MG errors either way; these members are never meant to run.
/// </summary>
internal static class StandInEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string ReadOnlySpan = "global::System.ReadOnlySpan<float>";

    public static string Emit(TypeSpec type) => Emitter.WriteFile(type, writer =>
    {
        var name = type.NameSyntax;
        writer.WriteLine("#pragma warning disable CS1591 // the stand-ins share the class's one summary below: they only keep its uses compiling");
        writer.WriteLine($"/// <summary>Stand-ins while model '{type.Name}' has ModelGen errors (see the MG diagnostics): every member throws.</summary>");
        using (writer.OpenBlock($"partial {type.Keyword} {name} : global::ModelGen.ITrainableModel"))
        {
            writer.WriteLine($"private const string NotCompiled = \"Model '{type.Name}' was not compiled: its declaration has ModelGen errors (MGxxxx) to fix first.\";");
            writer.WriteLine();
            writer.WriteLine("public const int InputSize = 0;");
            writer.WriteLine("public const int OutputSize = 0;");
            writer.WriteLine("public const int ParameterCount = 0;");
            writer.WriteLine();
            writer.WriteLine($"public {name}() => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public {name}(int seed) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine();
            writer.WriteLine($"public {Span} Parameters => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public {Span} Gradients => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public {Span} State => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine("public global::System.Collections.Generic.IReadOnlyList<global::ModelGen.ParameterTensor> ParameterTensors => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine("public global::ModelGen.SeededRandom TrainingRandom { get => throw new global::System.InvalidOperationException(NotCompiled); set => throw new global::System.InvalidOperationException(NotCompiled); }");
            writer.WriteLine("public global::ModelGen.Loss Loss => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine("int global::ModelGen.ITrainableModel.InputSize => InputSize;");
            writer.WriteLine("int global::ModelGen.ITrainableModel.OutputSize => OutputSize;");
            writer.WriteLine("int global::ModelGen.ITrainableModel.ParameterCount => ParameterCount;");
            writer.WriteLine();
            writer.WriteLine($"public void Predict({ReadOnlySpan} input, {Span} output) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public void PredictBatch({ReadOnlySpan} inputs, {Span} outputs) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public float ComputeLoss({ReadOnlySpan} inputs, {ReadOnlySpan} targets) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public float ComputeLoss({ReadOnlySpan} inputs, {ReadOnlySpan} targets, {Span} predictions) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public float TrainStep({ReadOnlySpan} inputs, {ReadOnlySpan} targets) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public float TrainStepClipped({ReadOnlySpan} inputs, {ReadOnlySpan} targets, float clipNorm, {Span} sampleNorms) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public void InputGradients({ReadOnlySpan} inputs, {ReadOnlySpan} outputGradients, {Span} inputGradients) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public float LossInputGradients({ReadOnlySpan} inputs, {ReadOnlySpan} targets, {Span} inputGradients) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine("public void Save(string path) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine($"public static {name} Load(string path) => throw new global::System.InvalidOperationException(NotCompiled);");
            writer.WriteLine("public void ExportOnnx(string path) => throw new global::System.InvalidOperationException(NotCompiled);");
        }
    });
}
