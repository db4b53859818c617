#!/usr/bin/env bash
# The shape of lib/ (scripts/check_structure.py): every `#include "folder/..."` is one lib/README.md's
# "may include" column allows, and no function is longer than 150 lines.
# usage: tests/structure_test.sh [PROPENSITY_CLI BUILD_DIR] (both unused)
set -uo pipefail
src_dir=$(cd "$(dirname "$0")/.." && pwd)
if /usr/bin/python3 "$src_dir/scripts/check_structure.py" "$src_dir"; then
  echo "1 passed, 0 failed"
else
  echo "0 passed, 1 failed"
  exit 1
fi
