#!/usr/bin/env bash
# Faults the program must survive (issue 18): hostile inputs (/dev/zero as a model or a recipe, a
# directory, a recipe with a byte order mark, an open quote that takes in the rest of the file),
# memory running out and a file-size limit.
#
# Memory: `ulimit -v` sweeps of train (the default recipe, which fits every member), score and
# explain (its model), contact fit and plan on a small demo, from a limit too small to load the
# program up to the first that is enough, in 10 MB steps.  Every run must
# end by itself within the timeout (no hang: OpenBLAS's allocator, used before, retried forever,
# and its workers blocked the exit), with exit 0 or exit 6 and "out of memory" (no signal: an
# uncaught std::bad_alloc aborted; no exit 1 from libgomp failing to start a thread; no "corrupted
# model file" for a model that was fine).  About 10 s on two idle cores (Release), and the sweeps
# are skipped under AddressSanitizer.
# usage: tests/fault_test.sh PROPENSITY_CLI BUILD_DIR
set -uo pipefail
cli=$1
src_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prop-fault.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$src_dir/tests/harness.sh"
# ctest runs two tests at once on two cores: OpenMP threads that spin while they wait (libgomp's
# default) can then stall a run for tens of seconds, which the timeouts below would call a hang.
export OMP_WAIT_POLICY=passive

expect_code "gen" 0 "$cli" gen --out-dir "$work/demo" --customers 1000 --months 3 --seed 5
train=(train --data "$work/demo/history.csv" --target accepted --id customer_id --ignore installment_amount
       --connected connected --time-col month)
expect_code "train the demo recipe" 0 "$cli" "${train[@]}" --out "$work/m.bin"

# ---- hostile inputs --------------------------------------------------------------------------------
start=$(date +%s%N)
expect_code "--model /dev/zero" 3 "$cli" score --model /dev/zero --data "$work/demo/calllist.csv" --out "$work/o.csv"
has "/dev/zero: not a model" "$work/err.txt" "/dev/zero: not a propensity model file"
expect_code "--recipe /dev/zero" 5 "$cli" "${train[@]}" --recipe /dev/zero --out "$work/x.bin"
has "/dev/zero: a recipe is at most 1 MiB" "$work/err.txt" "a recipe is at most 1048576 bytes"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -lt 5000 ] && ok "/dev/zero refused at once (${elapsed_ms} ms)" || no "/dev/zero took ${elapsed_ms} ms"
expect_code "--model a directory" 5 "$cli" score --model "$work/demo" --data "$work/demo/calllist.csv" --out "$work/o.csv"
has "directory named" "$work/err.txt" "cannot read a model file from a directory"
printf '\xef\xbb\xbf{"members": [{"name": "logistic"}]}\n' >"$work/bom.json"
expect_code "a recipe with a byte order mark" 0 "$cli" "${train[@]}" --recipe "$work/bom.json" --out "$work/bom.bin"
{ head -n 3 "$work/demo/calllist.csv"; sed -n 4p "$work/demo/calllist.csv" | sed 's/,M,/,"M,/; s/,F,/,"F,/';
  sed -n '5,$p' "$work/demo/calllist.csv"; } >"$work/open_quote.csv"
expect_code "score a list with an open quote" 0 "$cli" score --model "$work/m.bin" --data "$work/open_quote.csv" \
  --out "$work/oq.csv"
lines=$(wc -l <"$work/open_quote.csv")
has "the open quote's reason: its line and the lines it took in" "$work/oq.csv" \
  "open_quote.csv:3: unterminated quoted field (column 'gender'): the row starts on line 4 and took in every line to the end of the file, $((lines - 3)) lines (4 to $lines)"

