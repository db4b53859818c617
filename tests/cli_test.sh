#!/usr/bin/env bash
# End-to-end tests of the propensity program: gen -> train -> score -> bands -> backtest, the
# output contract, and the exit code of every kind of bad input.
set -uo pipefail
cli=$1
src_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$src_dir/tests/harness.sh"

recipe=$src_dir/tests/recipes/small.json
expect_code "gen writes the demo" 0 "$cli" gen --out-dir "$work/demo" --customers 600 --months 3 --seed 5
for f in history.csv latest.csv calllist.csv; do [ -s "$work/demo/$f" ] && ok "gen wrote $f" || no "gen wrote $f"; done
head -n 1 "$work/demo/calllist.csv" | grep -q accepted && no "call list has no outcome columns" || ok "call list has no outcome columns"

expect_code "train" 0 "$cli" train --data "$work/demo/history.csv" --target accepted --id customer_id \
  --ignore installment_amount --connected connected --time-col month --recipe "$recipe" --out "$work/m.bin"
[ -s "$work/m.bin" ] && ok "model file written" || no "model file written"
# the SVC's subsample (max_train_rows 400 of 1,200 rows) is said once per training, not once per fold
[ "$(grep -c 'above max_train_rows' "$work/err.txt")" = 1 ] && ok "max_train_rows said once" ||
  no "max_train_rows said $(grep -c 'above max_train_rows' "$work/err.txt") times"
ls "$work"/m.bin.tmp.* >/dev/null 2>&1 && no "no temporary files left" || ok "no temporary files left"

expect_code "score" 0 "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/ranked.csv"
head -n 1 "$work/ranked.csv" | grep -q '^id,probability,band,rank,error' && ok "output header" || no "output header"
in_rows=$(($(wc -l <"$work/demo/calllist.csv") - 1)); out_rows=$(($(wc -l <"$work/ranked.csv") - 1))
[ "$in_rows" = "$out_rows" ] && ok "one output row per input row ($out_rows)" || no "rows in $in_rows, out $out_rows"
awk -F, 'NR>1 && $4 != NR-1 {bad=1} END {exit bad}' "$work/ranked.csv" && ok "sorted by rank 1..n" || no "sorted by rank"
awk -F, 'NR>1 && ($3 < 1 || $3 > 7) {bad=1} END {exit bad}' "$work/ranked.csv" && ok "bands 1..7" || no "bands 1..7"
awk -F, 'NR>2 && $2 > prev+1e-15 {bad=1} {prev=$2} END {exit bad}' "$work/ranked.csv" && ok "probabilities non-increasing" || no "probabilities non-increasing"

# the same model and data give the same bytes again
"$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/ranked2.csv" 2>/dev/null
cmp -s "$work/ranked.csv" "$work/ranked2.csv" && ok "scoring is deterministic" || no "scoring is deterministic"

# rows that cannot be scored keep their row and say why
{ head -n 1 "$work/demo/calllist.csv"; sed -n '2,4p' "$work/demo/calllist.csv";
  sed -n '5p' "$work/demo/calllist.csv" | awk -F, -v OFS=, '{$3="not-a-number"; print}';
  sed -n '6p' "$work/demo/calllist.csv" | cut -d, -f1-4;
  sed -n '7,9p' "$work/demo/calllist.csv"; } >"$work/bad.csv"
expect_code "score with bad rows" 0 "$cli" score --model "$work/m.bin" --data "$work/bad.csv" --out "$work/bad_out.csv"
[ "$(($(wc -l <"$work/bad_out.csv") - 1))" = 8 ] && ok "bad rows kept (8 rows out)" || no "bad rows kept: $(cat "$work/bad_out.csv")"
has "non-number reported with row and column" "$work/bad_out.csv" 'bad.csv:4'
has "short row reported" "$work/bad_out.csv" 'bad.csv:5'
# a row with a cell that is not a number keeps its own id; a row whose fields do not line up has
# lost its cells, and its id is left empty rather than replaced by the row number
bad_id=$(sed -n '5p' "$work/demo/calllist.csv" | cut -d, -f1)
grep -q "^$bad_id,,0,,[^,]*bad.csv:4:" "$work/bad_out.csv" && ok "row with a bad number: its id kept" ||
  no "row with a bad number: $(grep 'bad.csv:4' "$work/bad_out.csv")"
