"""PyTorch fixtures for ModelGen's weight files, and the check of ModelGen's files in PyTorch.

A ModelGen weights file is the state_dict of the equivalent PyTorch module: an nn.Sequential called `layers` in
which every module counts (each generated model's XML remarks show it as code). This script holds that module for
each ModelGen model declared in Tests/ModelGen.Runtime.Tests/PyTorchModels.cs (and the Fashion MLP sample) and
moves weights both ways, with no conversion on either side.

    /usr/bin/python3 Tests/Fixtures/pytorch_fixtures.py write [DIR]
        PyTorch -> ModelGen. For each model, with torch.manual_seed fixed per model: build the module, give batch and
        layer normalization random affine parameters, run a few forward passes in train mode on random data (so
        that running_mean, running_var and num_batches_tracked are not their defaults; dense and convolution weights
        are doubled so that the outputs spread), switch to eval(), and write
            DIR/<name>.safetensors     the module's state_dict (F32, and I64 num_batches_tracked)
            DIR/<name>.io.safetensors  "inputs" [4, ...] and "outputs" [4, k]: PyTorch's eval() forward after
                                       softmax (SoftmaxCrossEntropy models) or sigmoid (BinaryCrossEntropy)
        DIR defaults to Tests/ModelGen.Runtime.Tests/Fixtures, where the generated files are committed; the C# tests
        in PyTorchFixtureTests.cs load them with ModelGen's loader and compare its predictions to 1e-5. Rerun it
        (and commit the files) after changing a model here and in PyTorchModels.cs together.

    /usr/bin/python3 Tests/Fixtures/pytorch_fixtures.py check DIR
        ModelGen -> PyTorch (what .ci/pytorch-check runs). DIR holds, for each model, <name>.safetensors saved by a
        trained ModelGen model's Save and <name>.io.safetensors with inputs and ModelGen's PredictBatch outputs
        (written by PyTorchExportTests when MODELGEN_PYTORCH_EXPORT_DIR is set). Each file is loaded with
        load_state_dict(..., strict=True), the eval() forward (+ softmax or sigmoid) is compared with ModelGen's
        outputs to 1e-5 (absolute up to 1, relative above), one line is printed per model, and the exit code is
        non-zero if any model fails.

The models: fashion-mlp (the Fashion MLP sample, 784-256-128-10, ReLU, dropout 0.2), bn-cnn (two same-padded
convolutions, each with ReLU, batch normalization and max pooling, then flatten, dense, dropout, dense), mixed-cnn
(a stride-2 same-padded convolution that needs ZeroPad2d, LeakyReLU, layer normalization of an image, GELU, average
pooling, batch normalization after Flatten, ELU, dropout, SiLU) and pooled-net (a valid convolution with tanh,
overlapping max pooling, a ZeroPad2d with padding on all four sides, sigmoid, batch normalization of channels with
PyTorch's own eps and momentum, global average pooling, layer normalization of a vector, GELU; binary
cross-entropy). ModelGen has no residual or sequence (embedding, attention, recurrent) layers yet, so there are no
such fixtures.

It needs torch (Debian: apt-get install python3-torch libopenblas0-openmp, then run Debian's /usr/bin/python3) and
numpy; safetensors files are read and written by hand: an 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}} with "__metadata__", padded with spaces to a multiple of 8, then the raw
little-endian data.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

BATCH = 4
TOLERANCE = 1e-5
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DIR = os.path.join(REPOSITORY, "Tests", "ModelGen.Runtime.Tests", "Fixtures")

DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}
TORCH_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


# ---------------------------------------------------------------- safetensors by hand

def write_safetensors(path, tensors, metadata=None):
    """Writes {name: torch tensor} (float32 or int64) in order, as the safetensors format lays them out."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().contiguous().cpu()
        dtype = TORCH_DTYPES[tensor.dtype]
        data = tensor.numpy().astype(DTYPES[dtype], copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)


