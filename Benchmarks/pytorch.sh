#!/usr/bin/env bash
# ModelGen beside PyTorch (Debian's python3-torch 1.13 with OpenBLAS) on one thread, side by side: the MLP and the CNN
# trained with Adam at batch 64, the MLP's inference at batch 1 and 256, and the Keras-style linear regression's 4,000
# steps (ModelGen: the LinearRegression sample in a fresh process, under the JIT). ROUNDS rounds (default 5), each running
# both sides in alternating order; prints every round's lines, then each figure's median and ModelGen's ratio.
# Usage: bash Benchmarks/pytorch.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
python=/usr/bin/python3
"$python" -c 'import torch' 2> /dev/null || { echo "needs python3-torch (apt-get install -y python3-torch libopenblas0-openmp)"; exit 1; }
dotnet build Benchmarks -c Release > /dev/null
dotnet build Samples/LinearRegression -c Release > /dev/null
modelgen() {
    MODELGEN_THREADS=1 dotnet Benchmarks/bin/Release/net10.0/ModelGen.Benchmarks.dll torch-side 3
    echo "modelgen linreg $(MODELGEN_THREADS=1 dotnet Samples/LinearRegression/bin/Release/net10.0/LinearRegression.dll --time | grep -o 'fit_ms=[0-9.]*' | sed 's/fit_ms/total_ms/')"
}
pytorch() { "$python" Benchmarks/fashion_torch.py all --rounds 3 --threads 1 | sed 's/^/pytorch /'; }
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then { modelgen; pytorch; } | tee -a "$results"; else { pytorch; modelgen; } | tee -a "$results"; fi
done
# median SIDE WORKLOAD KEY: the median over the rounds of one figure.
median() { grep "^$1 $2 " "$results" | grep -o " $3=[0-9.]*" | cut -d= -f2 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "| workload, one thread | ModelGen | PyTorch | ModelGen's advantage |"
echo "|---|--:|--:|--:|"
row() {
    local m p
    m="$(median modelgen "$2" "$3")"; p="$(median pytorch "$2" "$3")"
    awk -v name="$1" -v m="$m" -v p="$p" -v higher="$4" 'BEGIN { printf "| %s | %s | %s | %.2fx |\n", name, m, p, higher ? m / p : p / m }'
}
row "MLP 784-256-128-10 training, Adam, batch 64 (samples/s)" mlp-train samples_per_s 1
row "CNN (conv 32, conv 64, dense 128) training, Adam, batch 64 (samples/s)" cnn-train samples_per_s 1
row "MLP inference, batch 1 (µs)" mlp-predict batch1_us 0
row "MLP inference, batch 256 (samples/s)" mlp-predict batch256_samples_per_s 1
row "linear regression, 4,000 steps of batch 32 (ms; ModelGen under the JIT, in a fresh process)" linreg total_ms 0
echo "ModelGen's share of the FMA peak (medians): MLP $(median modelgen mlp-train of_peak)%, CNN $(median modelgen cnn-train of_peak)%"