grep -q '^,,0,,[^,]*bad.csv:5:' "$work/bad_out.csv" && ok "short row: empty id" || no "short row: $(grep 'bad.csv:5' "$work/bad_out.csv")"
# a category the model never saw: by default it is scored through the encoder's <other> bucket and the
# rows that needed it are reported per column; --unseen error refuses the row naming file, row, column
# and label
{ head -n 1 "$work/demo/calllist.csv"; sed -n '2,3p' "$work/demo/calllist.csv";
  sed -n '4p' "$work/demo/calllist.csv" | sed -E 's/,(classic|gold|platinum),/,titanium,/'; } >"$work/unseen.csv"
grep -q titanium "$work/unseen.csv" && ok "unseen fixture has the new card type" || no "unseen fixture: $(cat "$work/unseen.csv")"
expect_code "score with an unseen category, strict" 0 "$cli" score --model "$work/m.bin" --data "$work/unseen.csv" \
  --out "$work/unseen_out.csv" --order input --unseen error
grep -q "^[^,]*,,0,,[^,]*unseen.csv:3:card_type: category 'titanium' was not seen in training" "$work/unseen_out.csv" &&
  ok "unseen category: row refused, named" || no "unseen category: $(cat "$work/unseen_out.csv")"
expect_code "score with an unseen category, by default" 0 "$cli" score --model "$work/m.bin" --data "$work/unseen.csv" \
  --out "$work/unseen_b.csv" --order input
[ "$(grep -c ',1$' "$work/unseen_b.csv")" = 3 ] && ok "the default (bucket) scores every row" || no "default: $(cat "$work/unseen_b.csv")"
has "the bucketed rows are reported per column" "$work/err.txt" "scored through <other>"
has "... naming the column and count" "$work/err.txt" "card_type 1 row"
expect_code "score with --unseen bucket" 0 "$cli" score --model "$work/m.bin" --data "$work/unseen.csv" \
  --out "$work/unseen_bb.csv" --order input --unseen bucket
cmp -s "$work/unseen_b.csv" "$work/unseen_bb.csv" && ok "--unseen bucket is the default" || no "--unseen bucket differs"
[ "$(sed -n 2,3p "$work/unseen_out.csv" | cut -d, -f1-3)" = "$(sed -n 2,3p "$work/unseen_b.csv" | cut -d, -f1-3)" ] &&
  ok "other rows score the same either way" || no "other rows differ"
expect_code "usage: --unseen maybe" 1 "$cli" score --model "$work/m.bin" --data "$work/unseen.csv" --out "$work/o.csv" \
  --unseen maybe
# a row without an id is nobody to call: kept, unscored, with the reason
{ head -n 1 "$work/demo/calllist.csv"; sed -n '2p' "$work/demo/calllist.csv" | cut -d, -f2- | sed 's/^/,/';
  sed -n '3,4p' "$work/demo/calllist.csv"; } >"$work/noid_row.csv"
expect_code "score a row without id" 0 "$cli" score --model "$work/m.bin" --data "$work/noid_row.csv" --out "$work/noid_row_out.csv"
grep -q '^,,0,,[^,]*noid_row.csv:1:customer_id: the id is missing,0,0$' "$work/noid_row_out.csv" &&
  ok "row without id: unscored, not selected, reason" || no "row without id: $(cat "$work/noid_row_out.csv")"
[ "$(grep -c ',1$' "$work/noid_row_out.csv")" = 2 ] && ok "rows with ids still selected" || no "rows with ids still selected"

expect_code "score by value with capacity" 0 "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" \
  --out "$work/value.csv" --rank-by value --value-col credit_limit --capacity 100
head -n 1 "$work/value.csv" | grep -q expected_value && ok "value columns" || no "value columns"
[ "$(awk -F, 'NR>1 && $7==1' "$work/value.csv" | wc -l)" = 100 ] && ok "capacity 100 selected" || no "capacity selected"
awk -F, 'NR>1 && ($6 < 0 || $6 > 32767) {bad=1} END {exit bad}' "$work/value.csv" && ok "dialer rank in 0..32767" || no "dialer rank range"
# the value may be a column the model does not use (the installment amount was ignored in training)
expect_code "score by a column the model ignores" 0 "$cli" score --model "$work/m.bin" --data "$work/demo/latest.csv" \
  --out "$work/value2.csv" --rank-by value --value-col installment_amount
