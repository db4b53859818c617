#!/usr/bin/env bash
# What the program writes, under faults and hostile input (issue 18 items 1, 3, 4 and 5):
#  - an output that is one of the inputs (the same inode, whatever the name) is refused and the input kept;
#  - ids a spreadsheet would run as formulas: such rows are not scored, say why, and every text field
#    that would be a formula is written with a leading ' (score, explain, plan, contact best);
#  - special outputs: standard output ('-'), /dev/null, /dev/full (the write error named), a symbolic
#    link (kept, its target replaced);
#  - SIGTERM, SIGINT and SIGHUP at several points of a 2M-row score (200k under a sanitizer): the
#    process ends by that signal, the old list is intact and no temporary file is left.
# usage: tests/output_test.sh PROPENSITY_CLI BUILD_DIR
set -uo pipefail
cli=$1
src_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-output.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$src_dir/tests/harness.sh"
export OMP_WAIT_POLICY=passive

d=$work/demo
"$cli" gen --out-dir "$d" --customers 500 --months 3 --seed 5 >/dev/null 2>&1 || { no "gen"; finish; exit; }
train=(train --data "$d/history.csv" --target accepted --id customer_id --ignore installment_amount
  --connected connected --time-col month --recipe "$src_dir/tests/recipes/small.json")
