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
internal static class BackwardPlanner
{
    public static (EquatableArray<BackwardStep> Steps, int Buffers) Plan(ModelPlan plan)
    {
        var layers = plan.Layers;
        var fusions = BackwardFusion.Find(plan);
        var steps = new List<BackwardStep>();
        var users = new List<int>(); // per buffer, how many tensors' gradients it holds
        var gradientOf = new Dictionary<int, int>(); // tensor (0: the model's input, k: layer k's output) → its buffer
        var most = 0;

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
            if (users[existing] > 1)
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
            if (layer is FlattenPlan || (layer is DropoutPlan && BackwardFusion.Absorbs(fusions, layer)))
            {
                // A flatten layer's gradient is its input's, viewed again; an absorbed dropout's mask was applied by the
                // input-gradient product above it.
                if (layer.NeedsInputGradient)
                {
                    Pass(layer.Inputs[0], dy, size);
                }

                Release(position);
                continue;
            }

            var inPlace = layer.ChangesOutputGradient && !(layer is DensePlan dense && BackwardFusion.GatingOf(fusions, dense) is not null);
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
                        if (Trains(plan, input))
                        {
                            Pass(input, dy, size);
                        }
                    }

                    Release(position);
                    break;

                default:
                    if (!layer.NeedsInputGradient && !Trains(plan, position))
                    {
                        Release(position); // no parameters, and nothing before it to hand a gradient to
                        break;
                    }

                    if (!layer.NeedsInputGradient)
                    {
                        steps.Add(new LayerBackward(position, dy, -1));
                        Release(position);
                        break;
                    }

                    var input0 = layer.Inputs[0];
                    var dx = Acquire();
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

        return (steps.ToEquatableArray(), System.Math.Max(2, most));
    }

    /// <summary>Whether tensor <paramref name="tensor"/> needs its gradient: a layer's output whose layer, or a layer before it, has parameters.</summary>
    private static bool Trains(ModelPlan plan, int tensor)
    {
        if (tensor == 0)
        {
            return false;
        }

        var layer = plan.At(tensor);
        return layer.NeedsInputGradient || layer is IWeightedPlan or LayerNormPlan or BatchNormPlan;
    }

    /// <summary>The tensor's name in comments: the layer that writes it, or the model's inputs.</summary>
    private static string TensorName(ModelPlan plan, int tensor) => tensor == 0 ? "the inputs" : plan.At(tensor).Name;
}
