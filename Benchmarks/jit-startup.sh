#!/usr/bin/env bash
# The founding example (Samples/LinearRegression: 4,000 SGD steps of a one-weight model) timed inside the process, as
# the JIT runs it, with ReadyToRun code for every assembly (the runtime's included), and as a NativeAOT binary: the
# training's wall time and how much of it the JIT spent compiling (System.Runtime.JitInfo). Rounds alternate the three
# builds; medians of N rounds (default 15).
# Usage: bash Benchmarks/jit-startup.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

dotnet build Samples/LinearRegression -c Release > /dev/null
dotnet publish Samples/LinearRegression -c Release -r linux-x64 --self-contained false -p:PublishAot=false -p:PublishReadyToRun=true -o "$out/r2r" > /dev/null
dotnet publish Samples/LinearRegression -c Release -o "$out/aot" > /dev/null

for build in jit r2r aot; do : > "$out/$build.fit"; : > "$out/$build.jit"; done
for round in $(seq 1 "$runs"); do
    for build in jit r2r aot; do
        case "$build" in
            jit) line="$(dotnet Samples/LinearRegression/bin/Release/net10.0/LinearRegression.dll --time | grep '^fit_ms=')" ;;
            r2r) line="$("$out/r2r/LinearRegression" --time | grep '^fit_ms=')" ;;
            aot) line="$("$out/aot/LinearRegression" --time | grep '^fit_ms=')" ;;
        esac
        echo "$line" | sed -E 's/.*fit_ms=([0-9.]+).*/\1/' >> "$out/$build.fit"
        echo "$line" | sed -E 's/.*jit_ms=([0-9.]+) jit_methods=([0-9]+).*/\1 \2/' >> "$out/$build.jit"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg); medians of $runs interleaved rounds"
aot="$(median < "$out/aot.fit")"
for build in jit r2r aot; do
    fit="$(median < "$out/$build.fit")"
    printf "%-4s training %8s ms (%s× NativeAOT)  compiling %8s ms  methods compiled %s\n" "$build" "$fit" \
        "$(awk -v a="$fit" -v b="$aot" 'BEGIN { printf "%.1f", a / b }')" "$(cut -d' ' -f1 "$out/$build.jit" | median)" "$(cut -d' ' -f2 "$out/$build.jit" | median)"
done
