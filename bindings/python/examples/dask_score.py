"""Score a call list with Dask, in parallel over worker processes, and check it against one process.

    # everything made here: demo data (library generator), a model (the small test recipe), a local
    # cluster of 2 worker processes
    /usr/bin/python3 bindings/python/examples/dask_score.py

    # your own model and files, on a running cluster (the model path must exist on every worker,
    # or pass --scatter to ship the model's bytes to the workers instead)
    /usr/bin/python3 bindings/python/examples/dask_score.py --model /shared/installment.model \\
        --data '/shared/calllists/2024-06-*.csv' --scheduler tcp://scheduler:8786 --out scores.csv

It prints the wall time of the Dask run and of single-process scoring of the same rows, and
whether the two agree row for row.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from the source tree without installing

import dask.dataframe as dd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import propensity  # noqa: E402
from propensity.dask import score_dask  # noqa: E402

CSV_OPTS = dict(float_precision="round_trip", keep_default_na=False, na_values=["NA", ""])


def make_demo(work, customers):
    """Demo history and call list from the library's generator, and a model trained on the history."""
    hist, calls = work / "history.csv", work / "calllist.csv"
    propensity.write_demo_csv(hist, seed=11, customers_per_month=2000, months=3)
    propensity.write_demo_csv(calls, seed=11, customers_per_month=customers, months=1, first_month=4,
                              with_outcomes=False)
    recipe = HERE.parents[2] / "tests" / "recipes" / "small.json"
    m = propensity.Model.train(pd.read_csv(hist, **CSV_OPTS), target="accepted", id="customer_id",
                               ignore=["installment_amount"], connected="connected", time_col="month",
                               recipe=str(recipe) if recipe.exists() else None)
    path = work / "demo.model"
    m.save(path)
    return path, str(calls)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="model file (default: train one on demo data)")
    ap.add_argument("--data", help="CSV file(s), a glob dask understands (default: a demo call list)")
    ap.add_argument("--customers", type=int, default=200_000, help="rows of the demo call list")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    ap.add_argument("--workers", type=int, default=2, help="local cluster worker processes")
    ap.add_argument("--blocksize", default="8MB", help="CSV bytes per partition")
    ap.add_argument("--scatter", action="store_true", help="ship the model bytes instead of sharing its path")
    ap.add_argument("--out", help="write id, probability, band here (CSV)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="prop-dask.") as tmp:
        model_path, data = (args.model, args.data) if args.model and args.data else make_demo(Path(tmp),
                                                                                              args.customers)
        model = propensity.Model.load(model_path)
        idcol = model.id_column
        dtypes = {idcol: str} if idcol else {}

        if args.scheduler:
            client, cluster = Client(args.scheduler), None
        else:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            ddf = dd.read_csv(data, blocksize=args.blocksize, dtype=dtypes, assume_missing=True, **CSV_OPTS)
            ref = client.scatter(Path(model_path).read_bytes(), broadcast=True) if args.scatter \
                else os.path.abspath(model_path)
            keep = [idcol] if idcol else []
            t_dask = []
            for _ in range(2):  # cold (workers import propensity, load library and model), then warm
                t0 = time.perf_counter()
                scores = score_dask(ddf, ref, keep=keep, ignore_extra=True).compute()
                t_dask.append(time.perf_counter() - t0)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

        # the same rows in this process, one thread per core inside the library
        t0 = time.perf_counter()
        pdf = pd.concat([pd.read_csv(f, dtype=dtypes, **CSV_OPTS) for f in sorted(dd_files(data))],
                        ignore_index=True)
        t_read = time.perf_counter() - t0
        prob, band, _ = model.score(pdf, ignore_extra=True)
        t_single = time.perf_counter() - t0

        same = len(scores) == len(prob) and np.array_equal(scores["probability"].to_numpy(), prob,
                                                            equal_nan=True) and \
            np.array_equal(scores["band"].to_numpy(), band)
        print(f"{len(scores)} rows in {ddf.npartitions} partitions")
        print(f"dask ({'scheduler ' + args.scheduler if args.scheduler else f'{args.workers} local worker processes'}"
              f", read_csv included): first run {t_dask[0]:.2f} s, second run {t_dask[1]:.2f} s")
        print(f"single process (read_csv included): {t_single:.2f} s (read_csv {t_read:.2f} s, scoring with "
              f"{os.cpu_count()} cores {t_single - t_read:.2f} s)")
        print(f"row for row identical: {same}")
        if args.out:
            scores.to_csv(args.out, index=False, float_format="%.17g")
        return 0 if same else 1


def dd_files(pattern):
    import glob
    files = glob.glob(pattern)
    return files if files else [pattern]


if __name__ == "__main__":
    sys.exit(main())
