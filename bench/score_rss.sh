#!/usr/bin/env bash
# Peak memory and speed of `propensity score` on call lists of growing size.
#
#   bench/score_rss.sh [BUILD_DIR] [ROWS ...]      (defaults: build/release, 100000 1000000)
#
# Trains the default recipe (models/installment.json) on the demo history (`propensity gen`, seed 42),
# writes the call list of month 7 with ROWS customers (bench_speed --write-calllist: the demo
# generator's month-7 rows, no outcome columns), scores it with `propensity score` under
# /usr/bin/time -v and prints rows/s and the maximum resident set size.  `score` streams the file in
# chunks of 65,536 rows and keeps only the output record of each row, so the peak RSS should grow by
# tens of bytes per row, not by the file's size: the last line compares the largest and the smallest
# run.  Needs /usr/bin/time (Debian package `time`).  Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
cli=$build/bin/propensity
gen=$build/bench/bench_speed
for f in "$cli" "$gen" /usr/bin/time; do
  [ -x "$f" ] || { echo "score_rss.sh: $f not found (build with -DPROP_BUILD_BENCH=ON; apt-get install time)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/score_rss.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$cli" gen --out-dir "$work/demo" >/dev/null 2>&1
"$cli" train --data "$work/demo/history.csv" --target accepted --id customer_id --ignore installment_amount \
  --connected connected --time-col month --recipe models/installment.json --threads 2 \
  --out "$work/model" >/dev/null 2>&1

# the model alone: `info` loads it and prints its metadata
/usr/bin/time -v "$cli" info --model "$work/model" >/dev/null 2>"$work/time_info.txt"
base_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time_info.txt")

echo "propensity score: default recipe on the demo history; call list of month 7; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
printf '%10s %10s %9s %12s %12s\n' rows "file MB" "wall s" "rows/s" "max RSS MB"
printf '%10s %10s %9s %12s %12.1f\n' "(model)" - - - "$(echo "$base_kb" | awk '{print $1/1024}')"
first_rows='' first_kb='' last_rows='' last_kb=''
for n in "${sizes[@]}"; do
  csv=$work/calllist_$n.csv
  "$gen" --write-calllist "$csv" --rows "$n"
  /usr/bin/time -v "$cli" score --model "$work/model" --data "$csv" --out "$work/ranked_$n.csv" \
    >/dev/null 2>"$work/time_$n.txt"
  lines=$(wc -l <"$work/ranked_$n.csv")
  [ "$lines" -eq $((n + 1)) ] || { echo "score_rss.sh: $n rows in, $((lines - 1)) rows out" >&2; exit 1; }
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time_$n.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/time_$n.txt")
  mb=$(stat -c %s "$csv" | awk '{printf "%.1f", $1 / 1048576}')
  awk -v n="$n" -v mb="$mb" -v w="$wall" -v kb="$kb" \
    'BEGIN {printf "%10d %10s %9.2f %12.0f %12.1f\n", n, mb, w, (w > 0 ? n / w : 0), kb / 1024}'
  [ -n "$first_rows" ] || { first_rows=$n; first_kb=$kb; }
  last_rows=$n last_kb=$kb
  rm -f "$csv" "$work/ranked_$n.csv"
done
if [ "$last_rows" != "$first_rows" ]; then
  awk -v a="$first_rows" -v b="$last_rows" -v ka="$first_kb" -v kb="$last_kb" 'BEGIN {
    printf "peak RSS grows by %.1f bytes per extra row from %d to %d rows\n", (kb - ka) * 1024 / (b - a), a, b }'
fi
