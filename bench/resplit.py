#!/usr/bin/python3
"""Repeated splits: how the ensemble compares with its members, and one vote with another, over many
random train/test splits instead of the one split of the peer comparison.

One command (from the repository root, after a Release build):

    /usr/bin/python3 bench/resplit.py --cli build/release/bin/propensity --seeds 1-10 --out resplit.json

For each data set (bench/data: credit_data, lending_club, german_credit) and each seed it writes a
stratified 70/30 split (the data file's lines copied as they are), then runs
`propensity compare --data train.csv --test-data test.csv` once per variant: per vote in --votes, each
time with models/installment.json changed only in `ensemble.voting`, or per recipe file in --recipes
(NAME=FILE,...: e.g. the default recipe against one with other forest parameters).  Per run it keeps the test AUC of the
ensemble and of every member, the ensemble's ECE and top-30% capture, and whether the band success
rates are non-decreasing.  It prints, per data set and vote: the mean ensemble AUC, the ensemble minus
the best member (mean, lowest, and in how many splits it is within 0.005 or better), how often the
bands are non-decreasing, the mean ECE; and for two variants, the paired difference of their ensemble
AUCs over the same splits.

Why: on a 300-row test set (german_credit) the AUC's standard error is about 0.025, so one split
cannot tell two ways of voting apart, nor say whether the ensemble "beats the best member".  The
same split for every vote keeps the comparison paired.  A benchmark, not a test (about 4 minutes
for 10 seeds on 2 cores).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

SETS = {
    "credit_data": ("Status", "bad"),
    "lending_club": ("Class", "bad"),
    "german_credit": ("Class", "Bad"),
}


def seeds_of(text):
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def split_lines(path, target, seed, test_frac=0.3):
    """Header and (train, test) lines: a stratified split with numpy's seeded generator."""
    with open(path, newline="") as fh:
        lines = fh.read().splitlines(keepends=True)
    header, body = lines[0], [ln for ln in lines[1:] if ln.strip()]
    col = next(csv.reader([header])).index(target)
    labels = np.array([next(csv.reader([ln]))[col] for ln in body])
    rng = np.random.default_rng(seed)
    test = np.zeros(len(body), dtype=bool)
    for value in np.unique(labels):
        idx = np.flatnonzero(labels == value)
        rng.shuffle(idx)
        test[idx[: int(round(test_frac * len(idx)))]] = True
    return header, [ln for ln, t in zip(body, test) if not t], [ln for ln, t in zip(body, test) if t]


