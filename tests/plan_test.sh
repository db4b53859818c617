#!/usr/bin/env bash
# End-to-end tests of the call plan: propensity gen (the contact files), contact fit, contact best,
# plan (CSV and VICIdial lead files), their output contracts and the exit codes of bad input.
set -uo pipefail
cli=$1
src_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-plan.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$src_dir/tests/harness.sh"

d=$work/demo
expect_code "gen writes the contact files" 0 "$cli" gen --out-dir "$d" --customers 500 --months 3 --seed 5
for f in contact_history.csv customers.csv contact_truth.csv policy.json; do
  [ -s "$d/$f" ] && ok "gen wrote $f" || no "gen wrote $f"
done
[ "$(head -n 1 "$d/contact_history.csv")" = "customer_id,time,channel,outcome" ] && ok "history header" ||
  no "history header: $(head -n 1 "$d/contact_history.csv")"
# the customers of the latest month and of the call list, each once
[ "$(($(wc -l <"$d/customers.csv") - 1))" = 1000 ] && ok "customers.csv: 1000 customers" || no "customers.csv: $(wc -l <"$d/customers.csv")"

# the model of P(accept | connected): trained on the connected calls
awk -F, 'NR == 1 || $14 == 1' "$d/history.csv" >"$work/connected.csv"
expect_code "train on connected calls" 0 "$cli" train --data "$work/connected.csv" --target accepted --id customer_id \
  --ignore installment_amount,connected --time-col month --recipe "$src_dir/tests/recipes/small.json" --out "$work/m.bin"

fit=(contact fit --history "$d/contact_history.csv" --id customer_id --time time --channel channel --outcome outcome
  --positive connected)
expect_code "contact fit" 0 "$cli" "${fit[@]}" --data "$d/customers.csv" --segment-cols age_band,plans --out "$work/c.model"
has "contact fit reports the held-out check" "$work/out.txt" "held-out check: the latest 20% of the attempts"
for level in "global cells" "segment cells" "customer, recalibrated"; do has "held-out level: $level" "$work/out.txt" "^$level "; done
has "contact fit reports the shrinkage" "$work/out.txt" "shrinkage, sd of the log-odds: segment"
ls "$work"/c.model.tmp.* >/dev/null 2>&1 && no "no temporary files left" || ok "no temporary files left"
# the same inputs give the same bytes
"$cli" "${fit[@]}" --data "$d/customers.csv" --segment-cols age_band,plans --out "$work/c2.model" >/dev/null 2>&1
cmp -s "$work/c.model" "$work/c2.model" && ok "contact fit is deterministic" || no "contact fit is deterministic"

expect_code "contact best" 0 "$cli" contact best --contact "$work/c.model" --data "$d/customers.csv" --out "$work/best.csv"
[ "$(head -n 1 "$work/best.csv")" = "id,channel,day,hour,p_connect" ] && ok "best header" || no "best header: $(head -n 1 "$work/best.csv")"
[ "$(wc -l <"$work/best.csv")" = "$(wc -l <"$d/customers.csv")" ] && ok "best: one row per customer" || no "best rows"
awk -F, 'NR > 1 && !($2 ~ /^(home|mobile|office)$/ && $3 ~ /^week(day|end)$/ && $4 % 2 == 0 && $4 >= 8 && $4 <= 20 && $5 > 0 && $5 < 1) {bad = 1} END {exit bad}' \
  "$work/best.csv" && ok "best: cells and probabilities" || no "best: $(sed -n 2,3p "$work/best.csv")"

plan=(plan --model "$work/m.bin" --contact "$work/c.model" --policy "$d/policy.json")
expect_code "plan" 0 "$cli" "${plan[@]}" --data "$d/latest.csv" --out "$work/plan.csv"
has "plan prints its summary" "$work/out.txt" "^plan: 500 rows"
[ "$(head -n 1 "$work/plan.csv")" = "id,probability,band,tier,channel,day,hour,p_connect,expected_value,slot_rank,error" ] &&
  ok "plan header" || no "plan header: $(head -n 1 "$work/plan.csv")"
