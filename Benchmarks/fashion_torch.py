"""The Fashion samples' PyTorch reference speeds: training and inference of the small Fashion-MNIST-shaped models the C#
samples generate, and a Keras-style linear regression, all in one process on random data.

Usage (Debian's python3-torch 1.13 with OpenBLAS; apt-get install -y python3-torch libopenblas0-openmp):
    /usr/bin/python3 Benchmarks/fashion_torch.py [mlp-train|cnn-train|mlp-predict|linreg|all] [--rounds 5] [--threads 1]
Run it under `nice -n 19` on a shared machine. `all` (the default) takes about 20 s on one thread.

Output: a first line `torch version=… threads=… blas=… blas_info=… mkl=… mkldnn=… capability=… cpu="…"` (blas is
the BLAS library actually mapped into the process after a matrix product, since Debian's build reports
blas_info=generic, its BLAS_INFO build setting; capability is the CPU capability ATen dispatches to), then one line per
workload, each starting with the workload's name and ending with `threads=N rounds=N`:
    mlp-train samples_per_s=… threads=… rounds=…
    cnn-train samples_per_s=… train_flops_per_sample=… gflops_per_s=… threads=… rounds=…
    mlp-predict batch1_us=… batch256_samples_per_s=… threads=… rounds=…
    linreg total_ms=… final_loss=… last_epoch_loss=… w=… b=… threads=… rounds=…

Common rules: float32, torch.set_num_threads(--threads) (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set to the same
before torch loads), weights from torch.manual_seed(1), inputs drawn once from a torch.Generator seeded 2 (images
uniform [0, 1), labels uniform integers 0..9) and reused by every step. Every workload first runs untimed warm-up steps,
then ROUNDS rounds of a fixed number of steps, each round timed as a whole with time.perf_counter; the reported speed
comes from the median round.

mlp-train: Linear(784, 256) ReLU Linear(256, 128) ReLU Linear(128, 10) (235,146 parameters), nn.CrossEntropyLoss,
    Adam(lr 1e-3, PyTorch's defaults otherwise), batch 64. A step: optimizer.zero_grad() (PyTorch 1.13's default,
    gradients zeroed rather than set to None), forward, loss, backward, optimizer.step(). 300 steps a round, 30 warm-up.
cnn-train: Conv2d(1, 32, 3, padding 1) ReLU MaxPool2d(2) Conv2d(32, 64, 3, padding 1) ReLU MaxPool2d(2) Flatten
    Linear(3136, 128) ReLU Linear(128, 10) on 1x28x28 (421,642 parameters); same loss, optimiser, batch and step.
    20 steps a round, 5 warm-up. train_flops_per_sample counts 2 FLOPs per multiply-add of the convolutions and the
    linears (no biases, activations, pooling, loss or optimiser): forward once, input gradient once, weight gradient
    once, except that the first convolution has no input gradient, so it counts twice its forward and the others three
    times: 2 * 451,584 + 3 * (7,225,344 + 802,816 + 2,560) = 24,995,328. gflops_per_s = that * samples_per_s / 1e9.
mlp-predict: the mlp-train model (untrained, fresh from the seed) in eval mode under torch.inference_mode().
    batch1_us: one 784-value input per call, 2,000 calls a round (200 warm-up), the median round's time / 2,000 in
    microseconds. batch256_samples_per_s: 256 inputs per call, 100 calls a round (10 warm-up).
linreg: Keras-style linear regression. Data: 1,000 samples x ~ U[0, 1), y = 3x + U[0, 1) (Generator seeded 3), drawn
    once. Model Linear(1, 1) initialised as Keras's Dense(1): weight Glorot-uniform, i.e. U(-sqrt(3), sqrt(3)), from
    torch.manual_seed(1), bias 0. Loss: mean squared error; optimiser: plain SGD lr 0.01. Keras's fit(batch_size=32,
    shuffle=True): each epoch a fresh torch.randperm(1000) (Generator seeded 4) cut into 32 batches, 31 of 32 samples
    and a last one of 8; 125 epochs = 4,000 steps. Every round restarts from the same weights and shuffling seed, so
    every round computes the same numbers; the timed part is the 4,000 steps including the optimiser's creation, the
    shuffling and the batch gathers (the model is built before the clock starts). total_ms: the median round.
    final_loss: the trained model's mean squared error over all 1,000 samples; last_epoch_loss: the sample-weighted
    mean of the last epoch's batch losses (what Keras prints for the epoch).
    One warm-up round. The best possible loss is the noise's variance, about 1/12 = 0.0833, at w = 3, b = 0.5.

Measured here (Intel Xeon with AVX-512, ATen dispatching AVX2, 2 vCPUs shared with other benchmarks, load average about
2, nice -n 19, torch 1.13.0a0 with OpenBLAS 0.3.21 (openmp), one thread, 5 rounds; `all` took 18 s):
    mlp-train samples_per_s=12762 (16915 in a 2-round run a minute earlier: the shared machine's noise)
    cnn-train samples_per_s=1473 train_flops_per_sample=24995328 gflops_per_s=36.82
    mlp-predict batch1_us=100.7 batch256_samples_per_s=66423
        (batch 1: about 70 us of it is the first layer's 784x256 product in OpenBLAS, not Python overhead)
    linreg total_ms=331.6 final_loss=0.07988 last_epoch_loss=0.07996 w=3.0113 b=0.5049
"""
import argparse
import os
import re
import statistics
import time