def monotone(bands):
    r = [b["success_rate"] for b in bands if b.get("count") and b.get("success_rate") is not None]
    return all(r[i] <= r[i + 1] for i in range(len(r) - 1))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="the propensity program (a Release build)")
    ap.add_argument("--seeds", default="1-10", help="split seeds, as N or A-B (default 1-10)")
    ap.add_argument("--datasets", default=",".join(SETS), help="comma-separated (default: all three)")
    ap.add_argument("--votes", default="logit,soft", help="ensemble.voting values to compare (default logit,soft)")
    ap.add_argument("--recipes", default=None,
                    help="NAME=FILE,... recipe files to compare instead of votes (e.g. default=models/installment.json)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="JSON file for every run's figures")
    ap.add_argument("--root", default=root, help="repository root (default: one folder up from this script)")
    a = ap.parse_args()
    with open(os.path.join(a.root, "models/installment.json")) as fh:
        base = json.load(fh)
    work = tempfile.mkdtemp(prefix="prop-resplit.")
    recipes = {}
    if a.recipes:
        for item in a.recipes.split(","):
            name, sep, path = item.partition("=")
            if not sep or not name or not os.path.isfile(path):
                sys.exit(f"resplit: --recipes wants NAME=FILE with an existing file, got {item!r}")
            recipes[name] = os.path.abspath(path)
    else:
        for vote in a.votes.split(","):
            r = json.loads(json.dumps(base))
            r["ensemble"]["voting"] = vote
            recipes[vote] = os.path.join(work, f"recipe_{vote}.json")
            with open(recipes[vote], "w") as fh:
                json.dump(r, fh)
    runs = []
    for ds in a.datasets.split(","):
        target, positive = SETS[ds]
        for seed in seeds_of(a.seeds):
            header, tr, te = split_lines(os.path.join(a.root, "bench/data", f"{ds}.csv"), target, seed)
            d = os.path.join(work, f"{ds}_{seed}")
            os.makedirs(d, exist_ok=True)
            for name, rows in (("train.csv", tr), ("test.csv", te)):
                with open(os.path.join(d, name), "w", newline="") as fh:
                    fh.write(header)
                    fh.writelines(rows)
            for vote, rp in recipes.items():
                js = os.path.join(d, f"{vote}.json")
                cmd = [a.cli, "compare", "--data", os.path.join(d, "train.csv"), "--test-data",
                       os.path.join(d, "test.csv"), "--target", target, "--positive", positive, "--threads",
                       str(a.threads), "--no-backtest", "--latency-runs", "5", "--recipe", rp, "--json", js,
                       "--html", os.path.join(d, "report.html")]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"resplit: {' '.join(cmd)} failed:\n{p.stderr}")
                with open(js) as fh:
                    rep = json.load(fh)
                models = {m["name"]: m for m in rep["models"]}
                ens = models.pop("ensemble")
                best = max(models, key=lambda n: models[n]["auc"])
                runs.append({"dataset": ds, "seed": seed, "vote": vote, "test_rows": len(te),
                             "ensemble_auc": ens["auc"], "best_member": best, "best_member_auc": models[best]["auc"],
                             "ensemble_minus_best": ens["auc"] - models[best]["auc"], "ece": ens["ece"],
                             "capture_30": ens["capture_30"], "bands_non_decreasing": monotone(rep["bands"]),
                             "members": [m["name"] for m in ens.get("members", [])],
                             "member_auc": {n: m["auc"] for n, m in models.items()}})
                print(f"{ds:14s} seed {seed:3d} {vote:8s} ensemble {ens['auc']:.4f}  best member {best} "
                      f"{models[best]['auc']:.4f}", file=sys.stderr)
    print(f"\n{'data set':14s} {'variant':8s} {'splits':>6s} {'ens AUC':>8s} {'ens-best':>9s} {'lowest':>8s} "
          f"{'>=-0.005':>9s} {'bands ok':>9s} {'ECE':>7s} {'top30%':>7s}")
    for ds in a.datasets.split(","):
        for vote in recipes:
            rs = [r for r in runs if r["dataset"] == ds and r["vote"] == vote]
            d = np.array([r["ensemble_minus_best"] for r in rs])
            print(f"{ds:14s} {vote:8s} {len(rs):6d} {np.mean([r['ensemble_auc'] for r in rs]):8.4f} {d.mean():+9.4f} "
                  f"{d.min():+8.4f} {int((d >= -0.005).sum()):5d}/{len(rs):<3d} "
                  f"{sum(r['bands_non_decreasing'] for r in rs):5d}/{len(rs):<3d} "
                  f"{np.mean([r['ece'] for r in rs]):7.4f} {np.mean([r['capture_30'] for r in rs]):7.3f}")
    votes = list(recipes)
    if len(votes) == 2:
        v0, v1 = votes
        print(f"\npaired: {v0} minus {v1}, ensemble AUC over the same splits")
        for ds in a.datasets.split(","):
            x = {r["seed"]: r["ensemble_auc"] for r in runs if r["dataset"] == ds and r["vote"] == v0}
            y = {r["seed"]: r["ensemble_auc"] for r in runs if r["dataset"] == ds and r["vote"] == v1}
            diff = np.array([x[s] - y[s] for s in sorted(x) if s in y])
            sd = diff.std(ddof=1) if len(diff) > 1 else 0.0
            print(f"  {ds:14s} mean {diff.mean():+.4f}  sd {sd:.4f}  {v0} higher in {int((diff > 0).sum())} of {len(diff)}")
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as fh:
            json.dump({"seeds": a.seeds, "votes": votes, "recipe": a.recipes or "models/installment.json", "runs": runs}, fh,
                      indent=1)
        os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