[ "$(wc -l <"$work/plan.csv")" = "$(wc -l <"$d/latest.csv")" ] && ok "plan: rows in = rows out" || no "plan rows"
# capacities: 12 gold-agent and 40 agent calls per slot at most (the demo policy)
awk -F, 'NR > 1 && $4 != "" {n[$4 "," $6 "," $7]++} END {for (k in n) {split(k, a, ","); if ((a[1] == "gold_agent" && n[k] > 12) || (a[1] == "agent" && n[k] > 40)) exit 1}}' \
  "$work/plan.csv" && ok "plan: capacities kept" || no "plan: capacities"
awk -F, 'NR > 1 && $4 == "" && $11 == "" {bad = 1} END {exit bad}' "$work/plan.csv" && ok "plan: every row not called has a reason" ||
  no "plan: a row without tier or reason"
# bad rows of the call list stay in the plan with their reason
{ head -n 1 "$d/latest.csv"; sed -n 2,4p "$d/latest.csv"; sed -n 5p "$d/latest.csv" | awk -F, -v OFS=, '{$3 = "old"; print}'; } >"$work/bad_list.csv"
expect_code "plan with a bad row" 0 "$cli" "${plan[@]}" --data "$work/bad_list.csv" --out "$work/plan_bad.csv"
[ "$(wc -l <"$work/plan_bad.csv")" = 5 ] && ok "plan with a bad row: rows in = rows out" || no "plan_bad rows"
has "plan names the bad row" "$work/plan_bad.csv" "bad_list.csv:4:age: 'old' is not a number"

# VICIdial: the call list with phone numbers, a policy that maps them
awk -F, -v OFS=, 'NR == FNR {ph[$1] = $4 "," $5 "," $6; next} {print $0, ph[$1]}' "$d/customers.csv" "$d/latest.csv" \
  >"$work/list_phones.csv"
head -n 1 "$work/list_phones.csv" | grep -q mobile_phone && ok "call list with phones" || no "call list with phones: $(head -n 1 "$work/list_phones.csv")"
sed 's/"open_slots"/"phone_columns": {"mobile": "mobile_phone", "home": "home_phone", "office": "office_phone"},\n  "vicidial": {"list_id": 7000, "phone_code": "44"},\n  "open_slots"/' \
  "$d/policy.json" >"$work/policy_v.json"
expect_code "plan --format vicidial" 0 "$cli" plan --model "$work/m.bin" --contact "$work/c.model" --policy "$work/policy_v.json" \
  --data "$work/list_phones.csv" --out "$work/leads" --format vicidial
