#!/usr/bin/env bash
# Configure and build one tree: scripts/build.sh DIR [cmake options...]
# Prints compiler diagnostics only (the full log is DIR/build.log).  BUILD_TARGET="a b" builds those
# targets (and what they need) only.
set -euo pipefail
dir=$1; shift
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
start=$(date +%s)
if ! cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPROP_WERROR=ON "$@" >"$dir/configure.log" 2>&1; then
  cat "$dir/configure.log"; exit 1
fi
if ! cmake --build "$dir" -j"$(nproc)" ${BUILD_TARGET:+--target $BUILD_TARGET} >"$dir/build.log" 2>&1; then
  grep -E 'error|warning|Error' "$dir/build.log" | head -n 60; exit 1
fi
echo "built $dir in $(( $(date +%s) - start )) s"
