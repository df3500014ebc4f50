using System;

namespace ModelGen;

/// <summary>
/// What every generated model implements, so that training, evaluation and optimizers live once in the runtime.
/// Calls cross this interface once per batch, never per element.
/// </summary>
public interface ITrainableModel
{
    /// <summary>Floats in one input sample.</summary>
    int InputSize { get; }

    /// <summary>Floats in one output (prediction or target) sample.</summary>
    int OutputSize { get; }

    /// <summary>Trainable parameters: every weight and bias.</summary>
    int ParameterCount { get; }

    /// <summary>The loss the model was compiled with.</summary>
    Loss Loss { get; }

    /// <summary>All parameters in one flat buffer (it may hold zero padding for alignment beyond <see cref="ParameterCount"/>).</summary>
    Span<float> Parameters { get; }

    /// <summary>∂L/∂parameter from the last <see cref="TrainStep"/>, laid out as <see cref="Parameters"/>.</summary>
    Span<float> Gradients { get; }

    /// <summary>
    /// What layers keep besides their parameters and do not train: batch normalization's running mean and variance.
    /// Empty for most models. Saved and loaded with the parameters.
    /// </summary>
    Span<float> State { get; }

    /// <summary>
    /// Positions of a sequence output whose softmax cross-entropy takes one class index per position (a language model's
    /// next tokens, −1 for a position that does not count), so OutputSize / OutputPositions classes at each; 1 otherwise.
    /// </summary>
    int OutputPositions => 1;

    /// <summary>
    /// Training batches that batch normalization has seen: PyTorch's <c>num_batches_tracked</c>, saved and loaded with
    /// the weights. Always 0 for a model without batch normalization, which has nothing to count.
    /// </summary>
    long BatchesTracked
    {
        get => 0;
        set { }
    }

    /// <summary>The named tensors that make up <see cref="Parameters"/>, in layer order.</summary>
    System.Collections.Generic.IReadOnlyList<ParameterTensor> ParameterTensors { get; }

    /// <summary>
    /// The random stream that training-only layers (dropout) draw from. It starts from the constructor's seed; saving
    /// and restoring it makes a training step repeatable.
    /// </summary>
    SeededRandom TrainingRandom { get; set; }

    /// <summary>Predicts one sample.</summary>
    void Predict(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Predicts a batch of samples stored one after another.</summary>
    void PredictBatch(ReadOnlySpan<float> inputs, Span<float> outputs);

    /// <summary>The mean loss over a batch, without computing gradients.</summary>
    float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary>
    /// The mean loss over a batch, writing the model's predictions (what <see cref="PredictBatch"/> gives) to
    /// <paramref name="predictions"/> from the same forward pass.
    /// </summary>
    float ComputeLoss(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Span<float> predictions);

    /// <summary>Forward and backward on one batch: overwrites <see cref="Gradients"/> and returns the batch's mean loss.</summary>
    float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets);

    /// <summary>
    /// One training step whose gradient is the mean of the samples' gradients each clipped to norm
    /// <paramref name="clipNorm"/>, DP-SGD's clipping: overwrites <see cref="Gradients"/> with (1/batch)·Σₙ min(1, C/‖gₙ‖)·gₙ,
    /// gₙ the gradient of sample n's loss, and writes each ‖gₙ‖ to <paramref name="sampleNorms"/>. Returns the batch's
    /// mean loss. Models with batch normalization refuse it (<see cref="NotSupportedException"/>): it mixes the samples.
    /// </summary>
    float TrainStepClipped(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, float clipNorm, Span<float> sampleNorms);

    /// <summary>
    /// The gradient of the predictions with respect to the inputs, through the hand-derived backward pass: for each
    /// sample n, inputGradients[n] = ∂(Σⱼ outputGradients[n, j] · prediction[n, j]) / ∂input[n], where the predictions
    /// are what <see cref="PredictBatch"/> gives (dropout off, batch normalization on its running statistics). A one-hot
    /// <paramref name="outputGradients"/> row gives the saliency map of that output. Leaves <see cref="Gradients"/> as it was.
    /// </summary>
    void InputGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradients, Span<float> inputGradients);

    /// <summary>
    /// ∂(mean loss)/∂inputs for a batch, with the loss computed as <see cref="ComputeLoss(ReadOnlySpan{float}, ReadOnlySpan{float})"/>
    /// computes it; returns that loss. Leaves <see cref="Gradients"/> as it was.
    /// </summary>
    float LossInputGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, Span<float> inputGradients);
}
