#!/usr/bin/env bash
# The Python bindings' unittest suite (bindings/python/tests) against this build's shared library
# and CLI, with Debian's /usr/bin/python3 (numpy, pandas, scikit-learn, dask from Debian packages).
# Usage (ctest): bash tests/python_test.sh CLI_PATH BUILD_DIR.  Ends with "N passed, N failed".
# (scripts/test.sh leaves it out of the sanitizer run: an uninstrumented interpreter cannot load
# an ASan library.)
set -uo pipefail
cli=$1
build_dir=$2
src_dir=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
lib=$build_dir/libpropensity.so
if [ ! -x "$py" ] || ! "$py" -c 'import numpy, pandas, sklearn, dask, distributed' 2>/dev/null; then
  echo "FAIL - $py with numpy, pandas, sklearn, dask and distributed is required (scripts/deps.sh installs them)"
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -e "$lib" ]; then
  echo "FAIL - $lib not built"
  echo "0 passed, 1 failed"
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-pytest.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$src_dir/bindings/python"
TMPDIR=$work PYTHONDONTWRITEBYTECODE=1 PROPENSITY_LIBRARY=$lib PROPENSITY_CLI=$cli OMP_NUM_THREADS=2 \
  "$py" tests/run_tests.py -v 2>&1