WORKLOADS = ["mlp-train", "cnn-train", "mlp-predict", "linreg"]
BATCH = 64


def parse():
    parser = argparse.ArgumentParser(description="PyTorch reference speeds for the Fashion samples")
    parser.add_argument("workload", nargs="?", default="all", choices=WORKLOADS + ["all"])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per workload; the median is reported")
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


args = parse()
# Before torch loads OpenMP/OpenBLAS, so that no pool starts wider than --threads.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402


# ---------------------------------------------------------------- environment

def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def blas_library():
    """The BLAS shared object mapped into this process, after a matrix product has made sure it is loaded."""
    torch.rand(8, 8) @ torch.rand(8, 8)
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line}
    found = sorted(p for p in paths if "blas" in os.path.basename(p) or "mkl" in os.path.basename(p))
    # Prefer the real library (libopenblasp-r0.3.21.so) over the libblas.so.3 alternative that forwards to it.
    chosen = [p for p in found if "openblas" in os.path.basename(p) or "mkl" in os.path.basename(p)] or found
    return "/".join(chosen[0].split("/")[-2:]) if chosen else "none"


def config_value(key):
    """A value from torch.__config__.show(): `KEY=value` in the build settings or `- KEY: value` on its own line."""
    text = torch.__config__.show()
    match = re.search(re.escape(key) + r"=([^,\s]*)", text) or re.search(r"- " + re.escape(key) + r":\s*(\S+)", text)
    return match.group(1) if match else "?"


def header():
    mkl = "yes" if torch.backends.mkl.is_available() else "no"
    mkldnn = "yes" if torch.backends.mkldnn.is_available() else "no"
    return (f"torch version={torch.__version__} threads={torch.get_num_threads()} blas={blas_library()} "
            f"blas_info={config_value('BLAS_INFO')} mkl={mkl} mkldnn={mkldnn} "
            f"capability={config_value('CPU capability usage')} cpu=\"{cpu_model()}\"")


# ---------------------------------------------------------------- models and timing

def mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def random_batch(shape, batch):
    generator = torch.Generator().manual_seed(2)
    inputs = torch.rand(batch, *shape, generator=generator)
    labels = torch.randint(0, 10, (batch,), generator=generator)
    return inputs, labels


def median_round(run, steps, warmup_steps, rounds):
    """Runs run(warmup_steps) untimed, then rounds x run(steps); returns the median round in seconds."""
    run(warmup_steps)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(steps)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_steps(model, inputs, labels):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = nn.CrossEntropyLoss()
    model.train()

    def run(steps):
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_function(model(inputs), labels)
            loss.backward()
            optimizer.step()

    return run