[ "$(($(wc -l <"$work/value2.csv") - 1))" = "$(($(wc -l <"$work/demo/latest.csv") - 1))" ] \
  && ok "one row out per row in (by value)" || no "rows out by value"
awk -F, 'NR>1 && $2 != "" { if ($9 - $2 * $8 > 1e-9 * $8 || $2 * $8 - $9 > 1e-9 * $8) bad=1; n++ }
         END { exit (bad || n == 0) }' "$work/value2.csv" \
  && ok "expected_value = probability x installment_amount" || no "expected_value: $(sed -n 2p "$work/value2.csv")"
amt=$(head -n 1 "$work/demo/latest.csv" | tr ',' '\n' | grep -nx installment_amount | cut -d: -f1)
first=$(sed -n 2p "$work/value2.csv" | cut -d, -f1)
awk -F, -v c="$amt" -v id="$first" 'NR>1 && $1 == id {print $c}' "$work/demo/latest.csv" >"$work/amt.txt"
[ "$(sed -n 2p "$work/value2.csv" | cut -d, -f8)" = "$(cat "$work/amt.txt")" ] \
  && ok "value column read from the file" || no "value column: $(sed -n 2p "$work/value2.csv") vs $(cat "$work/amt.txt")"
# a list past its memory budget: sorted runs spilled to a temporary file and merged, the same bytes as the
# list kept in memory (140,000 rows: three chunks of the reader, each past 1 MiB, so three runs; some rows
# unscored); the spill file is unlinked at once, so --temp-dir stays empty
awk -F, -v OFS=, 'NR == 1 {print; next} {l[NR] = $0} END {n = 0; for (r = 0; n < 140000; r++) for (i = 2; i <= NR && n < 140000; i++) {s = l[i]; sub(/^[^,]*/, "&_" r, s); if (n % 997 == 5) sub(/,[^,]*$/, ",x", s); print s; n++}}' \
  "$work/demo/latest.csv" >"$work/long.csv"
mkdir "$work/spill"
for v in "rank" "input --band-quota 10,20,3000,40,50,6000,70000" "rank --rank-by value --value-col installment_amount --capacity 50000 --band-quota 1,2,3,4,5,60000,70000"; do
  set -- $v
  o=(--order "$@")
  "$cli" score --model "$work/m.bin" --data "$work/long.csv" --out "$work/long_mem.csv" --memory-mb 0 "${o[@]}" 2>/dev/null
  expect_code "score --memory-mb 1 ($v)" 0 "$cli" score --model "$work/m.bin" --data "$work/long.csv" \
    --out "$work/long_spill.csv" --memory-mb 1 --temp-dir "$work/spill" "${o[@]}"
  cmp -s "$work/long_mem.csv" "$work/long_spill.csv" && ok "spilled and in memory: the same bytes ($v)" ||
    no "spilled and in memory differ ($v)"
done
[ "$(grep -c 'is not a number' "$work/long_spill.csv")" -ge 100 ] && ok "the long list has unscored rows" || no "unscored rows"
[ -z "$(ls -A "$work/spill")" ] && ok "no spill file left" || no "spill files left: $(ls "$work/spill")"
expect_code "spill folder missing" 5 "$cli" score --model "$work/m.bin" --data "$work/long.csv" --out "$work/long_no.csv" \
  --memory-mb 1 --temp-dir "$work/no/such/folder"
has "the spill folder is named" "$work/err.txt" "no/such/folder"
[ -e "$work/long_no.csv" ] && no "no output after a failed spill" || ok "no output after a failed spill"
expect_code "usage: --memory-mb lots" 1 "$cli" score --model "$work/m.bin" --data "$work/long.csv" --out "$work/o.csv" \
  --memory-mb lots
expect_code "value column missing from the file" 2 "$cli" score --model "$work/m.bin" --data "$work/demo/latest.csv" \
  --out "$work/value3.csv" --rank-by value --value-col no_such_column
has "missing value column named" "$work/err.txt" "no_such_column"
expect_code "value column the model reads as categorical" 2 "$cli" score --model "$work/m.bin" \
  --data "$work/demo/latest.csv" --out "$work/value4.csv" --rank-by value --value-col card_type
