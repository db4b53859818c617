#!/usr/bin/env bash
# The test suite: install, build with -Werror, run every test (cmocka suites, CLI end-to-end,
# exported symbols, Python bindings), again in a clang build, then under AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh "$@"
jobs=$(nproc)
echo "== release build (-Wall -Wextra -Werror) =="
scripts/build.sh build/release
(cd build/release && ctest --output-on-failure -j"$jobs")
echo "== clang build (-Werror; clang warns differently, and fused multiply-adds once broke the same-bits checks) =="
CC=clang scripts/build.sh build/clang -DPROP_BUILD_BENCH=OFF
(cd build/clang && ctest --output-on-failure -j"$jobs")
echo "== ASan + UBSan build =="
scripts/build.sh build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROP_SANITIZE=ON -DPROP_BUILD_BENCH=OFF
# LeakSanitizer stays on; the suppressions file names the leaks that are libgomp's and XGBoost's
# own one-time allocations, never ours.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The shared-library checks (exported symbols, install + consumer build, Python via ctypes) run
# on the release build only: an ASan-built library cannot be loaded by uninstrumented programs.
(cd build/asan && ctest --output-on-failure -j"$jobs" -E '^(exports|install|python|python_install|sklearn_crosscheck)_test$')
echo "== all tests passed =="
