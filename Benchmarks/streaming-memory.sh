#!/usr/bin/env bash
# The memory floor of streamed training, not run in CI (it writes and reads 4.4 GB): a record file of SAMPLES random
# samples of 784 floats and a label (default 1,400,000: 4.4 GB) is written to DIR (default $TMPDIR or /tmp), then one
# shuffled epoch of Fit over it runs under /usr/bin/time -v, which reports the process's peak resident set. The file
# is deleted on every way out. Fails when the peak reaches 1 GiB.
#
#   bash Benchmarks/streaming-memory.sh [SAMPLES] [DIR] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."

samples="${1:-1400000}"
directory="${2:-${TMPDIR:-/tmp}}"
threads="${3:-1}"
file="$(mktemp "$directory/modelgen-stream-XXXXXX.mgrec")"
report="$(mktemp)"
trap 'rm -f "$file" "$report"' EXIT

dotnet build Benchmarks -c Release -v quiet --nologo
bench=Benchmarks/bin/Release/net10.0/ModelGen.Benchmarks.dll

dotnet "$bench" stream-memory write "$file" "$samples"
/usr/bin/time -v -o "$report" dotnet "$bench" stream-memory fit "$file" "$threads"

peak_kb="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$report")"
echo "peak resident set of the training process (/usr/bin/time -v): $((peak_kb / 1024)) MiB for a $(( $(stat -c %s "$file") / 1000000 )) MB file"
if (( peak_kb >= 1024 * 1024 )); then
    echo "over the 1 GiB floor"
    exit 1
fi