has "categorical value column named" "$work/err.txt" "card_type"
[ ! -e "$work/value3.csv" ] && ok "no output file on error" || no "an output file was left on error"

expect_code "bands" 0 "$cli" bands --model "$work/m.bin" --data "$work/demo/latest.csv" --connected connected --json "$work/bands.json"
has "band table printed" "$work/out.txt" 'success'
has "connect rate column" "$work/out.txt" 'connect'
has "bands json" "$work/bands.json" '"success_rate"'

expect_code "info" 0 "$cli" info --model "$work/m.bin"
has "metadata has members" "$work/out.txt" '"oof_auc"'
expect_code "importance" 0 "$cli" importance --model "$work/m.bin" --data "$work/demo/latest.csv" --repeats 1
has "importance lists inputs" "$work/out.txt" 'past_installments'

expect_code "backtest" 0 "$cli" backtest --data "$work/demo/history.csv" --target accepted --id customer_id \
  --ignore installment_amount --connected connected --time-col month --recipe "$recipe" --json "$work/bt.json"
has "backtest json" "$work/bt.json" '"capture_top30"'

# ---- time columns written as banks write months: YYYY-MM, ISO dates, YYYYMM ----------------------
ym() { # file format: the demo file with its month column (the 2nd) rewritten by printf format from month m
  awk -F, -v OFS=, -v fmt="$2" 'NR == 1 {print; next} {$2 = sprintf(fmt, $2); print}' "$1"
}
ym "$work/demo/history.csv" '2026-%02d' >"$work/hist_ym.csv"
ym "$work/demo/latest.csv" '2026-%02d' >"$work/latest_ym.csv"
ym "$work/demo/history.csv" '2026-%02d-15' >"$work/hist_date.csv"
ym "$work/demo/history.csv" '2026%02d' >"$work/hist_yyyymm.csv"
expect_code "train: months as YYYY-MM" 0 "$cli" train --data "$work/hist_ym.csv" --target accepted --id customer_id \
  --ignore installment_amount --time-col month --recipe "$recipe" --out "$work/m_ym.bin"
expect_code "bands: months as YYYY-MM" 0 "$cli" bands --model "$work/m_ym.bin" --data "$work/latest_ym.csv" \
  --json "$work/bands_ym.json"
has "bands names the month" "$work/out.txt" "latest_ym.csv (600 rows, month 2026-03)"
tr -d ' \n' <"$work/bands_ym.json" | grep -q '"rows":600,"periods":\["2026-03"\],"bands"' &&
  ok "bands json lists the month" || no "bands json lists the month: $(head -c 300 "$work/bands_ym.json")"
expect_code "bands: several months" 0 "$cli" bands --model "$work/m_ym.bin" --data "$work/hist_ym.csv"
has "bands names the months" "$work/out.txt" "months 2026-01 to 2026-02"
for kind in ym date yyyymm; do
  expect_code "backtest: months as $kind" 0 "$cli" backtest --data "$work/hist_$kind.csv" --target accepted \
    --id customer_id --ignore installment_amount --time-col month --recipe "$recipe" --json "$work/bt_$kind.json"
  has "backtest ($kind) prints the period" "$work/out.txt" '^2026-02 '
  has "backtest ($kind) json names the period" "$work/bt_$kind.json" '"period": "2026-02"'
  has "backtest ($kind) json keys the month" "$work/bt_$kind.json" '"month": 202602'
done
# the same rows give the same figures whatever the format of their months
for kind in date yyyymm; do
  diff <(grep -v '"time_column"' "$work/bt_ym.json") <(grep -v '"time_column"' "$work/bt_$kind.json") >/dev/null &&
    ok "backtest: $kind months give the same report as YYYY-MM" || no "backtest: $kind and YYYY-MM reports differ"
