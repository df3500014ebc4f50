using System;
using System.Globalization;
using System.IO;
using System.Numerics;
using System.Runtime.Intrinsics;
using ModelGen;
using ModelGen.Quantization;
using ModelGen.Samples.AotInference;
using ModelGen.Samples.AotInferenceInt8;

// Classifies Fashion-MNIST images in int8 with a model compiled into this executable: Samples/AotInference's program,
// with the model's weights quantized to int8 when the program was compiled (per output channel) and only those baked
// in; the activations are quantized at run time from each image's own range at each layer (dynamic), so no
// calibration data is needed. Usage (--help lists the options):
//   AotInferenceInt8            the embedded test image, then the test set (--data DIR, the installed dataset, or Data/ beside the binary)
//   AotInferenceInt8 --first    the embedded test image only: what "time to first prediction" measures
// The last line printed is exactly `test_accuracy=<0.xxxx>` (or `first_prediction=<class>` with --first). An argument
// that cannot be used is one line on standard error and exit code 2.
string[] classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
var options = InferenceOptions.Parse(args, Console.Out, Console.Error, out var exitCode);
if (options is null)
{
    return exitCode;
}

var model = FashionClassifier.CreateInt8Predictor();
Span<float> image = stackalloc float[FashionClassifier.InputSize];
Span<float> probabilities = stackalloc float[FashionClassifier.OutputSize];
var pixels = SampleImage.Pixels;
for (var i = 0; i < image.Length; i++)
{
    image[i] = pixels[i] / 255f;
}

model.Predict(image, probabilities);
var predicted = ArgMax(probabilities);
if (options.FirstOnly)
{
    Console.WriteLine($"first_prediction={predicted}");
    return predicted == SampleImage.Label ? 0 : 1;
}

// The kernels pick the widest vectors the CPU runs and this binary was compiled for; say which, for the record.
var vectors = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : Vector128.IsHardwareAccelerated ? "SSE" : "scalar";
Console.WriteLine(
    $"ModelGen FashionClassifier, {FashionClassifier.ParameterCount:N0} parameters quantized to int8 at build time; vector kernels: {vectors}, int8 kernel: {Int8Predictor.Kernel}.");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Embedded test image: predicted {classes[predicted]} ({probabilities[predicted]:P1}); labelled {classes[SampleImage.Label]}."));

var directory = options.DataDirectory ?? (File.Exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    ? "/usr/share/datasets/fashion-mnist"
    : Path.Combine(AppContext.BaseDirectory, "Data"));
var images = Idx.ReadImages(Path.Combine(directory, InferenceOptions.TestFiles[0]), out _, out _);
var labels = Idx.ReadLabels(Path.Combine(directory, InferenceOptions.TestFiles[1]));
var test = Dataset.FromLabels(images, FashionClassifier.InputSize, labels);
var outputs = new float[test.Count * FashionClassifier.OutputSize];
var watch = System.Diagnostics.Stopwatch.StartNew();
model.PredictBatch(test.Features, outputs);
watch.Stop();
Console.Write("First ten test images, predicted (labelled):");
for (var n = 0; n < 10; n++)
{
    Console.Write($" {ArgMax(outputs.AsSpan(n * 10, 10))} ({labels[n]})");
}

Console.WriteLine();
var correct = 0;
for (var n = 0; n < test.Count; n++)
{
    correct += ArgMax(outputs.AsSpan(n * 10, 10)) == labels[n] ? 1 : 0;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{test.Count:N0} test images from {directory}, predicted in {watch.Elapsed.TotalMilliseconds:F1} ms ({test.Count / watch.Elapsed.TotalSeconds:N0} images/s)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test_accuracy={correct / (double)test.Count:F4}"));
return 0;

static int ArgMax(ReadOnlySpan<float> values)
{
    var best = 0;
    for (var i = 1; i < values.Length; i++)
    {
        best = values[i] > values[best] ? i : best;
    }

    return best;
}
