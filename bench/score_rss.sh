#!/usr/bin/env bash
# Peak memory and wall time of `propensity score` on long call lists: the default memory budget (the list
# spills sorted runs to a temporary file past 128 MiB and merges them when written) against the list kept
# whole in memory (--memory-mb 0, the behaviour before the budget), side by side, and cmp of their outputs.
#
#   bench/score_rss.sh [BUILD_DIR] [ROWS ...]      (defaults: build/release, 1000000 10000000)
#
# Environment: RUNS (default 3) runs of each variant per size, alternating, medians printed; MODEL=path
# scores with that model file instead of training one; WORK=dir puts the work files there (default: a new
# folder under $TMPDIR or /tmp; the spill file goes to $TMPDIR or /tmp).
#
# Trains the default recipe (models/installment.json) on the demo history (`propensity gen`, seed 42),
# writes the call list of month 7 with ROWS customers (bench_speed --write-calllist: the demo generator's
# month-7 rows, seeded, no outcome columns), and runs `propensity score` under /usr/bin/time -v.  Each
# variant writes its own output; the first run of each size compares them byte for byte (cmp) and checks
# rows in = rows out.  Needs /usr/bin/time (scripts/deps.sh installs Debian's `time`) and about 300 bytes
# of free disk per row (the CSV, two outputs and the spill file).  Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
runs=${RUNS:-3}
cli=$build/bin/propensity
gen=$build/bench/bench_speed
for f in "$cli" "$gen" /usr/bin/time; do
  [ -x "$f" ] || { echo "score_rss.sh: $f not found (build with -DPROP_BUILD_BENCH=ON; scripts/deps.sh installs time)" >&2; exit 2; }
done
tmp=${TMPDIR:-/tmp}
work=${WORK:-$(mktemp -d "$tmp/score_rss.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
largest=0
for n in "${sizes[@]}"; do [ "$n" -gt "$largest" ] && largest=$n; done
need_kb=$((largest * 300 / 1024))
free_kb=$(df -Pk "$work" | awk 'NR == 2 {print $4}')
spill_free_kb=$(df -Pk "$tmp" | awk 'NR == 2 {print $4}')
if [ "$free_kb" -lt "$need_kb" ] || [ "$spill_free_kb" -lt $((largest * 60 / 1024)) ]; then
  echo "score_rss.sh: $((free_kb / 1024)) MB free in $work, $((spill_free_kb / 1024)) MB in $tmp; $largest rows need about $((need_kb / 1024)) MB" >&2
  exit 2
fi

model=${MODEL:-}
if [ -z "$model" ]; then
  "$cli" gen --out-dir "$work/demo" >/dev/null 2>&1
  "$cli" train --data "$work/demo/history.csv" --target accepted --id customer_id --ignore installment_amount \
    --connected connected --time-col month --recipe models/installment.json --threads 2 \
    --out "$work/model" >/dev/null 2>&1
  model=$work/model
fi

# field of /usr/bin/time -v's report: peak RSS in MB, wall time in seconds
rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"; }
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

/usr/bin/time -v "$cli" info --model "$model" >/dev/null 2>"$work/time_info.txt"
echo "propensity score: default recipe on the demo history; call list of month 7; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $runs runs per variant, alternating; the model alone (propensity info): $(rss_mb "$work/time_info.txt") MB"
printf '%10s %8s %-26s %6s %12s %12s  %s\n' rows "file MB" variant "wall s" "rows/s" "max RSS MB" "all runs: RSS MB / wall s"
for n in "${sizes[@]}"; do
  csv=$work/calllist_$n.csv
  "$gen" --write-calllist "$csv" --rows "$n" >/dev/null
  file_mb=$(stat -c %s "$csv" | awk '{printf "%.0f", $1 / 1048576}')
  declare -A rss=() wall=()
  for ((r = 1; r <= runs; r++)); do
    for v in budget memory; do
      flag=()
      [ "$v" = memory ] && flag=(--memory-mb 0)
      /usr/bin/time -v "$cli" score --model "$model" --data "$csv" --out "$work/ranked_$v.csv" --threads 2 "${flag[@]}" \
        >/dev/null 2>"$work/time_$v.txt"
      rss[$v]="${rss[$v]:-} $(rss_mb "$work/time_$v.txt")"
      wall[$v]="${wall[$v]:-} $(wall_s "$work/time_$v.txt")"
    done
    if [ "$r" = 1 ]; then
      lines=$(wc -l <"$work/ranked_budget.csv")
      [ "$lines" -eq $((n + 1)) ] || { echo "score_rss.sh: $n rows in, $((lines - 1)) rows out" >&2; exit 1; }
      if cmp -s "$work/ranked_budget.csv" "$work/ranked_memory.csv"; then same="identical"; else same="DIFFERENT"; fi
    fi
    rm -f "$work/ranked_budget.csv" "$work/ranked_memory.csv"
  done
  for v in budget memory; do
    label=$([ "$v" = budget ] && echo "default (128 MiB)" || echo "in memory (--memory-mb 0)")
    mw=$(echo ${wall[$v]} | median)
    mr=$(echo ${rss[$v]} | median)
    all=$(paste -d/ <(echo ${rss[$v]} | tr ' ' '\n') <(echo ${wall[$v]} | tr ' ' '\n') | paste -sd' ')
    awk -v n="$n" -v f="$file_mb" -v l="$label" -v w="$mw" -v r="$mr" -v a="$all" \
      'BEGIN {printf "%10d %8s %-26s %5.2f %12.0f %12.1f  %s\n", n, f, l, w, (w > 0 ? n / w : 0), r, a}'
  done
  echo "$(printf '%10d' "$n") outputs of the two variants: $same (cmp)"
  unset rss wall
  rm -f "$csv"
done