done
# a mixed or unreadable time column stops every command, naming file, row and column
{ head -n 3 "$work/hist_ym.csv"; sed -n '4p' "$work/hist_date.csv"; sed -n '5,$p' "$work/hist_ym.csv"; } >"$work/mixed.csv"
for c in train backtest compare; do
  extra=(); [ $c = train ] && extra=(--out "$work/x.bin"); [ $c = compare ] && extra=(--json "$work/x.json" --html "$work/x.html")
  expect_code "$c: a mixed time column" 2 "$cli" $c --data "$work/mixed.csv" --target accepted --id customer_id \
    --ignore installment_amount --time-col month --recipe "$recipe" "${extra[@]}"
  has "$c: the mixed row named" "$work/err.txt" "mixed.csv:3:month: '2026-01-15' is a date YYYY-MM-DD, but row 1 has '2026-01', YYYY-MM"
done
sed '3s/^\([^,]*\),2026-01,/\1,2026-13,/' "$work/hist_ym.csv" >"$work/badmonth.csv"
expect_code "backtest: month 13" 2 "$cli" backtest --data "$work/badmonth.csv" --target accepted --id customer_id \
  --ignore installment_amount --time-col month --recipe "$recipe"
has "month 13 named" "$work/err.txt" "badmonth.csv:2:month: '2026-13' is not a period"

# ---- bad input: each gets a clear message and its exit code ------------------------------------
expect_code "usage: no arguments" 1 "$cli"
expect_code "usage: unknown flag" 1 "$cli" score --model "$work/m.bin" --data x --out y --bogus 1
expect_code "missing data file" 5 "$cli" train --data "$work/nope.csv" --target accepted --out "$work/x.bin"
has "missing file named" "$work/err.txt" 'nope.csv'
printf 'a,b,accepted\n1,2,1\n3,"4,0\n' >"$work/quote.csv"
expect_code "unterminated quote" 2 "$cli" train --data "$work/quote.csv" --target accepted --out "$work/x.bin"
printf 'a,b,accepted\n1,2,1\n3,4\n' >"$work/short.csv"
expect_code "wrong column count" 2 "$cli" train --data "$work/short.csv" --target accepted --out "$work/x.bin"
has "row named" "$work/err.txt" 'short.csv:2'
printf 'a,b,accepted\n1,inf,1\n3,4,0\n' >"$work/inf.csv"
expect_code "Inf in training data" 2 "$cli" train --data "$work/inf.csv" --target accepted --out "$work/x.bin"
has "Inf cell named" "$work/err.txt" 'inf.csv:1'
# one rule for labels: a target holds two; a third stops train and compare naming its row
awk -F, -v OFS=, 'NR == 1 {print; next} {$15 = $15 == 1 ? "accepted" : NR == 9 ? "no_answer" : "declined"; print}' \
  "$work/demo/history.csv" >"$work/three.csv"
for c in train compare; do
  extra=(--out "$work/x.bin"); [ $c = compare ] && extra=(--test-frac 0.3 --json "$work/x.json" --html "$work/x.html")
  expect_code "$c: three target labels" 2 "$cli" $c --data "$work/three.csv" --target accepted --positive accepted \
    --id customer_id --ignore installment_amount --recipe "$recipe" "${extra[@]}"
  has "$c: the third label named" "$work/err.txt" "three.csv:8:accepted: label 'no_answer' is a third label besides the positive 'accepted' and 'declined'"
done
echo '{"members": [{"name": "xgboost", "params": {"max_depth": 0}}]}' >"$work/bad_recipe.json"
expect_code "bad recipe" 2 "$cli" train --data "$work/demo/history.csv" --target accepted --recipe "$work/bad_recipe.json" --out "$work/x.bin"
has "recipe field named" "$work/err.txt" 'members\[0\].params.max_depth'
head -c 1000 "$work/m.bin" >"$work/trunc.bin"
expect_code "truncated model" 3 "$cli" score --model "$work/trunc.bin" --data "$work/demo/calllist.csv" --out "$work/o.csv"
has "truncated named" "$work/err.txt" 'truncated'
cp "$work/m.bin" "$work/corrupt.bin"; printf '\xff\xfe' | dd of="$work/corrupt.bin" bs=1 seek=3000 conv=notrunc 2>/dev/null
expect_code "corrupted model" 3 "$cli" score --model "$work/corrupt.bin" --data "$work/demo/calllist.csv" --out "$work/o.csv"
expect_code "not a model" 3 "$cli" score --model "$recipe" --data "$work/demo/calllist.csv" --out "$work/o.csv"
cut -d, -f1-3 "$work/demo/calllist.csv" >"$work/few_cols.csv"
expect_code "missing input column" 2 "$cli" score --model "$work/m.bin" --data "$work/few_cols.csv" --out "$work/o.csv"
[ -e "$work/o.csv" ] && no "no output written on failure" || ok "no output written on failure"
cut -d, -f2- "$work/demo/calllist.csv" >"$work/no_id_col.csv"
expect_code "id column missing from the file" 2 "$cli" score --model "$work/m.bin" --data "$work/no_id_col.csv" \
  --out "$work/o.csv"
