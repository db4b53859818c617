#!/usr/bin/env bash
# Replays fuzz/corpus/<target> through each fuzz target (built with PROP_FUZZ_ENGINE=replay), and
# model files of every member, vote and calibrator trained here with the CLI through fuzz_model
# (load, accessors, batch and single-row scoring, save and reload).  A broken promise aborts the
# target, and the sanitizers of the build watch the rest.
# usage: fuzz/replay_test.sh PROPENSITY_CLI BUILD_DIR
set -euo pipefail
cli=$1
bin=$2/fuzz
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Every corpus folder, whatever its name: a new corpus without its target fails here rather than
# being skipped, and so does a target without a corpus.  Each replay must run every file.
for dir in "$src"/fuzz/corpus/*/; do
  t=$(basename "$dir")
  if [ ! -x "$bin/fuzz_$t" ]; then
    echo "fuzz/corpus/$t: no fuzz_$t target built"
    exit 1
  fi
  echo "== fuzz_$t: fuzz/corpus/$t"
  want=$(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)
  out=$("$bin/fuzz_$t" "$dir")
  echo "$out"
  if [ "$(printf '%s\n' "$out" | tail -n 1)" != "replay: $want inputs ran" ]; then
    echo "fuzz_$t ran other than the $want files of fuzz/corpus/$t"
    exit 1
  fi
done
for target in "$bin"/fuzz_*; do
  t=${target##*/fuzz_}
  if [ ! -d "$src/fuzz/corpus/$t" ]; then
    echo "fuzz_$t has no corpus in fuzz/corpus/$t"
    exit 1
  fi
done

"$cli" gen --out-dir "$work/demo" --customers 100 --months 2 --seed 3 >/dev/null
mkdir "$work/models"
for vote in "soft isotonic" "logit platt" "hard none"; do
  set -- $vote
  cat >"$work/r.json" <<JSON
{"name": "fuzz-seed", "seed": 3, "cv_folds": 3,
 "members": [{"name": "xgboost", "params": {"eta": 0.3, "max_depth": 2, "rounds": 4}},
             {"name": "random_forest", "params": {"n_estimators": 9, "min_samples_leaf": 20}},
             {"name": "svc", "params": {"max_train_rows": 60}},
             {"name": "decision_tree", "params": {"max_depth": 3, "min_samples_leaf": 20}},
             {"name": "knn", "params": {"k": 5}},
             {"name": "logistic", "params": {"C": 1.0}}],
 "ensemble": {"voting": "$1", "weights": "equal", "selection": "all"},
 "calibration": "$2"}
JSON
  "$cli" train --data "$work/demo/history.csv" --target accepted --id customer_id \
    --ignore month,connected,installment_amount --recipe "$work/r.json" --out "$work/models/$1_$2.prop" 2>/dev/null
done
echo "== fuzz_model: models trained here"
"$bin/fuzz_model" "$work/models"
