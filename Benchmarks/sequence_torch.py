"""The sequence models' PyTorch reference, the configuration the C# sequence samples replicate: a character-level GPT
and a character LSTM on the fortune corpus, and a small GPT that learns two-digit addition. Each subcommand trains one
model from fixed seeds, prints the CPU model, the torch version and the parameter count, and ends with one
machine-readable line.

Usage (Debian's python3-torch 1.13 with OpenBLAS; apt-get install -y python3-torch libopenblas0-openmp fortunes):
    /usr/bin/python3 Benchmarks/sequence_torch.py gpt    [--steps 2000] [--batch 32] [--threads 1] [--lr 3e-3] [--seed 1]
    /usr/bin/python3 Benchmarks/sequence_torch.py lstm   [--steps 2000] [--batch 32] [--threads 1] [--lr 3e-3] [--seed 1]
    /usr/bin/python3 Benchmarks/sequence_torch.py adder  [--steps 600]  [--batch 64] [--threads 1] [--lr 3e-3] [--seed 1]
gpt and lstm end with `val_loss=… steps_per_second=… parameters=…`, adder with
`test_accuracy=… steps=… seconds=… parameters=…`. steps_per_second is 1 / the median time of the steps after the first
10 (warm-up); a step is: sample the batch, forward, loss, backward, clip, set the learning rate, AdamW update.

Corpus (gpt, lstm): the 43 files of /usr/share/games/fortunes whose names end neither in .dat nor in .u8, sorted by
name (ordinal), concatenated as bytes, decoded as UTF-8: 2,576,627 characters, 113 distinct. Vocabulary: the distinct
characters sorted by code point, token = index in that list. Training part: the first floor(0.9 N) = 2,318,964
characters; validation part: the remaining 257,663.
Training batch: `batch` windows of 65 consecutive characters (64 inputs, the same shifted by one as targets) whose start
is drawn uniformly from 0 .. len(train) - 65 by torch.randint with a torch.Generator seeded with `seed` (separate from
the initialisation's torch.manual_seed(seed)). Loss: mean cross-entropy over all batch x 64 targets.
Validation loss: mean cross-entropy per character (nats) over every window starting at a multiple of 64 in the
validation part, 65 long, the incomplete last one dropped (4,025 windows, 257,600 targets), eval mode, batches of 32,
each window on its own (the LSTM starts every window from a zero state).

Optimisation (all three): AdamW(betas (0.9, 0.95), eps 1e-8), weight decay 0.1 on the weight matrices of matrix
products only (nn.Linear weights; for the LSTM also its weight_ih/weight_hh), none on biases, LayerNorm parameters or
embeddings (so none on the GPT's output head, which is the token embedding). Learning rate at step s = 0 .. S-1:
peak * (s + 1) / 100 for s < 100 (linear warm-up), then
min + (peak - min) * 0.5 * (1 + cos(pi * (s - 100) / (S - 1 - 100))) with min = 0.1 * peak, so the last step uses
0.1 * peak (runs with S <= 101 only warm up). The rate is set before each step's update. Gradients clipped to a global
L2 norm of 1.0 (torch.nn.utils.clip_grad_norm_) before the update. No dropout anywhere.

gpt: vocab 113, width 128, context 64, 4 heads (head size 32), 4 pre-norm blocks, 816,000 parameters.
    x = tok_emb[idx] + pos_emb[0..T-1]                       (Embedding [113,128], learned position table [64,128])
    block: x = x + proj(attn(qkv(LN1(x))));  x = x + fc2(GELU_tanh(fc1(LN2(x))))
        qkv: Linear 128->384 with bias, split q | k | v (128 each, heads are consecutive 32-column slices),
        attn: softmax(q k^T / sqrt(32) with -inf above the diagonal) v, heads concatenated,
        proj: Linear 128->128 with bias; fc1: Linear 128->512 with bias; GELU approximate='tanh'; fc2: Linear 512->128
    logits = LN_f(x) @ tok_emb^T                             (head tied to the token embedding, no bias)
    LayerNorm eps 1e-5. Init: every Linear weight and both embeddings normal(0, 0.02), biases 0, LayerNorm weight 1
    bias 0. Peak lr 3e-3, batch 32, 2,000 steps.
lstm: Embedding 113->128, torch.nn.LSTM(128, 256, num_layers=2, batch_first=True), Linear 256->113 with bias,
    965,105 parameters. PyTorch's LSTM: gates i, f, g, o stacked in that order in weight_ih [1024, in], weight_hh
    [1024, 256] and two biases bias_ih, bias_hh [1024] (both added; 2,048 bias values per layer). Zero initial state for
    every sequence. Init: PyTorch's defaults for the LSTM, every weight and bias uniform(-1/16, 1/16) (1/sqrt(256); no
    forget-gate bias offset); embedding PyTorch's default normal(0, 1) (normal(0, 0.02) trains far worse: 2.10 against
    1.73 after 2,000 steps; --embedding-std 0.02 gives it); head weight normal(0, 0.02), bias 0 (as the GPT's Linears).
    Same data, optimiser, schedule, clipping, batch and steps as gpt.
adder: the 10,000 sums a + b, a, b in 0..99, written "AB+CD=EFG" (zero-padded: "07+45=052"); vocabulary
    "0123456789+=" (token = index). Split: torch.randperm(10000, generator=torch.Generator().manual_seed(seed)) of the
    sum numbers a * 100 + b, the first 8,000 train, the other 2,000 test (the C# side draws its own seeded 8,000/2,000
    split; the exact split need not match between the languages). Each step draws `batch` training sums uniformly
    with replacement (torch.randint with a Generator seeded seed + 1). Input: the first 8 characters, targets: characters
    2..9; only the three answer targets count (positions 5, 6, 7 of 8, predicting E, F, G; the others ignore_index -100),
    mean over those. Model: the gpt above with vocab 12, context 8, width 128, 4 heads, 2 blocks (399,360
    parameters), same init, optimiser (peak lr 3e-3), schedule and clipping; batch 64, 600 steps.
    Test accuracy: the fraction of the 2,000 test sums whose three answer characters, decoded greedily from "AB+CD="
    (argmax, each fed back), are all correct. Printed every 100 steps; `seconds` counts the training steps only.

Measured here (Intel Xeon with AVX-512, 2 vCPUs shared with builds, load average 9-20 during the runs, so the speeds
are far below an idle machine's; torch 1.13.0a0, one thread, seed 1):
    gpt   lr 3e-3: val_loss=1.7327 steps_per_second=0.96 (2,000 steps, 2,051 s)        (lr 1e-3 not run)
    lstm  lr 3e-3, embedding normal(0, 1): val_loss=1.7331 steps_per_second=2.08 (2,000 steps, 1,009 s)
          embedding normal(0, 0.02): val_loss=2.1015 steps_per_second=1.31 (2,000 steps, heavier load)
          at 400 steps: embedding normal(0, 0.02) val 2.7634, PyTorch's default normal(0, 1) val 2.1987
    adder lr 3e-3, batch 64: test_accuracy=0.9995 steps=600 seconds=79.7; 0.9950 at step 400 (0.0985, 0.6835, 0.8440
          at steps 100, 200, 300)
    Speed on the idle machine (load average 2 from the machine's other tenants, --steps 100, 2026-12-07): gpt 2.31
    steps/s (428 ms a step), lstm 2.07 steps/s. The 2,000-step losses above are the reference; these are the speeds.
"""
import argparse
import math
import os
import statistics
import sys
import time