has "id column missing: named" "$work/err.txt" "id column 'customer_id' is missing"
[ -e "$work/o.csv" ] && no "no output without ids" || ok "no output without ids"


# ---- the audit of 2026-12-06 (each of these failed before its fix) --------------------------------
# an output file keeps the permissions of the file it replaces; a new one gets the umask's
echo old >"$work/perm.csv"; chmod 640 "$work/perm.csv"
expect_code "score over a 0640 file" 0 "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/perm.csv"
[ "$(stat -c %a "$work/perm.csv")" = 640 ] && ok "replaced file keeps mode 640" || no "mode now $(stat -c %a "$work/perm.csv")"
(umask 027; "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/new.csv" 2>/dev/null)
[ "$(stat -c %a "$work/new.csv")" = 640 ] && ok "new file under umask 027: 640" || no "new file mode $(stat -c %a "$work/new.csv")"
# a header-only file without the id column is refused like a longer one, with the message
head -n 1 "$work/no_id_col.csv" >"$work/no_id_header.csv"
expect_code "header-only file without id column" 2 "$cli" score --model "$work/m.bin" --data "$work/no_id_header.csv" \
  --out "$work/o.csv"
has "header-only: id column named" "$work/err.txt" "no_id_header.csv: the model's id column 'customer_id' is missing"
# a NUL byte in a field: the row keeps its own id
{ head -n 2 "$work/demo/calllist.csv"; sed -n '3p' "$work/demo/calllist.csv" | sed 's/,M,/,M\x00,/; s/,F,/,F\x00,/'; } >"$work/nul.csv"
nul_id=$(sed -n '3p' "$work/demo/calllist.csv" | cut -d, -f1)
expect_code "score a row with a NUL byte" 0 "$cli" score --model "$work/m.bin" --data "$work/nul.csv" --out "$work/nul_out.csv"
grep -q "^$nul_id,,0,,[^,]*nul.csv:2:gender: NUL byte in field" "$work/nul_out.csv" && ok "NUL row keeps its id" ||
  no "NUL row: $(cat "$work/nul_out.csv")"
# labelled rows: a third label is an error naming the row; no id column is needed; a cell that is not
# a number is named
awk -F, -v OFS=, 'NR==1 {for (j = 1; j <= NF; j++) if ($j == "accepted") a = j} NR==3 {$a = "yes"} {print}' \
  "$work/demo/latest.csv" >"$work/third.csv"
expect_code "bands: a third label" 2 "$cli" bands --model "$work/m.bin" --data "$work/third.csv"
has "third label named" "$work/err.txt" "third.csv:2:accepted: label 'yes' is neither the positive label '1' nor the negative '0'"
expect_code "importance: a third label" 2 "$cli" importance --model "$work/m.bin" --data "$work/third.csv" --repeats 1
cut -d, -f2- "$work/demo/latest.csv" >"$work/latest_noid.csv"
expect_code "bands without an id column" 0 "$cli" bands --model "$work/m.bin" --data "$work/latest_noid.csv"
awk -F, -v OFS=, 'NR==1 {for (j = 1; j <= NF; j++) if ($j == "age") a = j} NR==4 {$a = "abc"} {print}' \
  "$work/demo/latest.csv" >"$work/nonnum.csv"
expect_code "bands: a cell that is not a number" 2 "$cli" bands --model "$work/m.bin" --data "$work/nonnum.csv"
has "non-number named" "$work/err.txt" "nonnum.csv:3:age: 'abc' is not a number"
# hexadecimal is text, not a number: the row is unscored with the reason
awk -F, -v OFS=, 'NR==1 {for (j = 1; j <= NF; j++) if ($j == "age") a = j} NR==2 {$a = "0x1A"} {print}' \
  "$work/demo/calllist.csv" | head -n 3 >"$work/hex.csv"