expect_code "train" 0 "$cli" "${train[@]}" --out "$work/m.bin"
no_temporaries() { # name folder
  if ls "$2"/*.tmp.* >/dev/null 2>&1; then no "$1: temporary files left: $(ls "$2"/*.tmp.* | head -n 3)"; else ok "$1: no temporary file left"; fi
}

# ---- an output onto an input ---------------------------------------------------------------------------
cp "$d/calllist.csv" "$work/list.csv"
ln "$work/list.csv" "$work/hard.csv"
ln -s "$work/list.csv" "$work/soft.csv"
cp "$work/list.csv" "$work/list.orig"
cp "$work/m.bin" "$work/m.orig"
refused() { # name path_kept original command...
  local name=$1 kept=$2 orig=$3; shift 3
  expect_code "$name is refused" 1 "$@"
  has "$name: the message names the input" "$work/err.txt" "is the same file as the input"
  cmp -s "$kept" "$orig" && ok "$name: the input is intact" || no "$name: the input changed"
}
refused "score --out the data file" "$work/list.csv" "$work/list.orig" \
  "$cli" score --model "$work/m.bin" --data "$work/list.csv" --out "$work/list.csv"
refused "score --out a hard link to the data" "$work/list.csv" "$work/list.orig" \
  "$cli" score --model "$work/m.bin" --data "$work/list.csv" --out "$work/hard.csv"
refused "score --out a symbolic link to the data" "$work/list.csv" "$work/list.orig" \
  "$cli" score --model "$work/m.bin" --data "$work/soft.csv" --out "$work/list.csv"
refused "score --out the model file" "$work/m.bin" "$work/m.orig" \
  "$cli" score --model "$work/m.bin" --data "$work/list.csv" --out "$work/m.bin"
refused "explain --out the data file" "$work/list.csv" "$work/list.orig" \
  "$cli" explain --model "$work/m.bin" --data "$work/list.csv" --out "$work/hard.csv"
cp "$d/history.csv" "$work/h.csv"
refused "train --out its data" "$work/h.csv" "$d/history.csv" \
  "$cli" train --data "$work/h.csv" --target accepted --id customer_id --ignore installment_amount \
  --connected connected --time-col month --recipe "$src_dir/tests/recipes/small.json" --out "$work/h.csv"
refused "monitor --out the model" "$work/m.bin" "$work/m.orig" \
  "$cli" monitor --model "$work/m.bin" --data "$work/list.csv" --json "$work/m.bin"
cp "$d/contact_history.csv" "$work/ch.csv"
refused "contact fit --out its history" "$work/ch.csv" "$d/contact_history.csv" \
  "$cli" contact fit --history "$work/ch.csv" --id customer_id --time time --channel channel --outcome outcome \
  --positive connected --out "$work/ch.csv"
no_temporaries "refused outputs" "$work"

# ---- ids that a spreadsheet would run --------------------------------------------------------------------
# rows 1-5 get hostile ids, row 6 a negative number (a number, not a formula)
awk -F, -v OFS=, 'NR == 2 {$1 = "\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""} NR == 3 {$1 = "+cmd|'"'"' /C calc'"'"'!A0"}
  NR == 4 {$1 = "@SUM(1)"} NR == 5 {$1 = "-1+1"} NR == 6 {$1 = "\tx"} NR == 7 {$1 = "-12"} {print}' \
  "$d/calllist.csv" >"$work/ids.csv"
expect_code "score a list with formula ids" 0 "$cli" score --model "$work/m.bin" --data "$work/ids.csv" \
  --out "$work/ids_out.csv" --order input
[ "$(wc -l <"$work/ids_out.csv")" = "$(wc -l <"$work/ids.csv")" ] && ok "formula ids: rows in = rows out" || no "formula ids: rows"
/usr/bin/python3 - "$work/ids_out.csv" <<'EOF' && ok "formula ids: refused with the reason, written with a leading '" || no "formula ids: see above"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
want = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1", "\tx"]
bad = 0
for r, w in zip(rows[:5], want):
    if r["id"] != "'" + w or "would run as a formula: not scored" not in r["error"] or r["probability"] != "":
        print("row:", r); bad = 1
if rows[5]["id"] != "-12" or rows[5]["error"] or not rows[5]["probability"]:
    print("the negative number:", rows[5]); bad = 1
for r in rows:  # no field of the file begins as a formula
    for v in r.values():
        if v[:1] in ("=", "+", "@", "\t", "\r") or (v[:1] == "-" and v != "-12" and not v.replace(".", "").replace("-", "").replace("e", "").isdigit()):
            print("a field that a spreadsheet runs:", repr(v)); bad = 1
sys.exit(bad)
EOF
expect_code "explain a list with formula ids" 0 "$cli" explain --model "$work/m.bin" --data "$work/ids.csv" --out "$work/ids_ex.csv"
has "explain: the formula id refused" "$work/ids_ex.csv" "^'@SUM(1),,,.*would run as a formula: not scored"
grep -q '^@' "$work/ids_ex.csv" && no "explain: an id written as a formula" || ok "explain: no id written as a formula"

# ---- special outputs ---------------------------------------------------------------------------------------
expect_code "score --out -" 0 "$cli" score --model "$work/m.bin" --data "$work/list.csv" --out -
"$cli" score --model "$work/m.bin" --data "$work/list.csv" --out "$work/file.csv" 2>/dev/null
cmp -s "$work/out.txt" "$work/file.csv" && ok "--out -: the file's bytes on standard output" || no "--out -: differs from the file"
expect_code "score --out /dev/null" 0 "$cli" score --model "$work/m.bin" --data "$work/list.csv" --out /dev/null
[ -c /dev/null ] && ok "/dev/null is still a character device" || no "/dev/null was replaced"
if [ -c /dev/full ]; then
  expect_code "score --out /dev/full" 5 "$cli" score --model "$work/m.bin" --data "$work/list.csv" --out /dev/full
  has "/dev/full: the write error named" "$work/err.txt" "/dev/full.*No space left on device"
  [ -c /dev/full ] && ok "/dev/full is still a character device" || no "/dev/full was replaced"
fi
cp "$work/file.csv" "$work/target.csv"
ln -s "$work/target.csv" "$work/link.csv"
expect_code "score --out a symbolic link" 0 "$cli" score --model "$work/m.bin" --data "$work/ids.csv" --out "$work/link.csv"
[ -L "$work/link.csv" ] && ok "the link is kept" || no "the link was replaced by a file"
cmp -s "$work/link.csv" "$work/ids_out.csv" 2>/dev/null || cmp -s <(sort "$work/target.csv") <(sort "$work/ids_out.csv") &&
  ok "the link's target holds the new list" || no "the link's target"

# ---- signals during a long score ----------------------------------------------------------------------------
rows=2000000
grep -qa __asan_init "$cli" && rows=200000
grep -qa __tsan_init "$cli" && rows=200000
per=$(( $(wc -l <"$d/calllist.csv") - 1 ))
awk -F, -v OFS=, -v k="$(( (rows + per - 1) / per ))" -v rows="$rows" \
  'NR == 1 {print; next} {l[NR] = $0} END {n = 0; for (r = 0; r < k; r++) for (i = 2; i <= NR && n < rows; i++) {s = l[i]; sub(/^[^,]*/, "&_" r, s); print s; n++}}' \
  "$d/calllist.csv" >"$work/big.csv"
