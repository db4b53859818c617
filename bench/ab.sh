#!/bin/bash
# bench/ab.sh: two commits of the library side by side, in alternating processes.
#
#   bench/ab.sh REV_A REV_B [--rounds N] [--threads T] [--max-rows N] [--only WHAT] [--runs R]
#
# Builds bench_speed at both commits (Release, in a temporary folder), trains the setup once (with
# REV_A's program; both read the same model files), then runs `bench_speed --only WHAT` N times for each
# commit, A and B in turn, so that both see the same machine states.  It prints, for every measured size,
# each round's ratio B/A of rows per second (each process's best run: the one least disturbed by the
# rest of the machine) and their median, and whether the two commits' outputs are the same bits
# (bench_speed's FNV-1a fingerprint of each member's output).  Defaults: 7 rounds, 2 threads,
# --max-rows 100000, --only member:random_forest, --runs 5.  `bench/ab.sh X X` (a commit against
# itself) shows the spread to expect from the machine alone.
#
# Why: on a shared machine the absolute figures of one run move by tens of percent from one minute to
# the next (bench/README.md, "Peer comparison"); the ratio of two programs measured in the same round
# moves much less.  Benchmarks are not tests: nothing registers this with ctest.
set -euo pipefail

usage() { sed -n '3,4p' "$0" >&2; exit 1; }
[ $# -ge 2 ] || usage
rev_a=$1 rev_b=$2
shift 2
rounds=7 threads=2 max_rows=100000 only=member:random_forest runs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2 ;;
    --threads) threads=$2 ;;
    --max-rows) max_rows=$2 ;;
    --only) only=$2 ;;
    --runs) runs=$2 ;;
    *) usage ;;
  esac
  shift 2
done

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$tmp/a" >/dev/null 2>&1 || true;
      git -C "$repo" worktree remove --force "$tmp/b" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

for side in a b; do
  rev=$rev_a
  [ $side = b ] && rev=$rev_b
  git -C "$repo" worktree add --detach "$tmp/$side" "$rev" >/dev/null
  echo "[ab] building bench_speed at $(git -C "$tmp/$side" rev-parse --short HEAD) ($side)" >&2
  cmake -S "$tmp/$side" -B "$tmp/$side/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tmp/$side/build" -j"$(nproc)" --target bench_speed >/dev/null
done

work=$tmp/work
mkdir -p "$work" "$tmp/out"
for r in $(seq 1 "$rounds"); do
  for side in a b; do
    reuse=1
    [ "$r" = 1 ] && [ $side = a ] && reuse=0
    echo "[ab] round $r/$rounds: $side" >&2
    "$tmp/$side/build/bench/bench_speed" --threads "$threads" --runs "$runs" --max-rows "$max_rows" \
      --only "$only" --work-dir "$work" --reuse $reuse --json "$tmp/out/$side$r.json" >/dev/null 2>&1
  done
done

/usr/bin/python3 - "$tmp/out" "$rounds" "$rev_a" "$rev_b" <<'EOF'
import json, statistics, sys
out, rounds, rev_a, rev_b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def phases(path):
    r = json.load(open(path))
    for key in ("pipeline", "members"):
        v = r.get(key)
        for ph in (v if isinstance(v, list) else [v] if v else []):
            yield ph

rate, fnv = {}, {}
for side in "ab":
    for k in range(1, rounds + 1):
        for ph in phases(f"{out}/{side}{k}.json"):
            name = ph.get("name", ph.get("phase"))
            fnv[(side, name)] = ph.get("output_fnv1a")
            for t in ph.get("throughput", []):
                # the best of the process's runs: the one least disturbed by the rest of the machine
                best = min(t.get("run_seconds_per_call") or [t["median_seconds_per_call"]])
                rate.setdefault((name, t["rows"], t["threads"]), {}).setdefault(side, []).append(t["rows"] / best)

print(f"B/A, rows per second (best run of each process), {rounds} rounds (A = {rev_a}, B = {rev_b}); "
      "medians, then the ratio: median of the per-round ratios")
for (name, rows, thr), v in sorted(rate.items()):
    ratios = [b / a for a, b in zip(v.get("a", []), v.get("b", []))]
    if not ratios:
        continue
    print(f"  {name:14s} {rows:>8d} rows {thr} thr  A median {statistics.median(v['a']):>12,.0f}  "
          f"B median {statistics.median(v['b']):>12,.0f}  ratio {statistics.median(ratios):.3f}  "
          f"(rounds: {' '.join(f'{x:.2f}' for x in ratios)})")
for name in sorted({n for _, n in fnv}):
    a, b = fnv.get(("a", name)), fnv.get(("b", name))
    same = "same bits" if a is not None and a == b else "OUTPUTS DIFFER" if a is not None else "no fingerprint"
    print(f"  {name}: outputs {same}")
EOF