def read_safetensors(path):
    """Reads a safetensors file of F32 and I64 tensors: ({name: torch tensor} in file order, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + length:]
    tensors = {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, end = entry["data_offsets"]
        if entry["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}; this reader knows {sorted(DTYPES)}")
        values = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors, metadata


# ---------------------------------------------------------------- the modules

class Net(nn.Module):
    """The equivalent PyTorch module of a ModelGen model: its state_dict keys are layers.{index}.{tensor}."""

    def __init__(self, layers, output):
        super().__init__()
        self.layers = layers
        self.output = output  # what ModelGen's Predict applies to the logits: "softmax" or "sigmoid"

    def forward(self, x):
        return self.layers(x)

    def predict(self, x):
        """ModelGen's Predict: the module's logits through softmax or sigmoid."""
        z = self(x)
        return torch.softmax(z, dim=1) if self.output == "softmax" else torch.sigmoid(z)


def fashion_mlp():
    # Samples/FashionMnist/FashionMlp.cs: [Input(784)] [Dense(256, Relu)] [Dropout(0.2)] [Dense(128, Relu)]
    # [Dropout(0.2)] [Dense(10)], softmax cross-entropy.
    return Net(nn.Sequential(
        nn.Linear(784, 256),                            # layers.0
        nn.ReLU(),                                      # layers.1
        nn.Dropout(0.2),                                # layers.2
        nn.Linear(256, 128),                            # layers.3
        nn.ReLU(),                                      # layers.4
        nn.Dropout(0.2),                                # layers.5
        nn.Linear(128, 10),                             # layers.6
    ), "softmax"), (784,)


def bn_cnn():
    # PyTorchModels.cs: TorchBatchNormCnn.
    return Net(nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),                  # layers.0
        nn.ReLU(),                                      # layers.1
        nn.BatchNorm2d(8, eps=0.001, momentum=0.01),    # layers.2
        nn.MaxPool2d(2),                                # layers.3
        nn.Conv2d(8, 16, 3, padding=1),                 # layers.4
        nn.ReLU(),                                      # layers.5
        nn.BatchNorm2d(16, eps=0.001, momentum=0.01),   # layers.6
        nn.MaxPool2d(2),                                # layers.7
        nn.Flatten(),                                   # layers.8
        nn.Linear(784, 32),                             # layers.9
        nn.ReLU(),                                      # layers.10
        nn.Dropout(0.25),                               # layers.11
        nn.Linear(32, 10),                              # layers.12
    ), "softmax"), (1, 28, 28)


def mixed_cnn():
    # PyTorchModels.cs: TorchMixedCnn.
    return Net(nn.Sequential(
        nn.ZeroPad2d((0, 1, 0, 1)),                     # layers.0   Keras' "same" at stride 2: the odd zero row/column at the bottom/right
        nn.Conv2d(3, 6, 3, stride=2),                   # layers.1
        nn.LeakyReLU(0.2),                              # layers.2
        nn.LayerNorm([6, 6, 6], eps=1e-05),             # layers.3
        nn.Conv2d(6, 8, 3, padding=1),                  # layers.4
        nn.GELU(approximate="tanh"),                    # layers.5
        nn.AvgPool2d(2),                                # layers.6
        nn.Flatten(),                                   # layers.7
        nn.BatchNorm1d(72, eps=0.001, momentum=0.01),   # layers.8
        nn.Linear(72, 16),                              # layers.9
        nn.ELU(1.0),                                    # layers.10
        nn.Dropout(0.1),                                # layers.11
        nn.Linear(16, 12),                              # layers.12
        nn.SiLU(),                                      # layers.13
        nn.Linear(12, 5),                               # layers.14
    ), "softmax"), (3, 12, 12)


def pooled_net():
    # PyTorchModels.cs: TorchPooledNet (binary cross-entropy: three sigmoid outputs).
    return Net(nn.Sequential(
        nn.Conv2d(2, 4, 3),                             # layers.0
        nn.Tanh(),                                      # layers.1
        nn.MaxPool2d(2, stride=1),                      # layers.2
        nn.ZeroPad2d((1, 2, 1, 2)),                     # layers.3   "same", kernel 4, stride 2 over 7: 3 zero rows/columns, 1 before and 2 after
        nn.Conv2d(4, 6, 4, stride=2),                   # layers.4
        nn.Sigmoid(),                                   # layers.5
        nn.BatchNorm2d(6, eps=1e-05, momentum=0.1),     # layers.6
        nn.AdaptiveAvgPool2d(1),                        # layers.7
        nn.Flatten(),                                   # layers.8
        nn.LayerNorm(6, eps=0.001),                     # layers.9
        nn.Linear(6, 8),                                # layers.10
        nn.GELU(approximate="tanh"),                    # layers.11
        nn.Linear(8, 3),                                # layers.12
    ), "sigmoid"), (2, 10, 10)


MODELS = {
    "fashion-mlp": fashion_mlp,
    "bn-cnn": bn_cnn,
    "mixed-cnn": mixed_cnn,
    "pooled-net": pooled_net,
}


# ---------------------------------------------------------------- PyTorch -> ModelGen

def write(directory):
    os.makedirs(directory, exist_ok=True)
    for index, (name, build) in enumerate(MODELS.items()):
        torch.manual_seed(1000 + index)
        model, shape = build()
        with torch.no_grad():
            # PyTorch's initial weights are small enough that every class gets about the same probability; doubled,
            # the probabilities spread (0.25 to 0.9 between the lowest and highest), so that a wrong value shows.
            for module in model.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d)):
                    module.weight.mul_(2)
            # Normalization layers with affine parameters that are not 1 and 0, so that a scale read as a shift or a
            # channel read as another shows.
            for module in model.modules():
                if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
                    module.weight.copy_(1 + 0.3 * torch.randn_like(module.weight))
                    module.bias.copy_(0.2 * torch.randn_like(module.bias))
            # Running statistics away from 0 and 1 and a batch counter away from 0: train-mode passes on data with
            # an offset and a scale.
            model.train()
            for _ in range(3):
                model(1.5 * torch.randn(16, *shape) + 0.4)
            model.eval()
            inputs = torch.randn(BATCH, *shape)
            outputs = model.predict(inputs)
        write_safetensors(os.path.join(directory, f"{name}.safetensors"), model.state_dict())
        write_safetensors(os.path.join(directory, f"{name}.io.safetensors"), {"inputs": inputs, "outputs": outputs},
                          {"format": "pt", "producer": f"pytorch {torch.__version__}", "output": model.output})
        size = sum(os.path.getsize(os.path.join(directory, f"{name}{suffix}")) for suffix in (".safetensors", ".io.safetensors"))
        print(f"{name}: {len(model.state_dict())} tensors, outputs {list(outputs.shape)} ({model.output}), {size} bytes")


# ---------------------------------------------------------------- ModelGen -> PyTorch

def check(directory):
    failures = 0
    for name, build in MODELS.items():
        try:
            model, shape = build()
            state, metadata = read_safetensors(os.path.join(directory, f"{name}.safetensors"))
            model.load_state_dict(state, strict=True)
            model.eval()
            io, _ = read_safetensors(os.path.join(directory, f"{name}.io.safetensors"))
            inputs, expected = io["inputs"], io["outputs"]
            with torch.no_grad():
                actual = model.predict(inputs.reshape(-1, *shape))
            error = ((actual - expected).abs() / expected.abs().clamp(min=1)).max().item()
            counters = [int(v) for k, v in state.items() if k.endswith("num_batches_tracked")]
            tracked = f", num_batches_tracked {counters[0]}" if counters else ""
            ok = actual.shape == expected.shape and error <= TOLERANCE
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {metadata.get('model', '?')} loaded with strict=True "
                  f"({len(state)} tensors{tracked}), {expected.shape[0]} samples x {expected.shape[1]} {model.output} "
                  f"outputs in [{expected.min().item():.3f}, {expected.max().item():.3f}], max difference {error:.2e} "
                  f"(tolerance {TOLERANCE:.0e})")
        except Exception as e:  # one line per model, whatever went wrong
            failures += 1
            message = " ".join(str(e).split())
            print(f"FAIL {name}: {type(e).__name__}: {message}")
    return failures


def main(argv):
    torch.set_num_threads(1)
    if len(argv) >= 1 and argv[0] == "check" and len(argv) == 2:
        failures = check(argv[1])
        print(f"{len(MODELS) - failures} of {len(MODELS)} ModelGen models match PyTorch")
        return 1 if failures else 0
    if len(argv) <= 2 and (not argv or argv[0] == "write"):
        write(argv[1] if len(argv) == 2 else DEFAULT_DIR)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
