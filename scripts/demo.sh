#!/usr/bin/env bash
# The main job on the built-in demo data: install, build, generate the demo campaign, train the
# default recipe (models/installment.json), print the member comparison and the band table of the
# latest month, write tonight's ranked call list to demo/ranked.csv, plan the latest month: when, on
# which channel and by whom each customer is called (scripts/plan_demo.sh), and check with monitor that
# the model still holds.  stdout carries the tables in order; the library's progress lines go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build/release
cli=build/release/bin/propensity
$cli gen --out-dir demo --drift
# timed here rather than with bash's `time`, whose lines go to stderr and land inside the tables below
start=$(date +%s%N)
$cli train --data demo/history.csv --target accepted --id customer_id --ignore installment_amount \
  --connected connected --time-col month --recipe models/installment.json --out demo/installment.model
echo "trained demo/installment.model in $(( ($(date +%s%N) - start) / 1000000000 )) s (wall clock)"
echo
echo "== member comparison (out-of-fold, months 1-5) =="
/usr/bin/python3 - <<'PY'
import json, subprocess
meta = json.loads(subprocess.check_output(["build/release/bin/propensity", "info", "--model", "demo/installment.model"]))
print(f"{'member':15s} {'OOF AUC':>8s} {'log-loss':>9s} {'Brier':>7s} {'weight':>7s}  selected")
for m in sorted(meta["members"], key=lambda m: -m["oof_auc"]):
    print(f"{m['name']:15s} {m['oof_auc']:8.4f} {m['oof_logloss']:9.4f} {m['oof_brier']:7.4f} {m['weight']:7.3f}  {'yes' if m['selected'] else ''}")
e = meta["ensemble"]
print(f"{'ensemble':15s} {e['oof_auc_calibrated']:8.4f} {e['oof_logloss']:9.4f} {e['oof_brier']:7.4f}"
      f"   ECE {e['oof_ece_before_calibration']:.4f} -> {e['oof_ece_after_calibration']:.4f} after calibration")
print("Members' log-loss and Brier score are of their own probabilities, uncalibrated (class weights, the SVC's\n"
      "Platt step and vote shares each set their scale): a low log-loss does not make a member rank better. Compare\n"
      "members on AUC; the ensemble's figures are after its calibrator, which is what the bands use.")
PY
echo
echo "== band table, latest month (month 6, out of time) =="
$cli bands --model demo/installment.model --data demo/latest.csv --connected connected
echo
$cli score --model demo/installment.model --data demo/calllist.csv --out demo/ranked.csv
echo "== top of tonight's call list (demo/ranked.csv; probabilities rounded here, the file keeps every digit) =="
/usr/bin/python3 - <<'PY'
import csv
with open("demo/ranked.csv", newline="") as f:
    rows = csv.DictReader(f)
    print(f"{'id':>10s} {'probability':>11s} {'band':>4s} {'rank':>5s} {'dialer_rank':>11s} {'selected':>8s}")
    for i, r in zip(range(10), rows):
        p = f"{float(r['probability']):.4f}" if r["probability"] else "-"
        print(f"{r['id']:>10s} {p:>11s} {r['band']:>4s} {r['rank']:>5s} {r['dialer_rank']:>11s} {r['selected']:>8s}")
PY
echo
scripts/plan_demo.sh demo build/release
echo
echo "== does the model still hold? (propensity monitor against the training rows) =="
echo "-- month 6, as the history was: --"
$cli monitor --model demo/installment.model --data demo/latest.csv --target accepted --json demo/monitor_latest.json \
  --html demo/monitor_latest.html --fail-on act
echo "-- month 8, with a planted drift (richer customers, more platinum cards): --"
if $cli monitor --model demo/installment.model --data demo/drift.csv --target accepted --json demo/monitor_drift.json \
  --html demo/monitor_drift.html --fail-on act; then
  echo "monitor did not flag the drifted month" >&2; exit 1
else
  echo "(exit status 7: a nightly job would stop this list; see demo/monitor_drift.html)"
fi