expect_code "score a hexadecimal age" 0 "$cli" score --model "$work/m.bin" --data "$work/hex.csv" --out "$work/hex_out.csv"
has "hexadecimal refused" "$work/hex_out.csv" "hex.csv:1:age: '0x1A' is not a number"
expect_code "importance --repeats 0" 1 "$cli" importance --model "$work/m.bin" --data "$work/demo/latest.csv" --repeats 0
expect_code "--threads out of range" 1 "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" \
  --out "$work/o.csv" --threads 99999999999
# a recipe that asks for early stopping without a validation hold-out
echo '{"members": [{"name": "xgboost", "params": {"early_stopping_rounds": 10}}]}' >"$work/es.json"
expect_code "early stopping without validation" 2 "$cli" train --data "$work/demo/history.csv" --target accepted \
  --recipe "$work/es.json" --out "$work/x.bin"
has "early stopping field named" "$work/err.txt" 'members\[0\].params.early_stopping_rounds: needs a validation hold-out'
# a back-test month with one class: its AUC and capture print as "-", not 0
{ cat "$work/demo/history.csv"; sed -n '2,3p' "$work/demo/history.csv" |
  awk -F, -v OFS=, '{$2 = 9; print}' | sed 's/,1,\([0-9.]*\)$/,0,0.00/'; } >"$work/bt_one.csv"
awk -F, 'NR > 1 && $2 == 9 && $(NF-1) != 0 {bad = 1} END {exit bad}' "$work/bt_one.csv" &&
  ok "month 9 has only negatives" || no "month 9 fixture: $(grep -c '' "$work/bt_one.csv")"
expect_code "backtest with a one-class month" 0 "$cli" backtest --data "$work/bt_one.csv" --target accepted \
  --id customer_id --ignore installment_amount --time-col month --recipe "$recipe" --min-train-months 2
grep -Eq '^ +9 +[0-9]+ +2 +0 +- ' "$work/out.txt" && ok "one-class month: AUC printed as -" ||
  no "one-class month: $(grep -E '^ +9 ' "$work/out.txt")"
# reasons for the agent: K columns of input=value, the same scores as without them
expect_code "score --reasons 3" 0 "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" \
  --out "$work/reasons.csv" --reasons 3
head -n 1 "$work/reasons.csv" | grep -q ',selected,reason_1,reason_2,reason_3$' && ok "reason columns" ||
  no "reason header: $(head -n 1 "$work/reasons.csv")"
[ "$(cut -d, -f1-7 "$work/reasons.csv")" = "$(cut -d, -f1-7 "$work/ranked.csv")" ] && ok "reasons leave the list as it was" ||
  no "reasons changed the list"
awk -F, 'NR > 1 {for (k = 8; k <= 10; k++) if ($k != "" && $k !~ /^[a-z_]+=./) bad = 1} NR > 1 && NR <= 51 && $8 == "" {bad = 1}
  END {exit bad}' "$work/reasons.csv" && ok "reasons are input=value; the top 50 rows all have one" ||
  no "reasons: $(sed -n 2,4p "$work/reasons.csv")"
expect_code "score --reasons 0" 1 "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" \
  --out "$work/reasons.csv" --reasons 0

# monitoring: the demo's later month with a planted drift is flagged, the latest month is not
expect_code "gen --drift" 0 "$cli" gen --out-dir "$work/drift" --customers 600 --months 3 --seed 5 --drift
cmp -s "$work/demo/history.csv" "$work/drift/history.csv" && ok "--drift leaves the other files as they were" ||
  no "--drift changed history.csv"
expect_code "monitor the latest month" 0 "$cli" monitor --model "$work/m.bin" --data "$work/demo/latest.csv" \
  --target accepted --time-col month --json "$work/mon.json" --html "$work/mon.html" --fail-on act
grep -q '"score_psi"' "$work/mon.json" && grep -q '"periods"' "$work/mon.json" && ok "monitor JSON written" ||
  no "monitor JSON: $(head -c 300 "$work/mon.json")"
grep -q '<svg class="chart" id="chart-stability"' "$work/mon.html" && ok "monitor HTML with the bars" || no "monitor HTML"
expect_code "monitor the drifted month: exit 7 at act" 7 "$cli" monitor --model "$work/m.bin" \
  --data "$work/drift/drift.csv" --json "$work/mon2.json" --fail-on act
