"""Shared test data: demo CSVs from the C CLI, a model trained by the CLI and the CLI's own scores.

Made once per test process (every test module asks get()) in a temporary directory removed at
exit.  The CLI is PROPENSITY_CLI, else <repo>/build/release/bin/propensity."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package, when run from the source tree

import pandas as pd  # noqa: E402

REPO = HERE.parents[2]
RECIPE = REPO / "tests" / "recipes" / "small.json"
HEADER = REPO / "include" / "propensity.h"
# a recipe of two quick members for tests that train several times
FAST_RECIPE = {
    "name": "fast", "seed": 3, "cv_folds": 3,
    "members": [{"name": "logistic", "params": {"C": 1.0}},
                {"name": "decision_tree", "params": {"max_depth": 3, "min_samples_leaf": 10}}],
    "ensemble": {"voting": "soft", "weights": "equal", "selection": "all"},
    "calibration": "platt",
}


def cli_path():
    p = os.environ.get("PROPENSITY_CLI") or str(REPO / "build" / "release" / "bin" / "propensity")
    if not os.access(p, os.X_OK):
        raise RuntimeError(f"the propensity CLI is needed for these tests: {p} not found (set PROPENSITY_CLI)")
    return p


def run_cli(*args):
    r = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"propensity {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}")
    return r


def read_csv(path, **kw):
    """A CSV read the way the C reader reads it: exact (round-trip) numbers, only '' and NA missing,
    ids (and the columns of dtype=) as text."""
    dtype = {"customer_id": str, **kw.pop("dtype", {})}
    return pd.read_csv(path, float_precision="round_trip", keep_default_na=False, na_values=["NA", ""],
                       dtype=dtype, **kw)


class Data:
    pass


_lock = threading.Lock()
_data = None


def get():
    global _data
    with _lock:
        if _data is None:
            d = Data()
            d.dir = Path(tempfile.mkdtemp(prefix="prop-py."))
            atexit.register(shutil.rmtree, d.dir, True)
            run_cli("gen", "--out-dir", d.dir / "demo", "--customers", 600, "--months", 3, "--seed", 5)
            d.history = d.dir / "demo" / "history.csv"
            d.latest = d.dir / "demo" / "latest.csv"
            d.calllist = d.dir / "demo" / "calllist.csv"
            d.model = d.dir / "m.bin"
            d.train_args = dict(target="accepted", id="customer_id", ignore=["installment_amount"],
                                connected="connected", time_col="month")
            run_cli("train", "--data", d.history, "--target", "accepted", "--id", "customer_id",
                    "--ignore", "installment_amount", "--connected", "connected", "--time-col", "month",
                    "--recipe", RECIPE, "--out", d.model)
            d.ranked = d.dir / "ranked.csv"
            run_cli("score", "--model", d.model, "--data", d.calllist, "--out", d.ranked, "--order", "input")
            _data = d
        return _data
