#!/usr/bin/python3
"""Markdown tables for bench/README.md from the JSON reports of bench/peer/peer.py.

Usage: /usr/bin/python3 bench/peer/tables.py RUN1.json [RUN2.json ...]

Prints (1) the batch, training and AUC figures of the ensemble per data set over all runs given
(median, then every run in order), (2) the per-data-set tables of the last run: every model's
AUC, fit time, batch rate and single-row latency on both sides, the ensemble's members, calibration
and band table, and (3) the last run's list of the issue's targets, met or not.  Nothing is computed here that peer.py did not measure; the ratios are peer.py's.
"""
import json
import statistics
import sys


def rate(v):
    """Rows per second the way the README writes them: 4.52M, 627.9k, 812."""
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def num(v, spec):
    return "–" if v is None else format(v, spec)


def series(values, spec):
    """median (run 1, run 2, ...) of the values present."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    med = format(statistics.median(vals), spec)
    return med if len(values) == 1 else f"{med} ({', '.join(num(v, spec) for v in values)})"


def model_row(runs, ds, model):
    return [next(r for r in run["datasets"][ds]["peer"] if r["model"] == model) for run in runs]


def summary(runs):
    names = list(runs[-1]["datasets"])
    print("| figure (ensemble, median of the runs, then each run) | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    lines = [
        ("batch rows/s, ours over scikit-learn's vote", "batch_speedup", ".1f", "×"),
        ("training, scikit-learn's seconds over ours", "fit_speedup", ".1f", "×"),
        ("AUC, ours minus scikit-learn's", "auc_delta", "+.4f", ""),
        ("single-row latency p50, scikit-learn's over ours", "latency_speedup", ".0f", "×"),
    ]
    for label, key, spec, unit in lines:
        cells = []
        for ds in names:
            rows = model_row(runs, ds, "ensemble")
            cells.append(series([r[key] for r in rows], spec) + (unit if rows else ""))
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for ds in names:
        rows = model_row(runs, ds, "ensemble")
        cells.append(series([r["ours"]["latency_p99_us"] for r in rows], ".1f") + " µs")
    print("| our single-row latency p99 | " + " | ".join(cells) + " |")


def per_dataset(run):
    for ds, r in run["datasets"].items():
        enc = r["encoded_columns"]
        print(f"\n**{ds}** — {r['train_rows']} train / {r['test_rows']} test rows ({r['test_positives']} positive), "
              f"{r['split']}; encoded columns ours {enc['ours']}, scikit-learn {enc['sklearn']}\n")
        print("| model | AUC ours | AUC sklearn | Δ | fit s ours | fit s sklearn | fit × | batch rows/s ours | sklearn "
              "| batch × | p50 µs ours | sklearn | latency × |")
        print("|---" * 13 + "|")
        for row in r["peer"]:
            o, s = row["ours"], row["sklearn"]
            print(f"| {row['model']} | {o['auc']:.4f} | {s['auc']:.4f} | {row['auc_delta']:+.4f} | "
                  f"{o['fit_seconds']:.3f} | {s['fit_seconds']:.3f} | {num(row['fit_speedup'], '.1f')} | "
                  f"{rate(o['predict_rows_per_second'])} | {rate(s['predict_rows_per_second'])} | "
                  f"{num(row['batch_speedup'], '.1f')} | {o['latency_p50_us']:.1f} | {s['latency_p50_us']:.1f} | "
                  f"{num(row['latency_speedup'], '.0f')} |")
        e = r["ensemble"]
        members = ", ".join(f"{m['name']} {m['weight']:.3f}" for m in e["members"])
        print(f"\nEnsemble kept (ours): {members}; scikit-learn's own OOF top-{len(e['members'])}: "
              f"{', '.join(e['sklearn_own_top_k'])}. ECE before → after calibration: ours "
              f"{num(e['ours']['ece_before'], '.4f')} → {e['ours']['ece_after']:.4f}, scikit-learn "
              f"{e['sklearn']['ece_before']:.4f} → {e['sklearn']['ece_after']:.4f}. Top-30% capture: ours "
              f"{e['ours']['capture_30']:.3f}, scikit-learn {e['sklearn']['capture_30']:.3f}.\n")
        print("| band | range | rows ours | rate ours | in range | rows sklearn | rate sklearn | in range |")
        print("|---" * 8 + "|")

        def yn(v):
            return "–" if v is None else ("yes" if v else "**no**")

        for bo, bs in zip(e["bands"]["ours"], e["bands"]["sklearn"]):
            print(f"| {bo['band']} | {bo['lo']:.1f}–{bo['hi']:.1f} | {bo['count']} | {num(bo['success_rate'], '.3f')} | "
                  f"{yn(bo['in_range'])} | {bs['count']} | {num(bs['success_rate'], '.3f')} | {yn(bs['in_range'])} |")


def target_list(run):
    print("\n| data set | target | value | goal | met | note |")
    print("|---" * 6 + "|")
    for t in run["targets"]:
        unit = "" if t["kind"] == "auc_delta" else "×"
        value = num(t["value"], "+.4f" if t["kind"] == "auc_delta" else ".2f")
        print(f"| {t['dataset']} | {t['target']} | {value}{unit} | {t['goal']}{unit} | "
              f"{'yes' if t['met'] else '**no**'} | {t['note']} |")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs = [json.load(open(p)) for p in sys.argv[1:]]
    m = runs[-1]["machine"]
    print(f"{len(runs)} run(s), {', '.join(r['date'] + ' ' + r['library_version'] for r in runs)}; "
          f"{m['cpu_model']}, {m['cores']} cores, {m['threads_used']} threads; Python {m['python']}, numpy "
          f"{m['numpy']}, pandas {m['pandas']}, scikit-learn {m['sklearn']}, xgboost {m['xgboost']}; load average "
          "before each data set: "
          + ", ".join(f"{r['datasets'][d]['load_average']['before']}" for r in runs for d in r["datasets"]) + "\n")
    summary(runs)
    per_dataset(runs[-1])
    target_list(runs[-1])


if __name__ == "__main__":
    main()
