#!/usr/bin/env bash
# Cross-check of every ensemble member against scikit-learn / xgboost (Debian's python3-sklearn and
# python3-xgboost, run with /usr/bin/python3) on the real credit data sets in bench/data/:
# credit_data, lending_club and german_credit, each split 70/30 stratified with seed 0 (as
# bench/peer/peer.py does), the default recipe with equivalent hyperparameters on both sides and the
# SVC's row cap lifted on both sides (--svc-max-rows 0: both solve the same dual instead of fitting
# different 3000-row subsamples). Fails when any member's test AUC differs from scikit-learn's by
# more than 0.01. Skips (exit 77) when /usr/bin/python3 cannot import scikit-learn or xgboost.
# Randomised members (xgboost, random_forest) are compared by their mean AUC over 5 seeds (--seeds 5).
# Two to four minutes on 2 cores. The same check by hand: bench/peer/README.md, "Member cross-check".
# PROP_CROSSCHECK_TOL overrides the tolerance (e.g. 0.00001 to see the test fail).
# Usage: bash sklearn_crosscheck_test.sh CLI_PATH BUILD_DIR
set -uo pipefail
cli=$1
src_dir=$(cd "$(dirname "$0")/.." && pwd)
py=${PROP_CROSSCHECK_PYTHON:-/usr/bin/python3}  # overridable only to try the skip
tol=${PROP_CROSSCHECK_TOL:-0.01}
if [ ! -x "$py" ] || ! "$py" -c 'import numpy, pandas, sklearn, xgboost, threadpoolctl' >/dev/null 2>&1; then
  echo "SKIP - $py cannot import numpy, pandas, sklearn, xgboost and threadpoolctl"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-crosscheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
"$py" "$src_dir/bench/peer/peer.py" --cli "$cli" --members-only --svc-max-rows 0 --seeds 5 --check "$tol" \
  --datasets credit_data,lending_club,german_credit --threads 2 --work "$work/w" --out "$work/crosscheck.json" \
  2>"$work/err.txt"
rc=$?
echo "($(( $(date +%s) - start )) s)"
if [ "$rc" != 0 ]; then
  echo "FAIL - member AUC cross-check against scikit-learn (exit $rc, tolerance $tol)"
  tail -c 3000 "$work/err.txt"
  exit 1
fi
echo "ok   - every member's AUC within +-$tol of scikit-learn's on credit_data, lending_club, german_credit"