has "the drift is named" "$work/err.txt" "drift at level act"
grep -q '"status": "act"' "$work/mon2.json" && ok "the drifted month's report says act" || no "drifted report"
expect_code "monitor without --fail-on exits 0" 0 "$cli" monitor --model "$work/m.bin" --data "$work/drift/drift.csv" \
  --json "$work/mon3.json"
expect_code "monitor: a missing input is named" 2 "$cli" monitor --model "$work/m.bin" \
  --data "$work/no_id_col.csv" --json "$work/mon4.json"
cut -d, -f1-3 "$work/demo/latest.csv" >"$work/short.csv"
expect_code "monitor: a month without an input" 2 "$cli" monitor --model "$work/m.bin" --data "$work/short.csv" \
  --json "$work/mon4.json"
has "... named" "$work/err.txt" "gender' is not in the header"
[ -e "$work/mon4.json" ] && no "no report on failure" || ok "no report on failure"
expect_code "monitor: --fail-on maybe" 1 "$cli" monitor --model "$work/m.bin" --data "$work/demo/latest.csv" \
  --json "$work/mon4.json" --fail-on maybe

# explain: one row per input row in input order, base + contributions = logodds, bad rows kept with
# their reason, the same bytes for any thread count
expect_code "explain" 0 "$cli" explain --model "$work/m.bin" --data "$work/bad.csv" --out "$work/contrib.csv" --threads 2
head -n 1 "$work/contrib.csv" | grep -q '^id,base,logodds,age,.*,error$' && ok "explain header" ||
  no "explain header: $(head -n 1 "$work/contrib.csv")"
[ "$(($(wc -l <"$work/contrib.csv") - 1))" = 8 ] && ok "explain: 8 rows out" || no "explain rows: $(cat "$work/contrib.csv")"
[ "$(cut -d, -f1 "$work/contrib.csv" | sed 1d)" = "$(sed 1d "$work/bad.csv" | cut -d, -f1 | sed '5s/.*//')" ] &&
  ok "explain: input order, ids kept" || no "explain ids: $(cut -d, -f1 "$work/contrib.csv" | tr '\n' ' ')"
awk -F, 'NR > 1 && $2 != "" {s = $2; for (k = 4; k < NF; k++) s += $k; d = s - $3; if (d > 1e-9 || d < -1e-9) bad = 1; n++}
  END {exit bad || n != 6}' "$work/contrib.csv" && ok "explain: base + contributions = logodds on the 6 good rows" ||
  no "explain sums: $(cat "$work/contrib.csv")"
has "explain: a bad row keeps its reason" "$work/contrib.csv" 'bad.csv:4'
"$cli" explain --model "$work/m.bin" --data "$work/bad.csv" --out "$work/contrib1.csv" --threads 1 2>/dev/null
cmp -s "$work/contrib.csv" "$work/contrib1.csv" && ok "explain: same bytes on 1 and 2 threads" || no "explain threads differ"
expect_code "explain without --out" 1 "$cli" explain --model "$work/m.bin" --data "$work/bad.csv"
# every command explains itself; the README's synopsis is the program's
for c in gen train score bands backtest importance compare info monitor explain; do
  expect_code "$c --help" 0 "$cli" "$c" --help
  has "$c --help: usage" "$work/out.txt" "propensity $c"
done
"$cli" --help | awk '/^usage:/ {u = 1; next} u && /^$/ {exit} u {sub(/^  /, ""); print}' |
  grep -v '^propensity \(version\|COMMAND\)' >"$work/usage.txt"
awk '/^## The command-line program/ {sec = 1; next} sec && /^```/ {if (inblk) exit; inblk = 1; next} inblk' \
  "$src_dir/README.md" >"$work/readme_usage.txt"
[ "$(grep -c '^propensity ' "$work/usage.txt")" = 13 ] && ok "--help lists 13 commands" || no "--help: $(cat "$work/usage.txt")"
cmp -s "$work/usage.txt" "$work/readme_usage.txt" && ok "README synopsis = propensity --help" ||
  no "README synopsis differs: $(diff "$work/usage.txt" "$work/readme_usage.txt" | head -n 6)"

finish
