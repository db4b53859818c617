#!/usr/bin/env bash
# The test suite: install, build with -Werror, run every test (cmocka suites, CLI end-to-end,
# exported symbols, Python bindings), again in a clang build, then under AddressSanitizer + UBSan,
# and the threaded tests under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh "$@"
jobs=$(nproc)
echo "== release build (-Wall -Wextra -Werror) =="
scripts/build.sh build/release
(cd build/release && ctest --output-on-failure -j"$jobs")
echo "== clang build (-Werror; clang warns differently, and fused multiply-adds once broke the same-bits checks) =="
CC=clang scripts/build.sh build/clang -DPROP_BUILD_BENCH=OFF
# The scikit-learn cross-check runs in the release stage only: it checks the members' AUC against
# another implementation, which a second compiler does not change beyond its tolerance, and it is
# the suite's longest test (minutes), whose time the ThreadSanitizer stage below uses instead.
(cd build/clang && ctest --output-on-failure -j"$jobs" -E '^sklearn_crosscheck_test$')
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
echo "== ThreadSanitizer build (clang): the threaded tests =="
# test_concurrency (16 threads share one model through every scoring path, bit for bit against a
# serial run) and the suites whose code runs OpenMP regions of its own (forest, knn, contact fit,
# plan); only they and the library are built.  OpenMP is clang's libomp, whose fork, join and
# barriers TSan understands (a deliberate race in a parallel region is reported, a correct region
# is not); ignore_noninstrumented_modules keeps TSan out of what libomp, XGBoost and the C++
# runtime do in their own uninstrumented code (libomp's allocations freed by another thread would
# otherwise read as races).  Under a minute (2 cores), the build included.
tsan_tests="test_concurrency test_forest test_knn test_contact test_plan"
BUILD_TARGET="$tsan_tests" CC=clang scripts/build.sh build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPROP_SANITIZE_THREAD=ON -DPROP_BUILD_BENCH=OFF -DPROP_BUILD_FUZZ=OFF
(cd build/tsan && TSAN_OPTIONS=ignore_noninstrumented_modules=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs" -R "^($(echo $tsan_tests | tr ' ' '|'))\$")
echo "== all tests passed =="
