#!/usr/bin/env bash
# The call plan on the demo data of `propensity gen` in DIR (scripts/demo.sh runs it; bench/README.md,
# "The call plan"): train the model of P(accept | connected) on the connected calls of the history,
# fit the contact model on the contact history (segments: age band and past plans), plan the latest
# month under DIR/policy.json, and compare the plan with the bank's habitual slot and with the oracle
# under the planted probabilities (bench_plan compare).
#   scripts/plan_demo.sh DIR [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
build=${2:-build/release}
cli=$build/bin/propensity
# the connected calls: accepted given connected is what the plan multiplies by P(connect)
awk -F, 'NR == 1 {for (j = 1; j <= NF; j++) if ($j == "connected") c = j; print; next} $c == 1' \
  "$dir/history.csv" >"$dir/history_connected.csv"
$cli train --data "$dir/history_connected.csv" --target accepted --id customer_id \
  --ignore installment_amount,connected --time-col month --recipe models/installment.json --out "$dir/accept.model" 2>/dev/null
echo "== contact model ($dir/contact.model) =="
$cli contact fit --history "$dir/contact_history.csv" --id customer_id --time time --channel channel --outcome outcome \
  --positive connected --data "$dir/customers.csv" --segment-cols age_band,plans --out "$dir/contact.model" 2>/dev/null
echo
echo "== call plan of the latest month ($dir/plan.csv) =="
$cli plan --model "$dir/accept.model" --contact "$dir/contact.model" --data "$dir/latest.csv" \
  --policy "$dir/policy.json" --out "$dir/plan.csv" 2>/dev/null
echo
"$build/bench/bench_plan" compare --dir "$dir"