def train_flops_per_sample(model, input_shape):
    """2 FLOPs per multiply-add of every Conv2d and Linear; 3x the forward for each, 2x for the first layer (no input
    gradient)."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            macs.append(output[0].numel() * per_output)
        else:
            macs.append(module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for handle in handles:
        handle.remove()
    return sum(2 * m * (2 if i == 0 else 3) for i, m in enumerate(macs))


def tail():
    return f"threads={torch.get_num_threads()} rounds={args.rounds}"


# ---------------------------------------------------------------- workloads

def mlp_train():
    inputs, labels = random_batch((784,), BATCH)
    seconds = median_round(training_steps(mlp(), inputs, labels), 300, 30, args.rounds)
    print(f"mlp-train samples_per_s={300 * BATCH / seconds:.0f} {tail()}", flush=True)


def cnn_train():
    model = cnn()
    flops = train_flops_per_sample(model, (1, 28, 28))
    inputs, labels = random_batch((1, 28, 28), BATCH)
    seconds = median_round(training_steps(model, inputs, labels), 20, 5, args.rounds)
    samples_per_s = 20 * BATCH / seconds
    print(f"cnn-train samples_per_s={samples_per_s:.0f} train_flops_per_sample={flops} "
          f"gflops_per_s={flops * samples_per_s / 1e9:.2f} {tail()}", flush=True)


def mlp_predict():
    model = mlp().eval()
    single, _ = random_batch((784,), 1)
    batch, _ = random_batch((784,), 256)

    def calls(inputs):
        def run(count):
            with torch.inference_mode():
                for _ in range(count):
                    model(inputs)
        return run

    single_seconds = median_round(calls(single), 2000, 200, args.rounds)
    batch_seconds = median_round(calls(batch), 100, 10, args.rounds)
    print(f"mlp-predict batch1_us={single_seconds / 2000 * 1e6:.1f} "
          f"batch256_samples_per_s={100 * 256 / batch_seconds:.0f} {tail()}", flush=True)


def linreg_data():
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(1000, 1, generator=generator)
    y = 3 * x + torch.rand(1000, 1, generator=generator)
    return x, y


def linreg_model():
    torch.manual_seed(1)
    model = nn.Linear(1, 1)
    nn.init.xavier_uniform_(model.weight)  # Keras's glorot_uniform: U(-sqrt(6 / (1 + 1)), +sqrt(6 / (1 + 1)))
    nn.init.zeros_(model.bias)
    return model


def linreg_fit(model, x, y, epochs, batch=32):
    """Keras-style fit of the given model; returns the last epoch's batch losses with their sizes."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_function = nn.MSELoss()
    generator = torch.Generator().manual_seed(4)
    count = x.shape[0]
    last = []
    for epoch in range(epochs):
        order = torch.randperm(count, generator=generator)
        for start in range(0, count, batch):
            index = order[start:start + batch]
            optimizer.zero_grad()
            loss = loss_function(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            if epoch == epochs - 1:
                last.append((loss.detach(), index.shape[0]))
    return last


def linreg():
    x, y = linreg_data()
    epochs = 125  # 125 epochs x 32 batches = 4,000 steps
    linreg_fit(linreg_model(), x, y, epochs)  # warm-up round
    times = []
    for _ in range(args.rounds):
        model = linreg_model()
        start = time.perf_counter()
        last = linreg_fit(model, x, y, epochs)
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        final = nn.functional.mse_loss(model(x), y).item()
    last_epoch = sum(loss.item() * size for loss, size in last) / sum(size for _, size in last)
    print(f"linreg total_ms={statistics.median(times) * 1000:.1f} final_loss={final:.5f} "
          f"last_epoch_loss={last_epoch:.5f} w={model.weight.item():.4f} b={model.bias.item():.4f} {tail()}",
          flush=True)


def main():
    torch.set_num_threads(args.threads)
    print(header(), flush=True)
    chosen = WORKLOADS if args.workload == "all" else [args.workload]
    runs = {"mlp-train": mlp_train, "cnn-train": cnn_train, "mlp-predict": mlp_predict, "linreg": linreg}
    for name in chosen:
        runs[name]()


if __name__ == "__main__":
    main()
