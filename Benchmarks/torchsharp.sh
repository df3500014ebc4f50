#!/usr/bin/env bash
# The libtorch baseline: the Fashion MLP trained by TorchSharp and by ModelGen in one process, interleaved
# (Benchmarks/TorchSharp). Usage: bash Benchmarks/torchsharp.sh [rounds] [gemm|cnn]; with gemm, the step's matrix
# products alone, libtorch's matmul against ModelGen's Gemm, one thread; with cnn, the sample's convolutional network.
#
# TorchSharp-cpu 0.107 (libtorch 2.10) needs GCC 13's libstdc++ (GLIBCXX_3.4.32), which needs glibc 2.38; Debian 12
# has GCC 12 and glibc 2.36. This script fetches Debian 13's libc6, libstdc++6 and libgcc-s1 with apt into a cache
# folder (the system's own libraries are not touched) and runs the benchmark on a copy of the dotnet host whose ELF
# interpreter is Debian 13's loader, so that the whole process uses those libraries. Needs root (apt) the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-51}"
cache="${MODELGEN_TORCHSHARP_CACHE:-$HOME/.cache/modelgen-torchsharp}"
root="$cache/root"

if [ ! -x "$cache/dotnet" ]; then
  command -v patchelf >/dev/null || apt-get install -y patchelf >/dev/null || { apt-get update >/dev/null && apt-get install -y patchelf >/dev/null; }
  system_sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$system_sources" ] || { echo "torchsharp.sh: no $system_sources to take Debian's source from" >&2; exit 1; }
  apt_dir="$cache/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources" "$root"
  : > "$apt_dir/empty.list"
  # Debian 13's suite from the same source the system already uses (its first deb822 stanza), nothing else.
  awk 'NF == 0 { exit } /^Suites:/ { print "Suites: trixie"; next } { print }' "$system_sources" \
    > "$apt_dir/sources/trixie.sources"
  apt_options=(-o "Dir::Etc::SourceList=$apt_dir/empty.list" -o "Dir::Etc::SourceParts=$apt_dir/sources"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  apt-get "${apt_options[@]}" update >/dev/null
  (cd "$apt_dir" && apt-get "${apt_options[@]}" download libc6 libstdc++6 libgcc-s1 2>/dev/null)
  for package in "$apt_dir"/*.deb; do dpkg-deb -x "$package" "$root"; done

  # The host finds the runtime next to itself: link the installation's folders beside the copy.
  installation="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  cp "$installation/dotnet" "$cache/dotnet"
  for folder in host shared sdk packs; do ln -sfn "$installation/$folder" "$cache/$folder"; done
  patchelf --set-interpreter "$root/usr/lib64/ld-linux-x86-64.so.2" "$cache/dotnet"
fi

dotnet build -c Release Benchmarks/TorchSharp -v quiet -nologo >/dev/null
# libtorch's OpenMP threads otherwise spin for a while after each operation and take the vCPU that ModelGen's
# helper thread needs in the rounds that follow.
env OMP_WAIT_POLICY=PASSIVE LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu" \
  "$cache/dotnet" Benchmarks/TorchSharp/bin/Release/net10.0/ModelGen.TorchSharpBaseline.dll "$rounds" "${@:2}"
