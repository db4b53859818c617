#!/usr/bin/env bash
# Every dynamic symbol libpropensity exports is declared in include/propensity.h, and every
# function declared there is exported (jansson keeps the same check).
set -euo pipefail
bin_dir=$2
src_dir=$(cd "$(dirname "$0")/.." && pwd)
lib=$(ls "$bin_dir"/libpropensity.so.* 2>/dev/null | head -n 1)
[ -n "$lib" ] || { echo "FAIL: libpropensity.so not built in $bin_dir"; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort -u)
declared=$(grep -E '^PROP_API ' "$src_dir/include/propensity.h" | grep -oE '[a-z_0-9]+\(' | head -n 10000 | \
  awk '{sub(/\($/, ""); print}' | grep '^prop_' | sort -u)
bad=0
for s in $exported; do
  if ! grep -qx "$s" <<<"$declared"; then echo "FAIL: exported but not in the header: $s"; bad=1; fi
done
for s in $declared; do
  if ! grep -qx "$s" <<<"$exported"; then echo "FAIL: declared but not exported: $s"; bad=1; fi
done
n=$(wc -l <<<"$exported")
[ "$bad" = 0 ] && echo "exports: $n symbols, all prop_ and all declared" && echo "1 passed, 0 failed"
exit $bad