[ -s "$work/leads/plan.csv" ] && ok "vicidial: plan.csv" || no "vicidial: plan.csv"
nfiles=$(ls "$work/leads"/week*_*.txt 2>/dev/null | wc -l)
[ "$nfiles" -ge 2 ] && ok "vicidial: $nfiles lead files, one per slot" || no "vicidial: lead files: $(ls "$work/leads")"
called=$(awk -F, 'NR > 1 && $4 != ""' "$work/leads/plan.csv" | wc -l)
[ "$(cat "$work/leads"/*.txt | wc -l)" = "$called" ] && ok "vicidial: every called row in one lead file ($called)" || no "vicidial: lead count"
# the loader's standard layout with rank and owner: 29 tab-separated fields, no header
awk -F'\t' 'NF != 29 || $1 == "vendor_lead_code" {bad = 1} END {exit bad}' "$work/leads"/*.txt &&
  ok "vicidial: 29 tab-separated fields, no header" || no "vicidial: $(head -n 1 "$(ls "$work/leads"/*.txt | head -n 1)")"
awk -F'\t' '!($3 >= 7000 && $3 < 7014 && $4 == "44" && $5 ~ /^\+44[0-9]+$/ && $27 >= 1 && $27 <= 32767 &&
    $28 ~ /^(gold_agent|agent|robot)$/ && $23 ~ /^tier=/) {bad = 1} END {exit bad}' "$work/leads"/*.txt &&
  ok "vicidial: list_id, phone_code, phone_number, rank, owner, comments" || no "vicidial fields: $(head -n 1 "$work/leads"/weekday_10.txt)"
for f in "$work/leads"/*.txt; do # ranks fall within a file, the first call highest
  awk -F'\t' 'NR > 1 && $27 >= prev {bad = 1} {prev = $27} END {exit bad}' "$f" || no "vicidial: ranks in $f"
done
ok "vicidial: ranks fall down each file"
# a vendor_lead_code is a customer of the call list, and its number is that customer's for the channel
id=$(head -n 1 "$work/leads/weekday_10.txt" | cut -f1)
grep -q "^$id,.*,$(head -n 1 "$work/leads/weekday_10.txt" | cut -f5)" "$work/list_phones.csv" && ok "vicidial: the customer's own number" ||
  no "vicidial: number of $id"

# bad input: history rows named by file, row and column; an empty history; usage
printf 'customer_id,time,channel,outcome\n1,2026-03-02T10:00:00,mobile,connected\n2,2026-03-02T07:10:00,home,no_answer\n' >"$work/h_bad.csv"
expect_code "history time outside the grid" 2 "$cli" contact fit --history "$work/h_bad.csv" --id customer_id --time time \
  --channel channel --outcome outcome --positive connected --out "$work/x.model"
has "bad time named by file, row and column" "$work/err.txt" "h_bad.csv:2:time: 07:10"
printf 'customer_id,time,channel,outcome\n1,2026-03-02T10:00:00,mobile,connected\n2,2026-03-02T11:10:00,home,busy\n3,2026-03-02T11:10:00,home,no_answer\n' >"$work/h_bad2.csv"
expect_code "unknown outcome label" 2 "$cli" contact fit --history "$work/h_bad2.csv" --id customer_id --time time \
  --channel channel --outcome outcome --positive connected --out "$work/x.model"
has "unknown label named by file, row and column" "$work/err.txt" "h_bad2.csv:3:outcome: unknown outcome label 'no_answer'"
printf 'customer_id,time,channel,outcome\n1,14/03/2026 10:37,mobile,1\n' >"$work/h_bad3.csv"
expect_code "unparseable time" 2 "$cli" contact fit --history "$work/h_bad3.csv" --id customer_id --time time \
  --channel channel --outcome outcome --out "$work/x.model"
has "unparseable time named" "$work/err.txt" "h_bad3.csv:1:time: '14/03/2026 10:37' is not a time"
printf 'customer_id,time,channel,outcome\n' >"$work/h_empty.csv"
expect_code "empty history" 4 "$cli" contact fit --history "$work/h_empty.csv" --id customer_id --time time \
  --channel channel --outcome outcome --out "$work/x.model"
has "empty history said" "$work/err.txt" "h_empty.csv: the history has no attempts"
[ -e "$work/x.model" ] && no "no model written after an error" || ok "no model written after an error"
expect_code "contact fit without --out" 1 "$cli" contact fit --history "$d/contact_history.csv" --id customer_id --time time --channel channel --outcome outcome
expect_code "contact fit with a bad --tz" 1 "$cli" "${fit[@]}" --tz 5 --out "$work/x.model"
expect_code "contact fit with --tz" 0 "$cli" "${fit[@]}" --tz +01:00 --out "$work/tz.model"
expect_code "contact without a subcommand" 1 "$cli" contact
expect_code "plan with a bad --format" 1 "$cli" "${plan[@]}" --data "$d/latest.csv" --out "$work/p.csv" --format xml
echo '{"tiers": [{"name": "agent", "capacity_per_slot": -1}]}' >"$work/bad_policy.json"
expect_code "plan with a bad policy" 2 "$cli" plan --model "$work/m.bin" --contact "$work/c.model" --policy "$work/bad_policy.json" \
  --data "$d/latest.csv" --out "$work/p.csv"
has "bad policy named by field" "$work/err.txt" "bad_policy.json: tiers\[0\].capacity_per_slot: must be an integer"
expect_code "plan with a model file as contact model" 3 "$cli" plan --model "$work/m.bin" --contact "$work/m.bin" \
  --policy "$d/policy.json" --data "$d/latest.csv" --out "$work/p.csv"
has "a propensity model is not a contact model" "$work/err.txt" "not a contact model file"
for c in "contact fit" "contact best" plan; do
  expect_code "$c --help" 0 "$cli" $c --help
  has "$c --help: usage" "$work/out.txt" "propensity $c "
done

finish
