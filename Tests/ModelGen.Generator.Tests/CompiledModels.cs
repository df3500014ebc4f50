using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text;
using Xunit;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Model declarations a test describes, generated and compiled together into one assembly the first time one is
/// needed, then created by name: what the gradient-check tests share.
/// </summary>
/// <typeparam name="T">The test's description of one model.</typeparam>
internal sealed class CompiledModels<T>(string namespaceName, Func<List<T>> describe, Func<T, string> name, Func<T, string> declaration)
{
    private readonly Lazy<(Assembly Assembly, List<T> Models)> _built = new(() =>
    {
        var models = describe();
        var source = new StringBuilder($"using ModelGen;\nnamespace {namespaceName};\n");
        foreach (var model in models)
        {
            source.Append(declaration(model)).Append('\n');
        }

        return (GeneratorHarness.BuildAndLoad(source.ToString()), models);
    });

    /// <summary>Every model's name, for <c>[MemberData]</c>; describing them compiles nothing.</summary>
    public TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var model in describe())
        {
            data.Add(name(model));
        }

        return data;
    }

    /// <summary>The model called <paramref name="modelName"/>, constructed from <paramref name="seed"/>, and its description.</summary>
    public (ITrainableModel Model, T Description) Create(string modelName, int seed)
    {
        var (assembly, models) = _built.Value;
        var description = models.Single(m => name(m) == modelName);
        var type = assembly.GetType($"{namespaceName}.{modelName}", throwOnError: true)!;
        return ((ITrainableModel)Activator.CreateInstance(type, seed)!, description);
    }
}