FORTUNES = "/usr/share/games/fortunes"
WARMUP = 100
TIMING_WARMUP = 10


def parse():
    parser = argparse.ArgumentParser(description="PyTorch reference for the sequence samples")
    parser.add_argument("model", choices=["gpt", "lstm", "adder"])
    parser.add_argument("--steps", type=int, default=None, help="training steps (2000 for gpt/lstm, 600 for adder)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (32 for gpt/lstm, 64 for adder)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embedding-std", type=float, default=0.0,
                        help="lstm only: std of the embedding's normal init (0 = PyTorch's default, normal(0, 1))")
    parser.add_argument("--log", type=int, default=100, help="print the training loss every LOG steps")
    return parser.parse_args()


args = parse()
# Before torch loads OpenMP/OpenBLAS, so that no pool starts wider than --threads.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


# ---------------------------------------------------------------- models

class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)

    def attention(self, x):
        b, t, c = x.shape
        h, d = self.heads, c // self.heads
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, t, h, d).transpose(1, 2)  # [b, h, t, d]
        k = k.view(b, t, h, d).transpose(1, 2)
        v = v.view(b, t, h, d).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        y = scores.softmax(dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, c))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, width, heads, blocks, context):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, width)
        self.pos_emb = nn.Parameter(torch.zeros(context, width))
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(width)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.pos_emb, 0.0, 0.02)

    def forward(self, idx):
        x = self.tok_emb(idx) + self.pos_emb[: idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.tok_emb.weight.t()


class CharLstm(nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.emb = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)  # PyTorch's default init
        self.head = nn.Linear(hidden, vocab)
        if args.embedding_std > 0:
            nn.init.normal_(self.emb.weight, 0.0, args.embedding_std)
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, idx):
        y, _ = self.lstm(self.emb(idx))
        return self.head(y)


