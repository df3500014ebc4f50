#!/usr/bin/env bash
# Whole-process time to the first prediction and peak memory of Samples/AotInference (or SAMPLE, e.g. AotInferenceInt8,
# which has the same --first mode): the NativeAOT binary (AVX2 and AVX-512 builds) next to the same program under the
# JIT. Medians of N runs (default 25) after 3 warm-ups, each timed from before fork to after exit (so /usr/bin/time's
# own start, about 1 ms, is included).
# Usage: bash Benchmarks/aot-startup.sh [N] [SAMPLE]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-25}"
sample="${2:-AotInference}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

dotnet build "Samples/$sample" -c Release > /dev/null
dotnet publish "Samples/$sample" -c Release -o "$out/v3" > /dev/null
dotnet publish "Samples/$sample" -c Release -o "$out/v4" -p:IlcInstructionSet=x86-64-v4 > /dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

measure() {
    local name="$1"; shift
    : > "$out/walls"; : > "$out/rss"
    for i in $(seq 1 $((runs + 3))); do
        # Wall time from the shell's nanosecond clock (/usr/bin/time's is in 10 ms steps); peak RSS from /usr/bin/time.
        local start end
        start=$(date +%s%N)
        /usr/bin/time -f "%M" -o "$out/t" "$@" > /dev/null
        end=$(date +%s%N)
        if [ "$i" -gt 3 ]; then
            echo "$(( (end - start) / 1000 ))" | awk '{ print $1 / 1000 }' >> "$out/walls"
            awk '{ print $1 / 1024 }' "$out/t" >> "$out/rss"
        fi
    done
    printf "%-30s %9s bytes  first prediction: median %s ms (min %s, max %s)  peak RSS median %s MiB\n" "$name" "$size" \
        "$(median < "$out/walls")" "$(sort -n "$out/walls" | head -1)" "$(sort -n "$out/walls" | tail -1)" "$(median < "$out/rss")"
}

size="$(stat -c %s "$out/v3/$sample")"; measure "NativeAOT x86-64-v3 (AVX2)" "$out/v3/$sample" --first
size="$(stat -c %s "$out/v4/$sample")"; measure "NativeAOT x86-64-v4 (AVX-512)" "$out/v4/$sample" --first
size="-"; measure "JIT (dotnet $sample.dll)" dotnet "Samples/$sample/bin/Release/net10.0/$sample.dll" --first
for build in v3 v4; do
    echo "$build: $("$out/$build/$sample" | grep 'predicted in')"
done
echo "jit: $(dotnet "Samples/$sample/bin/Release/net10.0/$sample.dll" | grep 'predicted in')"
