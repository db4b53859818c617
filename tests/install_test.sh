#!/usr/bin/env bash
# cmake --install gives a header, libraries, a pkg-config file and a CMake package: build the
# examples against the installed copy both ways, and run them on a small model.
set -euo pipefail
cli=$1; bin_dir=$2
src_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$bin_dir" --prefix "$work/prefix" >/dev/null
for f in include/propensity.h lib/pkgconfig/propensity.pc lib/cmake/propensity/propensityConfig.cmake; do
  [ -e "$work/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
ls "$work/prefix/lib"/libpropensity.so.0* >/dev/null || { echo "FAIL: SOVERSION link missing"; exit 1; }
ls "$work/prefix/lib"/libpropensity.a >/dev/null || { echo "FAIL: static library missing"; exit 1; }
cmake -S "$src_dir/examples" -B "$work/ex" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/ex" >/dev/null
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" cc -std=c11 "$src_dir/examples/realtime.c" -o "$work/realtime_pc" \
  $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs propensity) -lm
"$cli" gen --out-dir "$work/demo" --customers 300 --months 3 >/dev/null 2>&1
"$cli" train --data "$work/demo/history.csv" --target accepted --id customer_id --ignore installment_amount \
  --connected connected --time-col month --recipe "$src_dir/tests/recipes/small.json" --out "$work/m.bin" 2>/dev/null
export LD_LIBRARY_PATH="$work/prefix/lib"
out=$("$work/ex/realtime" "$work/m.bin" age=35 gender=F income=4000 card_type=platinum past_installments=3)
echo "$out" | grep -q '^probability' || { echo "FAIL: realtime (cmake): $out"; exit 1; }
out2=$("$work/realtime_pc" "$work/m.bin" age=35 gender=F income=4000 card_type=platinum past_installments=3)
[ "$out" = "$out2" ] || { echo "FAIL: pkg-config build differs"; exit 1; }
"$work/ex/nightly" "$work/m.bin" "$work/demo/calllist.csv" | grep -q 'customers read' || { echo "FAIL: nightly"; exit 1; }
echo "install: header, shared+static libraries, pkg-config and find_package(propensity) all work"
echo "1 passed, 0 failed"
