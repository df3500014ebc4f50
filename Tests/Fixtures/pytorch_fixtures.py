"""PyTorch fixtures for ModelGen's weight files, and the check of ModelGen's files in PyTorch.

A ModelGen weights file is the state_dict of the equivalent PyTorch module: an nn.Sequential called `layers` in
which every module counts (each generated model's XML remarks show it as code). This script holds that module for
each ModelGen model declared in Tests/ModelGen.Runtime.Tests/PyTorchModels.cs (and the Fashion MLP and ResNet samples)
and moves weights both ways, with no conversion on either side. A residual connection is one module of that
nn.Sequential, Residual(branch, shortcut, activation), defined here as the remarks define it.

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
        (and commit the files) after changing a model here and in PyTorchModels.cs together. The models in
        CHECK_ONLY get no fixture (the Fashion ResNet sample's state_dict would be 700 KB); each model's seed is
        1000 + its position in MODELS, so a model added at the end leaves the other fixtures' bytes unchanged.

    /usr/bin/python3 Tests/Fixtures/pytorch_fixtures.py check DIR
        ModelGen -> PyTorch (what .ci/pytorch-check runs). DIR holds, for each model, <name>.safetensors saved by a
        trained ModelGen model's Save and <name>.io.safetensors with inputs and ModelGen's PredictBatch outputs
        (written by PyTorchExportTests when MODELGEN_PYTORCH_EXPORT_DIR is set). Each file is loaded with
        load_state_dict(..., strict=True), the eval() forward (+ softmax or sigmoid) is compared with ModelGen's
        outputs to 1e-5 (absolute up to 1, relative above), the file's tensors must come in the state_dict's order,
        one line is printed per model, and the exit code is non-zero if any model fails.

The models: fashion-mlp (the Fashion MLP sample, 784-256-128-10, ReLU, dropout 0.2), bn-cnn (two same-padded
convolutions, each with ReLU, batch normalization and max pooling, then flatten, dense, dropout, dense), mixed-cnn
(a stride-2 same-padded convolution that needs ZeroPad2d, LeakyReLU, layer normalization of an image, GELU, average
pooling, batch normalization after Flatten, ELU, dropout, SiLU) and pooled-net (a valid convolution with tanh,
overlapping max pooling, a ZeroPad2d with padding on all four sides, sigmoid, batch normalization of channels with
PyTorch's own eps and momentum, global average pooling, layer normalization of a vector, GELU; binary
cross-entropy), res-net (a stem convolution with batch normalization and ReLU, an identity residual block and a
downsampling one with a strided 1x1 convolution and batch normalization as its shortcut, each block conv-BN-ReLU-conv-BN
with ReLU after the sum, global average pooling, dense) and, checked only, fashion-resnet (the Fashion ResNet sample:
three stages of two such blocks). The recurrent kernels' fixture (torch.nn.LSTM and GRU) is written by
recurrent_fixtures.py beside this script.

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


class Residual(nn.Module):  # activation(branch(x) + shortcut(x))
    """A [Residual] connection of ModelGen, exactly as the generated remarks define it: one module whose state_dict
    keys are branch.{index}.{tensor} and shortcut.{index}.{tensor}."""

    def __init__(self, branch, shortcut=None, activation=None):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.activation = activation if activation is not None else nn.Identity()

    def forward(self, x):
        return self.activation(self.branch(x) + self.shortcut(x))


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


def res_net():
    # PyTorchModels.cs: TorchResNet (blocks TorchBasicBlock, TorchDownBlock and its shortcut TorchProjection).
    return Net(nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),           # layers.0
        nn.BatchNorm2d(4, eps=1e-05, momentum=0.1),          # layers.1
        nn.ReLU(),                                           # layers.2
        Residual(                                            # layers.3
            nn.Sequential(                                   # layers.3.branch
                nn.Conv2d(4, 4, 3, padding=1, bias=False),   # layers.3.branch.0
                nn.BatchNorm2d(4, eps=1e-05, momentum=0.1),  # layers.3.branch.1
                nn.ReLU(),                                   # layers.3.branch.2
                nn.Conv2d(4, 4, 3, padding=1, bias=False),   # layers.3.branch.3
                nn.BatchNorm2d(4, eps=1e-05, momentum=0.1),  # layers.3.branch.4
            ),
            activation=nn.ReLU(),
        ),
        Residual(                                            # layers.4
            nn.Sequential(                                   # layers.4.branch
                nn.ZeroPad2d((0, 1, 0, 1)),                  # layers.4.branch.0
                nn.Conv2d(4, 6, 3, stride=2, bias=False),    # layers.4.branch.1
                nn.BatchNorm2d(6, eps=1e-05, momentum=0.1),  # layers.4.branch.2
                nn.ReLU(),                                   # layers.4.branch.3
                nn.Conv2d(6, 6, 3, padding=1, bias=False),   # layers.4.branch.4
                nn.BatchNorm2d(6, eps=1e-05, momentum=0.1),  # layers.4.branch.5
            ),
            shortcut=nn.Sequential(                          # layers.4.shortcut
                nn.Conv2d(4, 6, 1, stride=2),                # layers.4.shortcut.0
                nn.BatchNorm2d(6, eps=1e-05, momentum=0.1),  # layers.4.shortcut.1
            ),
            activation=nn.ReLU(),
        ),
        nn.AdaptiveAvgPool2d(1),                             # layers.5
        nn.Flatten(),                                        # layers.6
        nn.Linear(6, 3),                                     # layers.7
    ), "softmax"), (2, 6, 6)


def fashion_resnet():
    # Samples/FashionMnist/FashionResNet.cs: the stem, then Basic16 twice (Repeat = 2), Down32 with its shortcut
    # Project32, Basic32, Down64 with Project64, Basic64; global average pooling and Dense(10). The blocks are built by
    # two functions, with the same modules, in the same order, as the sample's generated remarks write them out.
    def basic(channels):
        # A basic block: layers.N.branch.0 to .4.
        return Residual(nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels, eps=1e-05, momentum=0.1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels, eps=1e-05, momentum=0.1),
        ), activation=nn.ReLU())

    def down(inputs, channels):
        # A block that halves the image: "same" at stride 2 on an even side pads one zero row and column after
        # (branch.0), and its shortcut is a strided 1x1 convolution with batch normalization (shortcut.0 and .1).
        return Residual(nn.Sequential(
            nn.ZeroPad2d((0, 1, 0, 1)),
            nn.Conv2d(inputs, channels, 3, stride=2, bias=False),
            nn.BatchNorm2d(channels, eps=1e-05, momentum=0.1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels, eps=1e-05, momentum=0.1),
        ), shortcut=nn.Sequential(
            nn.Conv2d(inputs, channels, 1, stride=2, bias=False),
            nn.BatchNorm2d(channels, eps=1e-05, momentum=0.1),
        ), activation=nn.ReLU())

    return Net(nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),          # layers.0
        nn.BatchNorm2d(16, eps=1e-05, momentum=0.1),         # layers.1
        nn.ReLU(),                                           # layers.2
        basic(16),                                           # layers.3
        basic(16),                                           # layers.4
        down(16, 32),                                        # layers.5
        basic(32),                                           # layers.6
        down(32, 64),                                        # layers.7
        basic(64),                                           # layers.8
        nn.AdaptiveAvgPool2d(1),                             # layers.9
        nn.Flatten(),                                        # layers.10
        nn.Linear(64, 10),                                   # layers.11
    ), "softmax"), (1, 28, 28)


MODELS = {
    "fashion-mlp": fashion_mlp,
    "bn-cnn": bn_cnn,
    "mixed-cnn": mixed_cnn,
    "pooled-net": pooled_net,
    "res-net": res_net,
    "fashion-resnet": fashion_resnet,
}

# Checked in ModelGen -> PyTorch only, with no committed fixture: the sample ResNet's state_dict is 700 KB.
CHECK_ONLY = {"fashion-resnet"}


# ---------------------------------------------------------------- PyTorch -> ModelGen

def write(directory):
    os.makedirs(directory, exist_ok=True)
    for index, (name, build) in enumerate(MODELS.items()):
        if name in CHECK_ONLY:
            continue
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
            # Not only the names: the file lists them in the state_dict's own order (a Residual's branch, then its
            # shortcut), as torch would save them.
            ordered = list(state) == list(model.state_dict())
            model.eval()
            io, _ = read_safetensors(os.path.join(directory, f"{name}.io.safetensors"))
            inputs, expected = io["inputs"], io["outputs"]
            with torch.no_grad():
                actual = model.predict(inputs.reshape(-1, *shape))
            error = ((actual - expected).abs() / expected.abs().clamp(min=1)).max().item()
            counters = [int(v) for k, v in state.items() if k.endswith("num_batches_tracked")]
            tracked = f", num_batches_tracked {counters[0]}" if counters else ""
            ok = ordered and actual.shape == expected.shape and error <= TOLERANCE
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {metadata.get('model', '?')} loaded with strict=True "
                  f"({len(state)} tensors{tracked}, {'in' if ordered else 'NOT in'} state_dict order), "
                  f"{expected.shape[0]} samples x {expected.shape[1]} {model.output} "
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