# ---------------------------------------------------------------- optimisation

def optimizer_for(model, lr):
    """AdamW with weight decay 0.1 on the weight matrices of matrix products only."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if isinstance(module, nn.Linear) and name == "weight":
                decay.append(p)
            elif isinstance(module, nn.LSTM) and name.startswith("weight_"):
                decay.append(p)
            else:
                no_decay.append(p)
    assert len(decay) + len(no_decay) == len(list(model.parameters()))
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def learning_rate(step, steps, peak):
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    floor = 0.1 * peak
    if steps - 1 <= WARMUP:
        return peak
    progress = (step - WARMUP) / (steps - 1 - WARMUP)
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def train(model, steps, peak, batch_fn, loss_fn, log_every, on_log=None):
    """Runs the steps; returns the list of step times in seconds."""
    optimizer = optimizer_for(model, peak)
    params = list(model.parameters())
    times = []
    model.train()
    for step in range(steps):
        start = time.perf_counter()
        inputs, targets = batch_fn()
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        lr = learning_rate(step, steps, peak)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        times.append(time.perf_counter() - start)
        if (step + 1) % log_every == 0 or step + 1 == steps:
            print(f"step {step + 1:5d}  loss {loss.item():.4f}  lr {lr:.2e}  step_ms {times[-1] * 1000:.1f}", flush=True)
            if on_log is not None:
                model.eval()
                on_log(step + 1)
                model.train()
    return times


def steps_per_second(times):
    timed = times[TIMING_WARMUP:]
    return 1.0 / statistics.median(timed) if timed else float("nan")


# ---------------------------------------------------------------- character models

def corpus():
    names = sorted(n for n in os.listdir(FORTUNES) if not (n.endswith(".dat") or n.endswith(".u8")))
    data = b"".join(open(os.path.join(FORTUNES, n), "rb").read() for n in names)
    return names, data.decode("utf-8")


def character_model(kind):
    steps = args.steps if args.steps is not None else 2000
    batch = args.batch if args.batch is not None else 32
    context = 64
    names, text = corpus()
    vocab = sorted(set(text))
    index = {ch: i for i, ch in enumerate(vocab)}
    tokens = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    split = math.floor(0.9 * len(tokens))
    train_tokens, val_tokens = tokens[:split], tokens[split:]
    print(f"corpus: {len(names)} files, {len(text)} characters, vocabulary {len(vocab)}, "
          f"train {len(train_tokens)}, validation {len(val_tokens)}")

    torch.manual_seed(args.seed)
    if kind == "gpt":
        model = Gpt(len(vocab), 128, 4, 4, context)
    else:
        model = CharLstm(len(vocab), 128, 256, 2)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"model: {kind}, parameters {parameters:,}")
    print(f"steps {steps}, batch {batch}, peak lr {args.lr:g}, seed {args.seed}")

    generator = torch.Generator().manual_seed(args.seed)
    offsets = torch.arange(context + 1)

    def batch_fn():
        starts = torch.randint(0, len(train_tokens) - context, (batch,), generator=generator)
        windows = train_tokens[starts.unsqueeze(1) + offsets]
        return windows[:, :-1], windows[:, 1:]

    def loss_fn(logits, targets):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    start = time.perf_counter()
    times = train(model, steps, args.lr, batch_fn, loss_fn, args.log)
    train_seconds = time.perf_counter() - start

    count = (len(val_tokens) - 1) // context
    windows = val_tokens[(torch.arange(count) * context).unsqueeze(1) + offsets]
    model.eval()
    total, targets_seen = 0.0, 0
    with torch.no_grad():
        for i in range(0, count, 32):
            w = windows[i:i + 32]
            logits = model(w[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1),
                                     reduction="sum").double().item()
            targets_seen += w[:, 1:].numel()
    val_loss = total / targets_seen
    print(f"validation: {count} windows, {targets_seen} targets; training took {train_seconds:.1f} s")
    print(f"val_loss={val_loss:.4f} steps_per_second={steps_per_second(times):.2f} parameters={parameters}")


# ---------------------------------------------------------------- adder

ADDER_VOCAB = "0123456789+="


def adder():
    steps = args.steps if args.steps is not None else 600
    batch = args.batch if args.batch is not None else 64
    strings = [f"{n // 100:02d}+{n % 100:02d}={n // 100 + n % 100:03d}" for n in range(10000)]
    data = torch.tensor([[ADDER_VOCAB.index(ch) for ch in s] for s in strings], dtype=torch.long)  # [10000, 9]
    permutation = torch.randperm(10000, generator=torch.Generator().manual_seed(args.seed))
    train_ids, test_ids = permutation[:8000], permutation[8000:]
    print(f"adder: {len(strings)} sums, e.g. {strings[745]}; train {len(train_ids)}, test {len(test_ids)}; "
          f"first test sums {[strings[i] for i in test_ids[:3].tolist()]}")

    torch.manual_seed(args.seed)
    model = Gpt(len(ADDER_VOCAB), 128, 4, 2, 8)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"model: adder gpt (2 blocks, width 128, 4 heads, context 8), parameters {parameters:,}")
    print(f"steps {steps}, batch {batch}, peak lr {args.lr:g}, seed {args.seed}")

    generator = torch.Generator().manual_seed(args.seed + 1)

    def batch_fn():
        rows = data[train_ids[torch.randint(0, len(train_ids), (batch,), generator=generator)]]
        targets = rows[:, 1:].clone()
        targets[:, :5] = -100
        return rows[:, :-1], targets

    def loss_fn(logits, targets):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)

    test_rows = data[test_ids]

    def accuracy():
        with torch.no_grad():
            sequence = test_rows[:, :6]
            for _ in range(3):
                next_token = model(sequence)[:, -1].argmax(dim=-1, keepdim=True)
                sequence = torch.cat([sequence, next_token], dim=1)
        return (sequence[:, 6:] == test_rows[:, 6:]).all(dim=1).double().mean().item()

    first = []

    def on_log(step):
        a = accuracy()
        print(f"          test_accuracy {a:.4f}", flush=True)
        if a >= 0.99 and not first:
            first.append(step)

    times = train(model, steps, args.lr, batch_fn, loss_fn, args.log, on_log)
    model.eval()
    final = accuracy()
    seconds = sum(times)
    reached = f"{first[0]} (checked every {args.log})" if first else "never"
    print(f"first step with test accuracy >= 0.99: {reached}; steps_per_second={steps_per_second(times):.2f}")
    print(f"test_accuracy={final:.4f} steps={steps} seconds={seconds:.1f} parameters={parameters}")


def main():
    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_model()}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, python {sys.version.split()[0]}")
    if args.model == "adder":
        adder()
    else:
        character_model(args.model)


if __name__ == "__main__":
    main()
