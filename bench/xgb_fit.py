#!/usr/bin/python3
"""The xgboost member's fit beside XGBClassifier.fit on the same rows and parameters, one thread, CPU time.

    /usr/bin/python3 bench/xgb_fit.py MODEL DATA --target COL --positive LABEL \
        --bench build/release/bench/bench_xgb_fit [--bench OTHER_BUILD/bench/bench_xgb_fit ...] \
        [--rounds 5] [--runs 7] [--work DIR]

The first --bench program writes the encoded rows, labels and parameters (its --dump) once; then, for
`rounds` rounds, each --bench program (e.g. a base build and a branch build) runs `runs` timed fits in a
process of its own and prints their median, and XGBClassifier.fit runs `runs` timed fits here (after
one warm-up fit), in alternation, so that every side sees the same load of a shared machine.  Each
side's figure per round is the median of its runs (process CPU time: time.process_time here,
CLOCK_PROCESS_CPUTIME_ID in the C program); printed at the end: the median and the range of the rounds.

XGBClassifier: tree_method "hist", n_jobs 1, the member's parameters (bench_xgb_fit's PREFIX.json).  Its
predictions on the rows are compared with the member's: the same bits say the two fits built the same
trees (XGBClassifier bins the rows with a QuantileDMatrix, the member with a DMatrix; both take the same
cuts on these rows when the predictions agree).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import xgboost


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--target", required=True)
    ap.add_argument("--positive", required=True)
    ap.add_argument("--bench", action="append", required=True, help="a bench_xgb_fit program (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--work", default="/tmp/xgb_fit_bench")
    return ap.parse_args()


def run_bench(prog, a, extra):
    cmd = [prog, a.model, a.data, "--target", a.target, "--positive", a.positive, "--runs", str(a.runs)] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"median ([0-9.]+) s CPU.*model bytes ([0-9a-f]+)", out)
    if not m:
        sys.exit("unexpected output of %s: %s" % (prog, out))
    return float(m.group(1)), m.group(2)


def read_dump(prefix):
    with open(prefix + ".bin", "rb") as f:
        n, d = np.frombuffer(f.read(16), dtype="<u8")
        n, d = int(n), int(d)
        X = np.frombuffer(f.read(4 * n * d), dtype="<f4").reshape(n, d)
        y = np.frombuffer(f.read(4 * n), dtype="<f4")
        pred = np.frombuffer(f.read(8 * n), dtype="<f8")
    with open(prefix + ".json") as f:
        params = json.load(f)
    return X, y, pred, params


def classifier(params):
    return xgboost.XGBClassifier(tree_method="hist", n_jobs=1, objective="binary:logistic", eval_metric="logloss",
                                 verbosity=0, **params)


def sklearn_runs(X, y, params, runs):
    t = []
    for _ in range(runs):
        clf = classifier(params)
        a = time.process_time()
        clf.fit(X, y)
        t.append(time.process_time() - a)
    return statistics.median(t)


def main():
    a = parse_args()
    os.makedirs(a.work, exist_ok=True)
    prefix = os.path.join(a.work, "rows")
    run_bench(a.bench[0], a, ["--dump", prefix])
    X, y, pred, params = read_dump(prefix)
    clf = classifier(params)
    clf.fit(X, y)  # warm-up, and the check that both sides fit the same trees
    same = np.array_equal(clf.predict_proba(X)[:, 1].astype(np.float64), pred)
    print("rows %d x %d; parameters %s; XGBClassifier's predictions %s the member's" %
          (X.shape[0], X.shape[1], json.dumps(params), "are bit for bit" if same else "DIFFER from"))
    names = ["bench %d (%s)" % (i, p) for i, p in enumerate(a.bench)] + ["XGBClassifier.fit"]
    res = {k: [] for k in names}
    prints = {}
    for r in range(a.rounds):
        for i, prog in enumerate(a.bench):
            s, fp = run_bench(prog, a, [])
            res[names[i]].append(s)
            prints.setdefault(names[i], set()).add(fp)
        res[names[-1]].append(sklearn_runs(X, y, params, a.runs))
        print("round %d: %s" % (r + 1, "  ".join("%.4f" % res[k][-1] for k in names)), flush=True)
    print("medians of %d rounds (each the median of %d fits), process CPU seconds, 1 thread:" % (a.rounds, a.runs))
    for k in names:
        v = res[k]
        fp = " model bytes %s" % ",".join(sorted(prints[k])) if k in prints else ""
        print("  %-60s %.4f  (%.4f-%.4f)%s" % (k, statistics.median(v), min(v), max(v), fp))


if __name__ == "__main__":
    main()