# ---- memory: ulimit -v sweeps ------------------------------------------------------------------------
# sweep NAME COMMAND...: from 10 MB up in 10 MB steps until the command succeeds (at most 1,500 MB)
sweep() {
  local name=$1 mb=10 loaded=0 bad=0 trail=""; shift
  while [ "$mb" -le 1500 ]; do
    (ulimit -v $((mb * 1024)); exec timeout -k 5 60 "$@") >"$work/sw.out" 2>"$work/sw.err"
    local rc=$?
    trail="$trail $mb:$rc"
    if [ "$rc" = 127 ] && [ "$loaded" = 0 ] && grep -q "error while loading shared libraries" "$work/sw.err"; then
      : # the dynamic loader could not map the program's libraries: too little to start at all
    elif [ "$rc" = 0 ]; then
      break
    elif [ "$rc" = 6 ] && grep -q "(out of memory)" "$work/sw.err"; then
      loaded=1
    else
      loaded=1 bad=1
      local why="exit $rc"
      [ "$rc" -gt 128 ] && why="signal $(kill -l $((rc - 128)) 2>/dev/null)"
      [ "$rc" = 124 ] && why="hung (timeout)"
      no "$name under ulimit -v $mb MB: $why: $(tail -n 2 "$work/sw.err" | tr '\n' ' ')"
    fi
    mb=$((mb + 10))
  done
  echo "# $name: MB:exit$trail"
  [[ "$trail" == " 10:127 "* ]] && ok "$name: 10 MB is too little to load the program" ||
    no "$name: the sweep did not start from a failed load:$trail"
  [ "$rc" = 0 ] && ok "$name: succeeds from $mb MB" || no "$name: never succeeded up to 1,500 MB"
  [ "$bad" = 0 ] && ok "$name: every run below that ended with exit 6, out of memory" || true
}
if grep -qa __asan_init "$cli"; then
  echo "# ulimit -v sweeps skipped: AddressSanitizer reserves terabytes of address space, which ulimit -v forbids"
else
  sweep "train" "$cli" "${train[@]}" --out "$work/sweep.bin"
  sweep "score" "$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/sweep.csv"
  sweep "explain" "$cli" explain --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/sweep.csv"
  contact=(contact fit --history "$work/demo/contact_history.csv" --id customer_id --time time --channel channel
           --outcome outcome --positive connected --data "$work/demo/customers.csv" --segment-cols age_band,plans)
  sweep "contact fit" "$cli" "${contact[@]}" --out "$work/sweep.contact"
  expect_code "contact fit" 0 "$cli" "${contact[@]}" --out "$work/c.model"
  sweep "plan" "$cli" plan --model "$work/m.bin" --contact "$work/c.model" --policy "$work/demo/policy.json" \
    --data "$work/demo/calllist.csv" --out "$work/sweep.csv"
fi

# ---- a file-size limit -----------------------------------------------------------------------------------
"$cli" score --model "$work/m.bin" --data "$work/demo/calllist.csv" --out "$work/list.csv" 2>/dev/null
cp "$work/list.csv" "$work/list.orig"
expect_code "score under ulimit -f 16 (KB)" 5 bash -c 'ulimit -f 16; exec "$@"' _ "$cli" score --model "$work/m.bin" \
  --data "$work/demo/calllist.csv" --out "$work/list.csv"
has "ulimit -f: the write error named" "$work/err.txt" "list.csv: row 1001: write failed: File too large"
cmp -s "$work/list.csv" "$work/list.orig" && ok "ulimit -f: the old list intact" || no "ulimit -f: the old list changed"
ls "$work"/list.csv.tmp.* >/dev/null 2>&1 && no "ulimit -f: a temporary file left" || ok "ulimit -f: no temporary file left"
expect_code "train under ulimit -f 16 (KB)" 5 bash -c 'ulimit -f 16; exec "$@"' _ "$cli" "${train[@]}" --out "$work/m.bin"
ls "$work"/m.bin.tmp.* >/dev/null 2>&1 && no "ulimit -f: a temporary model file left" || ok "ulimit -f: no temporary model file left"
"$cli" info --model "$work/m.bin" >/dev/null 2>&1 && ok "ulimit -f: the old model intact" || no "ulimit -f: the old model damaged"

finish
