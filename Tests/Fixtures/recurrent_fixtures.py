"""PyTorch's LSTM and GRU on a fixed small problem: what ModelGen's recurrent kernels are compared with.

    /usr/bin/python3 Tests/Fixtures/recurrent_fixtures.py [DIR]

For each of torch.nn.LSTM and torch.nn.GRU (one layer, batch_first=True, with biases), with torch.manual_seed fixed,
builds the module at its default initialization (weights scaled by 2 so that the gates are not all near 0.5), draws
inputs, a non-zero initial state and a gradient of the output sequence, runs forward and backward in float32, and
writes DIR/recurrent.safetensors (DIR defaults to Tests/ModelGen.Runtime.Tests/Fixtures, where the file is committed)
with, under the prefix "lstm." or "gru.":

    input [B, T, I], h0 [B, H] (and c0 for the LSTM), the state_dict (weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0), output [B, T, H], grad_output [B, T, H], and the gradients of sum(output * grad_output):
    grad_input, grad_h0 (grad_c0), grad_weight_ih_l0, grad_weight_hh_l0, grad_bias_ih_l0, grad_bias_hh_l0.

RecurrentFixtureTests.cs loads the file and compares ModelGen's forward and backward with these numbers, so the
tests need no PyTorch. It needs torch (Debian: apt-get install python3-torch libopenblas0-openmp, then Debian's
/usr/bin/python3); the file is written with pytorch_fixtures.write_safetensors.
"""

import os
import sys

import torch
from torch import nn

from pytorch_fixtures import DEFAULT_DIR, write_safetensors

BATCH, STEPS, INPUTS, HIDDEN = 3, 5, 4, 6
PARAMETERS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def case(name, module, seed):
    """The tensors of one module's forward and backward, named with its prefix."""
    torch.manual_seed(seed)
    layer = module(INPUTS, HIDDEN, num_layers=1, bias=True, batch_first=True)
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.mul_(2)
    inputs = torch.randn(BATCH, STEPS, INPUTS, requires_grad=True)
    h0 = (0.5 * torch.randn(1, BATCH, HIDDEN)).requires_grad_()
    states = [h0]
    if module is nn.LSTM:
        states.append((0.5 * torch.randn(1, BATCH, HIDDEN)).requires_grad_())
    grad_output = torch.randn(BATCH, STEPS, HIDDEN)
    output, _ = layer(inputs, tuple(states) if len(states) == 2 else h0)
    (output * grad_output).sum().backward()

    tensors = {"input": inputs, "h0": h0[0]}
    if len(states) == 2:
        tensors["c0"] = states[1][0]
    parameters = dict(layer.named_parameters())
    tensors.update({p: parameters[p] for p in PARAMETERS})
    tensors.update({"output": output, "grad_output": grad_output, "grad_input": inputs.grad, "grad_h0": h0.grad[0]})
    if len(states) == 2:
        tensors["grad_c0"] = states[1].grad[0]
    tensors.update({"grad_" + p: parameters[p].grad for p in PARAMETERS})
    return {f"{name}.{key}": value for key, value in tensors.items()}


def main(argv):
    torch.set_num_threads(1)
    directory = argv[0] if argv else DEFAULT_DIR
    tensors = {**case("lstm", nn.LSTM, 2001), **case("gru", nn.GRU, 2002)}
    metadata = {"format": "pt", "torch": torch.__version__, "shape": f"B={BATCH} T={STEPS} I={INPUTS} H={HIDDEN}"}
    path = os.path.join(directory, "recurrent.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"wrote {path}: {len(tensors)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
