#!/usr/bin/env bash
# Same bytes before and after a change that should not change results (a refactoring):
#
#   scripts/identity_check.sh BASE_REV [WORK_DIR]
#
# builds BASE_REV (a commit, e.g. the one before the refactoring) in a git worktree and the working
# tree as it is, runs the same jobs with both command-line programs, and compares what they wrote:
#   - model files section by section (scripts/model_sections.py: every section byte for byte, the
#     metadata JSON without its wall-clock fields: creation time and fit seconds);
#   - ranked call lists byte for byte.
# Jobs: the demo (default recipe, monthly history; scored by probability, by value with capacity and
# band quotas, in input order, with unseen categories bucketed), the three real data sets in bench/data
# (default recipe), and the demo under recipes that cover each vote and calibrator (soft + Platt,
# hard + none, soft with fitted log-loss weights and no calibrator, fixed weights + isotonic).
# Exit 0 when every output agrees.  Takes about 10 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: identity_check.sh BASE_REV [WORK_DIR]}
work=${2:-$root/build/identity}
rm -rf "$work"
mkdir -p "$work"
git -C "$root" worktree remove --force "$work/base-src" 2>/dev/null || true
git -C "$root" worktree add --detach "$work/base-src" "$base" >/dev/null
trap 'git -C "$root" worktree remove --force "$work/base-src" 2>/dev/null || true' EXIT
# build.sh builds the tree it lives in: build the base from its own copy of the script
"$work/base-src/scripts/build.sh" "$work/base-build" -DPROP_BUILD_TESTS=OFF -DPROP_BUILD_BENCH=OFF \
  -DPROP_BUILD_FUZZ=OFF >/dev/null
"$root/scripts/build.sh" "$work/head-build" -DPROP_BUILD_TESTS=OFF -DPROP_BUILD_BENCH=OFF -DPROP_BUILD_FUZZ=OFF >/dev/null

recipe() { # name voting weights calibration
  cat >"$work/$1.json" <<JSON
{"name": "$1", "seed": 7, "cv_folds": 3,
 "members": [{"name": "logistic"}, {"name": "decision_tree", "params": {"max_depth": 5}, "weight": 2},
             {"name": "knn", "params": {"k": 25}, "weight": 1}, {"name": "xgboost", "params": {"rounds": 40}, "weight": 3}],
 "ensemble": {"voting": "$2", "weights": "$3", "selection": "all"}, "calibration": "$4"}
JSON
}
recipe soft_platt soft fit platt
recipe hard_none hard equal none
recipe soft_logloss soft fit none
recipe fixed_isotonic soft fixed isotonic

run_jobs() { # cli out_dir
  local cli=$1 out=$2
  mkdir -p "$out"
  (
    cd "$out"
    "$cli" gen --out-dir demo >/dev/null
    "$cli" train --data demo/history.csv --target accepted --id customer_id --ignore installment_amount \
      --connected connected --time-col month --out demo.model 2>/dev/null
    "$cli" score --model demo.model --data demo/calllist.csv --out demo_ranked.csv 2>/dev/null
    "$cli" score --model demo.model --data demo/latest.csv --rank-by value --value-col installment_amount \
      --capacity 500 --band-quota 10,20,30,40,50,60,70 --out demo_value.csv 2>/dev/null
    "$cli" score --model demo.model --data demo/calllist.csv --order input --unseen bucket \
      --out demo_input.csv 2>/dev/null
    for r in soft_platt hard_none soft_logloss fixed_isotonic; do
      "$cli" train --data demo/history.csv --target accepted --id customer_id --ignore installment_amount \
        --connected connected --time-col month --recipe "$work/$r.json" --out "$r.model" 2>/dev/null
      "$cli" score --model "$r.model" --data demo/calllist.csv --out "${r}_ranked.csv" 2>/dev/null
    done
    for ds in credit_data:Status:bad lending_club:Class:bad german_credit:Class:Bad; do
      IFS=: read -r name target pos <<<"$ds"
      "$cli" train --data "$root/bench/data/$name.csv" --target "$target" --positive "$pos" --out "$name.model" 2>/dev/null
      "$cli" score --model "$name.model" --data "$root/bench/data/$name.csv" --out "${name}_ranked.csv" 2>/dev/null
    done
  )
}
echo "running the jobs with $base ..."
run_jobs "$work/base-build/bin/propensity" "$work/base"
echo "running the jobs with the working tree ..."
run_jobs "$work/head-build/bin/propensity" "$work/head"

fail=0
for f in "$work/base"/*.model; do
  n=$(basename "$f")
  if /usr/bin/python3 "$root/scripts/model_sections.py" "$f" "$work/head/$n"; then echo "same  $n"
  else fail=1; fi
done
for f in "$work/base"/*.csv; do
  n=$(basename "$f")
  if cmp -s "$f" "$work/head/$n"; then echo "same  $n ($(wc -l <"$f") lines)"
  else echo "DIFFERENT $n"; fail=1; fi
done
[ "$fail" = 0 ] && echo "identity check: every model file and ranked list is the same" || echo "identity check FAILED"
exit "$fail"
