"""Training steps of the Fashion sample's ResNet in PyTorch, the module its generated remarks print: batch 64 of random
images, SGD with Nesterov momentum and weight decay, after three steps of warm-up. Prints the median step and samples/s
on one line that Benchmarks/resnet-pytorch.sh reads beside ModelGen's. Usage: resnet_torch.py STEPS THREADS"""
import statistics
import sys
import time

import torch
from torch import nn


class Residual(nn.Module):
    """activation(branch(x) + shortcut(x)), as in the generated remarks."""

    def __init__(self, branch, shortcut=None, activation=None):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.activation = activation if activation is not None else nn.Identity()

    def forward(self, x):
        return self.activation(self.branch(x) + self.shortcut(x))


def conv_bn(channels_in, channels_out, stride):
    # "same" padding with stride 2 on an even size pads one row and column after, as the remarks' ZeroPad2d does.
    pad = [nn.ZeroPad2d((0, 1, 0, 1))] if stride == 2 else []
    return pad + [nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=0 if stride == 2 else 1, bias=False),
                  nn.BatchNorm2d(channels_out, eps=1e-5, momentum=0.1)]


def block(channels_in, channels_out, stride):
    branch = nn.Sequential(*conv_bn(channels_in, channels_out, stride), nn.ReLU(), *conv_bn(channels_out, channels_out, 1))
    shortcut = None
    if stride != 1 or channels_in != channels_out:
        shortcut = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False), nn.BatchNorm2d(channels_out, eps=1e-5, momentum=0.1))
    return Residual(branch, shortcut, nn.ReLU())


def main():
    steps, threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = nn.Sequential(
        *conv_bn(1, 16, 1), nn.ReLU(),
        block(16, 16, 1), block(16, 16, 1),
        block(16, 32, 2), block(32, 32, 1),
        block(32, 64, 2), block(64, 64, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_function = nn.CrossEntropyLoss()
    inputs = torch.rand(64, 1, 28, 28)
    labels = torch.randint(0, 10, (64,))

    def step():
        optimizer.zero_grad()
        loss_function(model(inputs), labels).backward()
        optimizer.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    print(f"pytorch step_ms={median:.1f} samples_per_s={64 * 1000 / median:.0f} parameters={sum(p.numel() for p in model.parameters())}")


if __name__ == "__main__":
    main()