echo "# the big list: $(( $(wc -l <"$work/big.csv") - 1 )) rows"
mkdir "$work/sig"
echo "customer_id,probability" >"$work/sig/old.csv"
echo "x,0.5" >>"$work/sig/old.csv"
cp "$work/sig/old.csv" "$work/old.orig"
# the run that is left alone replaces the list; its size sets "the middle of the write" below
expect_code "the same score, not interrupted" 0 "$cli" score --model "$work/m.bin" --data "$work/big.csv" \
  --out "$work/sig/old.csv" --threads 1
[ "$(wc -l <"$work/sig/old.csv")" = "$(wc -l <"$work/big.csv")" ] && ok "the list replaced: rows in = rows out" || no "the full list"
no_temporaries "the full run" "$work/sig"
half_bytes=$(( $(stat -c %s "$work/sig/old.csv") / 2 ))
echo "# the full list: $(stat -c %s "$work/sig/old.csv") bytes; the middle of the write: past $half_bytes"
cp "$work/old.orig" "$work/sig/old.csv"
# kill_at NAME SIGNAL WHEN: WHEN is a number of seconds, "tmp" (as soon as the temporary file appears) or
# "half" (once the temporary file has grown past half the full list, the middle of the write)
kill_at() {
  local name=$1 sig=$2 when=$3
  # a background job of a script starts with SIGINT ignored (and the program keeps an ignored signal
  # ignored): env gives it the default disposition back
  env --default-signal="$sig" "$cli" score --model "$work/m.bin" --data "$work/big.csv" --out "$work/sig/old.csv" \
    --threads 1 >/dev/null 2>"$work/sig.err" &
  local pid=$! t=0
  case $when in
    tmp | half)
      while kill -0 "$pid" 2>/dev/null && [ "$t" -lt 6000 ]; do
        local f
        f=$(ls "$work"/sig/old.csv.tmp.* 2>/dev/null | head -n 1)
        if [ -n "$f" ] && { [ "$when" = tmp ] || [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -gt "$half_bytes" ]; }; then break; fi
        sleep 0.01; t=$((t + 1))
      done ;;
    *) sleep "$when" ;;
  esac
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid"
  local rc=$? want=$((128 + $(kill -l "$sig")))
  if [ "$rc" = 0 ]; then
    echo "# $name: the score finished before the signal (a fast machine): nothing to check"
  else
    signalled=$((signalled + 1))
    [ "$rc" = "$want" ] && ok "$name: ended by SIG$sig" || no "$name: exit $rc, wanted $want: $(tail -n 2 "$work/sig.err")"
    cmp -s "$work/sig/old.csv" "$work/old.orig" && ok "$name: the old list is intact" || no "$name: the old list changed"
    no_temporaries "$name" "$work/sig"
  fi
  cp "$work/old.orig" "$work/sig/old.csv"
}
signalled=0
kill_at "SIGTERM while reading" TERM 0.3
kill_at "SIGTERM as the write starts" TERM tmp
kill_at "SIGTERM in the middle of the write" TERM half
kill_at "SIGINT in the middle of the write" INT half
kill_at "SIGHUP as the write starts" HUP tmp 2>/dev/null
[ "$signalled" -ge 4 ] && ok "$signalled of 5 signals arrived before the score ended" ||
  no "only $signalled of 5 signals arrived before the score ended"

finish
