#!/usr/bin/env bash
# The Python package installed as a user installs it, then imported from another folder without
# PROPENSITY_LIBRARY: `cmake --install` into a temporary prefix, the bindings README's pip command
# into a fresh --system-site-packages venv (offline), and the library found through each of the
# places the package searches for an installed copy (bindings/python/README.md, "Finding the
# library"): pkg-config, ctypes.util.find_library, the package's own prefix.  What it loaded must
# score a model like the CLI, bit for bit.  (The system install with ldconfig is the fresh-machine
# check's: this test leaves the system alone.)
# Usage (ctest): bash tests/python_install_test.sh CLI_PATH BUILD_DIR.  Release build only (an ASan
# library cannot be loaded by an uninstrumented interpreter).
set -uo pipefail
cli=$1; bin_dir=$2
src_dir=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-pyinstall.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$src_dir/tests/harness.sh"
if ! "$py" -c 'import numpy, pandas, venv, wheel' 2>/dev/null; then
  no "$py with numpy, pandas, venv and wheel is required (scripts/deps.sh installs them)"; finish; exit 1
fi

prefix=$work/prefix
cmake --install "$bin_dir" --prefix "$prefix" >/dev/null && ok "cmake --install into $prefix" || no "cmake --install"
# pip builds in the source folder: install from a copy, so the checkout stays clean
cp -r "$src_dir/bindings/python" "$work/pkg"
expect_code "venv --system-site-packages" 0 "$py" -m venv --system-site-packages "$work/venv"
expect_code "pip install (the README's command, offline)" 0 "$work/venv/bin/python" -m pip install \
  --no-build-isolation --no-index "$work/pkg"
ls "$work/venv/lib/"python3*/site-packages/propensity/_lib.py >/dev/null 2>&1 && ok "package in the venv" ||
  no "package in the venv: $(tail -c 600 "$work/err.txt")"

# a model and the CLI's scores of a call list, to check what the installed package loads
"$cli" gen --out-dir "$work/demo" --customers 300 --months 3 --seed 2 >/dev/null 2>&1
"$cli" train --data "$work/demo/history.csv" --target accepted --id customer_id --ignore installment_amount \
  --connected connected --time-col month --recipe "$src_dir/tests/recipes/small.json" --out "$work/m.bin" 2>/dev/null
"$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/ranked.csv" --order input 2>/dev/null
mkdir -p "$work/elsewhere"
cat >"$work/use.py" <<'PY'
import os, sys
import pandas as pd
import propensity
want_lib, model, calls, ranked = sys.argv[1:5]
got = os.path.realpath(propensity.library_path())
if got != os.path.realpath(want_lib): sys.exit(f"loaded {got}, wanted {os.path.realpath(want_lib)}")
if "bindings/python" in propensity.__file__: sys.exit(f"imported the checkout's package {propensity.__file__}")
m = propensity.Model.load(model)
df = pd.read_csv(calls, float_precision="round_trip", keep_default_na=False, na_values=["NA", ""],
                 dtype={"customer_id": str})
p = m.predict_proba(df, ignore_extra=True)
cli = pd.read_csv(ranked, float_precision="round_trip")["probability"].to_numpy()
if len(p) != len(cli) or any(a.hex() != b.hex() for a, b in zip(p, cli)): sys.exit("scores differ from the CLI's")
print(f"{got}: {len(p)} rows scored as the CLI scores them")
PY
clean_env=(env -u PROPENSITY_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH)
use() { # name python extra-env...: run use.py from another folder
  local name=$1 python=$2; shift 2
  (cd "$work/elsewhere" && "${clean_env[@]}" "$@" "$python" "$work/use.py" "$prefix/lib/libpropensity.so" \
    "$work/m.bin" "$work/demo/calllist.csv" "$work/ranked.csv") >"$work/out.txt" 2>&1 &&
    ok "$name: $(tail -n 1 "$work/out.txt")" || no "$name: $(tail -c 800 "$work/out.txt")"
}
use "venv, found through pkg-config (PKG_CONFIG_PATH names the prefix)" "$work/venv/bin/python" \
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
use "venv, found through ctypes.util.find_library (LD_LIBRARY_PATH)" "$work/venv/bin/python" \
  LD_LIBRARY_PATH="$prefix/lib"
# with no hint and nothing installed on the system, the error lists where it looked
if "$py" -c 'import ctypes.util, glob, sys; sys.exit(bool(ctypes.util.find_library("propensity") or
    glob.glob("/usr/local/lib/libpropensity.so*") or glob.glob("/usr/lib/*/libpropensity.so*")))'; then
  (cd "$work/elsewhere" && "${clean_env[@]}" "$work/venv/bin/python" -c '
import propensity
try:
    propensity.version()
except propensity.PropensityError as e:
    print(e.status); print(e.message)
') >"$work/none.txt" 2>&1
  has "no library: PROP_ERR_IO" "$work/none.txt" "^PROP_ERR_IO"
  has "no library: pkg-config named" "$work/none.txt" "pkg-config --variable=libdir propensity (propensity.pc not found"
  has "no library: find_library named" "$work/none.txt" "ctypes.util.find_library('propensity') (nothing found)"
  has "no library: CMake's default prefix named" "$work/none.txt" "CMake's default prefix: /usr/local/lib/libpropensity.so (not found)"
  has "no library: the way out named" "$work/none.txt" "cmake --install build/release, then ldconfig"
  grep -q "build tree\|/lib/build/" "$work/none.txt" && no "an installed copy guesses a build tree" ||
    ok "an installed copy guesses no build tree"
else
  echo "skipped: a libpropensity is installed on this system, so the no-library message is not checked"
fi
# the package installed into the library's own prefix finds it there, with no hint at all (pip moves
# the package out of the venv: last)
expect_code "pip install --prefix (the library's prefix)" 0 "$work/venv/bin/python" -m pip install \
  --no-build-isolation --no-index --prefix "$prefix" "$work/pkg"
site=$(ls -d "$prefix"/lib/python3*/site-packages 2>/dev/null | head -n 1)
[ -n "$site" ] && ok "package under $prefix/lib" || no "package under $prefix/lib: $(ls -R "$prefix/lib" | head)"
use "package in the library's prefix, no hint" "$py" PYTHONPATH="$site"

finish
