"""Scoring throughput from Python against the C library called directly and against the CLI.

    /usr/bin/python3 bindings/python/examples/throughput.py [--rows 1000000] [--model M] [--cli PATH]

Times, on the same rows (median of --repeat runs):
  c-call     prop_model_predict_dense through one bare ctypes call on a float32 matrix already in
             memory (no Python work around it): the library's own time;
  array      Model.predict_proba on the same float32 array (checks, output allocation, the call);
  dataframe  Model.predict_proba on a DataFrame of the rows (frame built column by column);
  cli        `propensity score` on the rows as CSV (includes CSV parsing, ranking and writing).
The binding's overhead is array - c-call.
"""

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import propensity  # noqa: E402
from propensity import _lib  # noqa: E402

CSV = dict(float_precision="round_trip", keep_default_na=False, na_values=["NA", ""])


def timed(fn, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--model", help="model file (default: train the small test recipe on demo data)")
    ap.add_argument("--cli", default=str(HERE.parents[2] / "build" / "release" / "bin" / "propensity"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nthread", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="prop-tp.") as tmp:
        tmp = Path(tmp)
        if args.model:
            model_path = Path(args.model)
        else:
            hist = tmp / "history.csv"
            propensity.write_demo_csv(hist, seed=3, customers_per_month=4000, months=3)
            m = propensity.Model.train(pd.read_csv(hist, **CSV), target="accepted", id="customer_id",
                                       ignore=["installment_amount"], connected="connected", time_col="month",
                                       recipe=str(HERE.parents[2] / "tests" / "recipes" / "small.json"))
            model_path = tmp / "m.model"
            m.save(model_path)
        m = propensity.Model.load(model_path)
        calls = tmp / "calls.csv"
        propensity.write_demo_csv(calls, seed=3, customers_per_month=args.rows, months=1, first_month=4,
                                  with_outcomes=False)
        df = pd.read_csv(calls, dtype={"customer_id": str}, **CSV)
        X = np.ascontiguousarray(m.to_dense(df), dtype=np.float32)
        n, k = X.shape
        print(f"{n} rows x {k} inputs; members {m.members}; library {propensity.library_path()}")

        L, h = _lib.lib(), m._handle()
        opt = _lib.PredictOptions()
        L.prop_predict_options_default(ctypes.byref(opt))
        opt.nthread = args.nthread
        out = np.empty(n)
        fn = L.prop_model_predict_dense
        xp, op, ob = X.ctypes.data, out.ctypes.data, ctypes.byref(opt)

        def c_call():
            fn(h, xp, _lib.FLOAT32, n, k, k, op, None, None, ob)

        cases = {"c-call": c_call,
                 "array": lambda: m.predict_proba(X, nthread=args.nthread),
                 "dataframe": lambda: m.predict_proba(df, ignore_extra=True, nthread=args.nthread)}
        times = {name: [] for name in cases}
        for _ in range(args.repeat):  # interleaved, so drift in machine load hits every case alike
            for name, f in cases.items():
                times[name].append(timed(f, 1)[0])
        res = {name: (statistics.median(t), min(t)) for name, t in times.items()}
        assert np.array_equal(m.predict_proba(X, nthread=args.nthread), out)
        if os.access(args.cli, os.X_OK):
            cmd = [args.cli, "score", "--model", str(model_path), "--data", str(calls), "--out",
                   str(tmp / "ranked.csv")]
            if args.nthread:
                cmd += ["--threads", str(args.nthread)]
            res["cli"] = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), max(1, args.repeat // 2))
        base = res["c-call"][0]
        for name, (med, best) in res.items():
            print(f"{name:10s} median {med * 1e3:9.1f} ms  best {best * 1e3:9.1f} ms  "
                  f"{n / med / 1e6:6.2f} M rows/s  ({med / base:5.3f} x c-call)")
        print(f"binding overhead (array - c-call): {(res['array'][0] - base) * 1e3:.2f} ms = "
              f"{100 * (res['array'][0] - base) / base:.2f}%")


if __name__ == "__main__":
    main()
