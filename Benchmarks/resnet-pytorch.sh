#!/usr/bin/env bash
# The Fashion sample's ResNet, one training step at batch 64, ModelGen against PyTorch (Debian's python3-torch 1.13 with
# OpenBLAS), side by side: ROUNDS rounds (default 5), each timing STEPS steps (default 40) of one and then the other, in
# alternating order, on two threads. Prints every round, the medians and the median of the rounds' ratios.
# Usage: bash Benchmarks/resnet-pytorch.sh [ROUNDS] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
steps="${2:-40}"
python=/usr/bin/python3
"$python" -c 'import torch' 2> /dev/null || { echo "needs python3-torch (apt-get install -y python3-torch libopenblas0-openmp)"; exit 1; }
dotnet build Benchmarks -c Release > /dev/null
grep -m1 "model name" /proc/cpuinfo | sed 's/^model name\s*: /CPU: /'
modelgen() { dotnet Benchmarks/bin/Release/net10.0/ModelGen.Benchmarks.dll resnet "$steps"; }
pytorch() { OMP_NUM_THREADS=2 "$python" Benchmarks/resnet_torch.py "$steps" 2; }
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then first="$(modelgen)"; second="$(pytorch)"; else first="$(pytorch)"; second="$(modelgen)"; fi
    echo "round $round: $first | $second"
    m="$(echo "$first $second" | grep -o 'modelgen step_ms=[0-9.]*' | cut -d= -f2)"
    p="$(echo "$first $second" | grep -o 'pytorch step_ms=[0-9.]*' | cut -d= -f2)"
    echo "$m $p" >> "$results"
done
sort -n -k1 "$results" | awk '{ m[NR] = $1 } END { print "ModelGen median step: " m[int((NR + 1) / 2)] " ms (" int(64000 / m[int((NR + 1) / 2)]) " samples/s)" }'
sort -n -k2 "$results" | awk '{ p[NR] = $2 } END { print "PyTorch  median step: " p[int((NR + 1) / 2)] " ms (" int(64000 / p[int((NR + 1) / 2)]) " samples/s)" }'
awk '{ print $2 / $1 }' "$results" | sort -n | awk '{ r[NR] = $1 } END { print "ModelGen / PyTorch throughput, median of the rounds: " r[int((NR + 1) / 2)] "x" }'
