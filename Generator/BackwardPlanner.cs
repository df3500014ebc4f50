using System.Collections.Generic;
using System.Linq;
using ModelGen.Generator.Helpers;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>
/// Plans the backward pass over the network's graph: the layers in reverse order, each reading ∂L/∂(its output) from a
/// gradient buffer and writing ∂L/∂(its input) to another, with the buffers handed out as a register allocator would.
/// A chain of layers uses two buffers in turn. Where a tensor feeds two layers (a residual connection's input feeds its
/// block and its shortcut), the second gradient to arrive is written to a free buffer and summed into the first.
/// </summary>
/// <remarks>
/// It plans two passes. Training's (<see cref="ModelPlan.Backward"/>) stops where no layer before has parameters. The
/// pass to the inputs (<see cref="ModelPlan.InputBackward"/>, behind <c>InputGradients</c>) runs as the model predicts:
/// every layer hands a gradient back, dropout is the identity, and the last gradient lands in the caller's span
/// (<see cref="BackwardStep.Inputs"/>).
/// </remarks>
internal static class BackwardPlanner
{
    /// <summary>The steps, the gradient buffers they use, and whether a buffer holds a gradient of the inputs' size.</summary>
    public static (EquatableArray<BackwardStep> Steps, int Buffers, bool HoldsInputs) Plan(ModelPlan plan, bool toInputs = false)
    {
        var layers = plan.Layers;
        var fusions = plan.BackwardFusions;
        var steps = new List<BackwardStep>();
        var users = new List<int>(); // per buffer, how many tensors' gradients it holds
        var gradientOf = new Dictionary<int, int>(); // tensor (0: the model's input, k: layer k's output) → its buffer
        var most = 0;
        var holdsInputs = false;
        bool NeedsInputGradient(LayerPlan layer) => toInputs || layer.NeedsInputGradient;
        bool Trains(int tensor) => toInputs || BackwardPlanner.Trains(plan, tensor);

        int Acquire()
        {
            var free = users.IndexOf(0);
            if (free < 0)
            {
                free = users.Count;
                users.Add(0);
            }

            users[free]++;
            most = System.Math.Max(most, users.Count);
            return free;
        }

        void Release(int tensor)
        {
            users[gradientOf[tensor]]--;
            gradientOf.Remove(tensor);
        }

        // Adds buffer `buffer` to the gradient `tensor` already has. Where that gradient's buffer is shared with other
        // tensors (handed on as it is by a sum or a flatten), the tensor first gets a copy of its own to add to.
        void AddTo(int tensor, int buffer, int size)
        {
            var existing = gradientOf[tensor];
            if (existing != BackwardStep.Inputs && users[existing] > 1)
            {
                var own = Acquire();
                steps.Add(new GradientCopy(existing, own, size, TensorName(plan, tensor)));
                users[existing]--;
                gradientOf[tensor] = own;
                existing = own;
            }

            steps.Add(new GradientSum(buffer, existing, size, TensorName(plan, tensor)));
        }

        // Hands buffer `buffer` to `tensor` as its gradient, or adds it to the one the tensor already has.
        void Pass(int tensor, int buffer, int size)
        {
            if (gradientOf.ContainsKey(tensor))
            {
                AddTo(tensor, buffer, size);
                return;
            }

            gradientOf[tensor] = buffer;
            users[buffer]++;
        }

        gradientOf[layers.Count] = Acquire(); // the loss's gradient seeds backward
        for (var position = layers.Count; position >= 1; position--)
        {
            var layer = plan.At(position);
            if (!gradientOf.TryGetValue(position, out var dy))
            {
                continue; // no layer after it hands a gradient back: nothing before it has parameters
            }

            var size = layer.Units;
            if (layer.PassesGradientOn(toInputs, fusions))
            {
                if (NeedsInputGradient(layer))
                {
                    Pass(layer.Inputs[0], dy, size);
                }

                Release(position);
                continue;
            }

            var inPlace = layer.ChangesOutputGradient && !BackwardFusion.Absorbs(fusions, layer) && PoolGate.GatingOf(plan, layer) is null;
            if (inPlace && users[dy] > 1)
            {
                // Another tensor's gradient shares this buffer: the layer gets its own copy to write over.
                var copy = Acquire();
                steps.Add(new GradientCopy(dy, copy, size, TensorName(plan, position)));
                Release(position);
                gradientOf[position] = copy;
                dy = copy;
            }

            switch (layer)
            {
                case { HandsGradientOnInPlace: true }:
                    // The derivative is applied in place (if there is one), and the result is every input's gradient as it is.
                    if (layer.ChangesOutputGradient)
                    {
                        steps.Add(new LayerBackward(position, dy, dy));
                    }

                    foreach (var input in layer.Inputs.Distinct())
                    {
                        if (Trains(input))
                        {
                            Pass(input, dy, size);
                        }
                    }

                    Release(position);
                    break;

                default:
                    if (!NeedsInputGradient(layer) && !Trains(position))
                    {
                        Release(position); // no parameters, and nothing before it to hand a gradient to
                        break;
                    }

                    if (!NeedsInputGradient(layer))
                    {
                        steps.Add(new LayerBackward(position, dy, -1));
                        Release(position);
                        break;
                    }

                    var input0 = layer.Inputs[0];
                    if (toInputs && input0 == 0 && !gradientOf.ContainsKey(0))
                    {
                        // The first gradient of the inputs is written where the caller wants it.
                        steps.Add(new LayerBackward(position, dy, BackwardStep.Inputs));
                        Release(position);
                        gradientOf[0] = BackwardStep.Inputs;
                        break;
                    }

                    var dx = Acquire();
                    holdsInputs |= input0 == 0;
                    steps.Add(new LayerBackward(position, dy, dx));
                    Release(position);
                    if (gradientOf.ContainsKey(input0))
                    {
                        AddTo(input0, dx, layer.InputSize);
                        users[dx]--;
                    }
                    else
                    {
                        gradientOf[input0] = dx;
                    }

                    break;
            }
        }

        if (toInputs)
        {
            // Layers that hand their gradient on as it is (flatten, an activation) may leave the inputs' in a buffer.
            if (gradientOf.TryGetValue(0, out var last) && last != BackwardStep.Inputs)
            {
                steps.Add(new GradientCopy(last, BackwardStep.Inputs, plan.InputSize, "the inputs"));
            }
        }

        return (steps.ToEquatableArray(), System.Math.Max(2, most), holdsInputs);
    }

    /// <summary>Whether tensor <paramref name="tensor"/> needs its gradient: a layer's output whose layer, or a layer before it, has parameters.</summary>
    private static bool Trains(ModelPlan plan, int tensor)
    {
        if (tensor == 0)
        {
            return false;
        }

        var layer = plan.At(tensor);
        return layer.NeedsInputGradient || layer.ParameterCount > 0;
    }

    /// <summary>The tensor's name in comments: the layer that writes it, or the model's inputs.</summary>
    private static string TensorName(ModelPlan plan, int tensor) => tensor == 0 ? "the inputs" : plan.At(tensor).Name;
}
