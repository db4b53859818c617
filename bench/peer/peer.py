#!/usr/bin/python3
"""Peer comparison: propensity against scikit-learn + xgboost on identical rows.

One command (from the repository root, after a Release build):

    /usr/bin/python3 bench/peer/peer.py --cli build/release/bin/propensity --out bench/results/peer.json

For each data set it
  1. writes the training and test rows to CSV files in a work folder: a stratified 70/30 split
     (seed 0) of bench/data/credit_data.csv, lending_club.csv and german_credit.csv, copied line by
     line so both sides read the same bytes; for the demo, `propensity gen` with its defaults, months
     1-5 (history.csv) to train and month 6 (latest.csv) to test, out of time; for the wide categorical
     set, bench/wide.py's rows (generated into the work folder, seeded) split as the real ones;
  2. runs `propensity compare --data train.csv --test-data test.csv` with the default recipe
     (models/installment.json); the ensemble's ECE and AUC before calibration are read from its
     report (`ece_uncalibrated`, `auc_uncalibrated` on the ensemble entry);
  3. builds the scikit-learn equivalent of the same recipe (bench/peer/README.md has the mapping
     table and what is and is not equivalent), fits it on the same training file and measures it on
     the same test file the same way: every member alone on the encoded matrix, then the recipe's
     ensemble (out-of-fold predictions of every member, a VotingClassifier over the members our
     run selected with our weights and the recipe's vote, soft or logit, an IsotonicRegression fitted
     on the out-of-fold vote);
  4. prints the side-by-side tables and writes everything to --out (JSON).

Threads: 2 on both sides by default (--threads): `--threads 2` for the CLI, n_jobs / nthread for
the estimators, and the OpenMP / OpenBLAS pools of the Python process are limited to the same
number.  Single-row latency is one thread on both sides (our members' and scorer's real-time path
is single-threaded; the estimators get n_jobs=1 for it).

The default run is a benchmark, not a test.  `--members-only` is the quick cross-check the
tests run (tests/sklearn_crosscheck_test.sh): every member alone, AUC only (no ensemble, no
throughput or latency), and with `--check TOL` the exit status is 1 when any member's |AUC delta|
exceeds TOL.  `--svc-max-rows N` sets the SVC's max_train_rows on both sides (0: no cap, so both
sides solve the same dual instead of fitting different subsamples).  `--seeds K` compares the
randomised members (xgboost, random_forest) by their mean AUC over K seeds on each side.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True, help="the propensity program (a Release build)")
    ap.add_argument("--out", default=None, help="JSON file to write (required unless --members-only)")
    ap.add_argument("--work", default=None, help="work folder for the splits and reports (default: a temporary one)")
    ap.add_argument("--root", default=root, help="repository root (default: two folders up from this script)")
    ap.add_argument("--datasets", default=None,
                    help="comma-separated subset of credit_data,lending_club,german_credit,demo,wide (default: "
                         "all five; with --members-only the three real ones)")
    ap.add_argument("--threads", type=int, default=2, help="threads on both sides (default 2)")
    ap.add_argument("--latency-runs", type=int, default=2000,
                    help="most single-row calls timed per model on each side (default 2000)")
    ap.add_argument("--latency-budget", type=float, default=2.0,
                    help="scikit-learn side: stop a model's single-row calls after this many seconds, "
                         "once at least 100 were made (default 2)")
    ap.add_argument("--wait-quiet", type=float, default=0.0,
                    help="before each data set, wait up to this many seconds for the 1-minute load average "
                         "to fall below 0.5 (timings on a shared machine; default 0: do not wait)")
    ap.add_argument("--members-only", action="store_true",
                    help="cross-check only: every member's test AUC on both sides; no ensemble, throughput or "
                         "latency on the scikit-learn side (our compare still trains its ensemble, with cv_folds 2)")
    ap.add_argument("--check", type=float, default=None, metavar="TOL",
                    help="exit 1, listing them, when any member's |AUC ours - sklearn| exceeds TOL")
    ap.add_argument("--seeds", type=int, default=1, metavar="K",
                    help="with --members-only: fit the randomised members (xgboost, random_forest) with K seeds on "
                         "both sides (the recipe's seed + 0..K-1) and compare their mean AUCs; a single seed "
                         "compares two draws, and on a small test set one draw can move the AUC by 0.01")
    ap.add_argument("--svc-max-rows", type=int, default=None, metavar="N",
                    help="the SVC's max_train_rows on both sides (written into our recipe; CappedRows reads it "
                         "from our report); 0 = no cap. Default: the recipe's (3000)")
    a = ap.parse_args()
    if a.out is None and not a.members_only:
        ap.error("--out is required (unless --members-only)")
    if a.datasets is None:
        a.datasets = "credit_data,lending_club,german_credit" + ("" if a.members_only else ",demo,wide")
    return a


ARGS = parse_args() if __name__ == "__main__" else None
_T = str(ARGS.threads if ARGS else 2)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _T  # before numpy loads its BLAS; this is a benchmark program, not the library

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import xgboost  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier, VotingClassifier  # noqa: E402
from sklearn.impute import MissingIndicator, SimpleImputer  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

DATASETS = {
    "credit_data": {"file": "bench/data/credit_data.csv", "target": "Status", "positive": "bad"},
    "lending_club": {"file": "bench/data/lending_club.csv", "target": "Class", "positive": "bad"},
    "german_credit": {"file": "bench/data/german_credit.csv", "target": "Class", "positive": "Bad"},
    "demo": {"gen": True, "target": "accepted", "positive": None, "id": "customer_id",
             "ignore": ["installment_amount"], "connected": "connected", "time_col": "month"},
    # generated by bench/wide.py (85 categorical fields of 5-10 levels, ~6% positive), split as the real sets
    "wide": {"script": "bench/wide.py", "target": "purchase", "positive": None},
}
SPLIT_SEED = 0
TEST_FRAC = 0.3
BATCH_RUNS, BATCH_BUDGET = 5, 3.0  # as propensity compare: up to 5 runs, stop after 3 s, median
LATENCY_WARMUP = 20
EQUAL_AUC = 0.01  # members: "equal AUC" for the fit-time targets
ENSEMBLE_AUC = 0.005
MIN_BAND_ROWS = 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    try:
        with open("/proc/loadavg") as fh:
            return float(fh.read().split()[0])
    except (OSError, ValueError):
        return None


def wait_quiet(limit):
    """Wait up to limit seconds for the 1-minute load average to fall below 0.5; the load seen."""
    t0 = time.time()
    while limit > 0 and (loadavg() or 0) >= 0.5 and time.time() - t0 < limit:
        time.sleep(10)
    return loadavg()


# ---- estimators that carry a piece of our recipe scikit-learn has no parameter for ---------------
class CappedRows(BaseEstimator, ClassifierMixin):
    """Fits `estimator` on a stratified, seeded subsample of at most max_rows rows (our SVC's
    max_train_rows: the dual solver is quadratic in the rows); predicts with it."""

    def __init__(self, estimator=None, max_rows=0, random_state=0):
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y)
        if self.max_rows and len(y) > self.max_rows:
            keep, _ = train_test_split(np.arange(len(y)), train_size=self.max_rows, stratify=y,
                                       random_state=self.random_state)
            X, y = X[np.sort(keep)], y[np.sort(keep)]
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.estimator_.predict(X)


class ClassWeightedKNN(KNeighborsClassifier):
    """KNeighborsClassifier whose neighbours' votes are multiplied by balanced class weights
    n / (2 n_c), as our knn member does under imbalance "weights" (scikit-learn's KNN has no
    class_weight).  For uniform weights this is a monotone map of the positive share: AUC and
    neighbours are unchanged, only the probability scale (which the soft vote sees) moves."""

    def fit(self, X, y):
        super().fit(X, y)
        counts = np.bincount(np.searchsorted(self.classes_, np.asarray(y)), minlength=len(self.classes_))
        self.vote_weight_ = len(y) / (len(self.classes_) * np.maximum(counts, 1))
        return self

    def predict_proba(self, X):
        p = super().predict_proba(X) * self.vote_weight_
        return p / p.sum(axis=1, keepdims=True)


# ---- the vote: our recipe's soft or logit vote --------------------------------------------------
LOGIT_EPS = 1e-6  # our pp_vote_logit clamps member probabilities to [1e-6, 1 - 1e-6]


def pool(probs, w, voting):
    """The vote of member probabilities probs (arrays) with weights w: soft, the weighted mean; logit,
    the logistic function of the weighted mean of the clamped log-odds (as our library computes it)."""
    w = np.asarray(w, dtype=float)
    if voting == "soft":
        return sum(wi * p for wi, p in zip(w, probs)) / w.sum()
    z = sum(wi * np.log(np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS) / (1 - np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS)))
            for wi, p in zip(w, probs)) / w.sum()
    return 1.0 / (1.0 + np.exp(-z))


class LogitVote(VotingClassifier):
    """VotingClassifier (fitted as a soft vote) whose probabilities are the logit vote of its members."""

    def predict_proba(self, X):
        p = pool([e.predict_proba(X)[:, 1] for e in self.estimators_], self.weights, "logit")
        return np.column_stack([1.0 - p, p])


def make_vote(estimators, w, voting):
    cls = LogitVote if voting == "logit" else VotingClassifier
    return cls(estimators, voting="soft", weights=list(w))


# ---- the mapping of our recipe onto scikit-learn -------------------------------------------------
def make_encoder(num_cols, cat_cols, enc):
    """Our encoders (lib/encode/encoder.c) as a ColumnTransformer: median fill then standardise
    (population sd) for numbers, a 0/1 missing indicator for numbers that had missing training
    cells (not standardised), one-hot for categories (missing is a category of its own when
    training had it; unseen labels go to no column here, to our <other> column there)."""
    if enc.get("impute") != "median" or not enc.get("standardize") or enc.get("categorical") != "onehot":
        raise SystemExit("peer.py maps only the default encoders (median, standardize, onehot)")
    tr = []
    if num_cols:
        tr.append(("num", Pipeline([("fill", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                   num_cols))
        if enc.get("missing_indicator"):
            tr.append(("missing", MissingIndicator(features="missing-only", error_on_new=False), num_cols))
    if cat_cols:
        # ours keeps at most max_categories labels plus an <other> bucket; scikit-learn's
        # max_categories counts its infrequent bucket, hence + 1
        tr.append(("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                                        max_categories=int(enc["max_categories"]) + 1, dtype=np.float64),
                   cat_cols))
    return ColumnTransformer(tr, sparse_threshold=0.0)


def class_weight_of(p, imbalance):
    cw = p.get("class_weight")
    if cw is None:
        return "balanced" if imbalance == "weights" else None
    return None if cw == "none" else cw


def max_features_of(v):
    return None if v == "all" else v


def make_member(name, p, recipe, y_train, threads, seed):
    """The scikit-learn / xgboost estimator with our member's parameters p (the recipe as our
    report prints it, every default filled in)."""
    imb = recipe["imbalance"]
    if imb == "undersample":
        raise SystemExit("peer.py does not map imbalance 'undersample'")
    if name == "xgboost":
        spw = p.get("scale_pos_weight")
        if spw is None:
            pos = float(np.sum(y_train))
            spw = (len(y_train) - pos) / pos if imb == "weights" else 1.0
        if p.get("early_stopping_rounds"):
            raise SystemExit("peer.py does not map xgboost early stopping")
        return xgboost.XGBClassifier(
            n_estimators=p["rounds"], learning_rate=p["eta"], max_depth=p["max_depth"], subsample=p["subsample"],
            colsample_bytree=p["colsample"], min_child_weight=p["min_child_weight"], reg_lambda=p["lambda"],
            gamma=p.get("gamma", 0.0), max_bin=p.get("max_bin", 256), scale_pos_weight=spw, tree_method="hist",
            objective="binary:logistic", eval_metric="logloss", n_jobs=threads, random_state=seed, verbosity=0)
    if name == "random_forest":
        if p.get("balanced_bootstrap"):
            raise SystemExit("peer.py does not map balanced_bootstrap (no scikit-learn equivalent)")
        cw = class_weight_of(p, imb)
        return RandomForestClassifier(
            n_estimators=p["n_estimators"], criterion=p["criterion"], max_depth=p["max_depth"] or None,
            min_samples_leaf=p["min_samples_leaf"], min_samples_split=p["min_samples_split"],
            max_features=max_features_of(p["max_features"]), bootstrap=p["bootstrap"],
            max_samples=None if p["max_samples"] >= 1.0 else p["max_samples"], class_weight=cw,
            oob_score=bool(p["oob_score"]) and p["bootstrap"], n_jobs=threads, random_state=seed)
    if name == "decision_tree":
        return DecisionTreeClassifier(
            criterion=p["criterion"], max_depth=p["max_depth"] or None, min_samples_split=p["min_samples_split"],
            min_samples_leaf=p["min_samples_leaf"], max_features=max_features_of(p["max_features"]),
            class_weight=class_weight_of(p, imb), random_state=seed)
    if name == "svc":
        if p.get("probability_folds", 5) != 5:
            raise SystemExit("scikit-learn's SVC fits Platt on 5 internal folds only")
        svc = SVC(C=p["C"], kernel=p["kernel"], gamma=p["gamma"], class_weight=class_weight_of(p, imb), tol=p["tol"],
                  cache_size=p["cache_mb"], max_iter=p["max_iter"] or -1, shrinking=p["shrinking"], probability=True,
                  random_state=seed)
        return CappedRows(svc, max_rows=p["max_train_rows"], random_state=seed)
    if name == "knn":
        cls = ClassWeightedKNN if class_weight_of(p, imb) == "balanced" else KNeighborsClassifier
        if p.get("max_train_rows"):
            raise SystemExit("peer.py does not map knn max_train_rows")
        return cls(n_neighbors=min(p["k"], len(y_train)), weights=p["weights"], n_jobs=threads)
    if name == "logistic":
        return LogisticRegression(C=p["C"], class_weight=class_weight_of(p, imb), max_iter=max(1000, p["max_iter"]),
                                  tol=1e-4)
    raise SystemExit(f"unknown member {name}")


def set_jobs(est, n):
    """n_jobs / nthread of a fitted estimator (for the one-thread latency runs)."""
    inner = est.estimator_ if isinstance(est, CappedRows) else est
    if "n_jobs" in inner.get_params():
        inner.set_params(n_jobs=n)


# ---- metrics, as lib/eval/metrics.c computes them ------------------------------------------------
def ece(p, y, bins=10):
    b = np.minimum((np.clip(p, 0, 1) * bins).astype(int), bins - 1)
    tot = 0.0
    for k in range(bins):
        m = b == k
        if m.any():
            tot += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(tot)


def capture(p, y, frac):
    order = np.lexsort((np.arange(len(p)), -p))  # score descending, ties by row
    top = int(np.floor(frac * len(p) + 0.5))
    return float(y[order[:top]].sum() / y.sum())


def band_table(p, y, edges):
    idx = np.clip(np.searchsorted(np.asarray(edges[1:-1]), p, side="right"), 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = idx == b
        n = int(m.sum())
        rows.append({"band": b + 1, "lo": edges[b], "hi": edges[b + 1], "count": n, "positives": int(y[m].sum()),
                     "success_rate": float(y[m].mean()) if n else None})
    return rows


def band_checks(rows):
    """Per band: success rate, and for bands with >= 100 rows whether it lies in [lo, hi]."""
    out = []
    for r in rows:
        sr = r["success_rate"]
        inside = None
        if r["count"] >= MIN_BAND_ROWS and sr is not None:
            inside = bool(r["lo"] <= sr <= r["hi"])
        out.append({"band": r["band"], "lo": r["lo"], "hi": r["hi"], "count": r["count"], "success_rate": sr,
                    "in_range": inside})
    return out


# ---- timing, as propensity compare does it ----------------------------------------------------------
def batch_rate(fn, n):
    secs, spent = [], 0.0
    out = None
    for _ in range(BATCH_RUNS):
        t0 = time.perf_counter()
        out = fn()
        secs.append(time.perf_counter() - t0)
        spent += secs[-1]
        if spent >= BATCH_BUDGET:
            break
    return n / float(np.median(secs)), len(secs), out


def latency(fn, items, max_runs, budget):
    """Nearest-rank p50 / p99 of single-row calls, one thread (OpenMP and BLAS pools limited to 1,
    as our single-row paths run on the calling thread)."""
    us = []
    with threadpool_limits(limits=1):
        for k in range(LATENCY_WARMUP):
            fn(items[k % len(items)])
        start = time.perf_counter()
        for k in range(max_runs):
            t0 = time.perf_counter()
            fn(items[k % len(items)])
            us.append(1e6 * (time.perf_counter() - t0))
            if len(us) >= 100 and time.perf_counter() - start > budget:
                break
    us.sort()
    pick = lambda q: us[min(len(us) - 1, max(0, int(np.ceil(q * len(us))) - 1))]  # nearest rank
    return pick(0.5), pick(0.99), len(us)


# ---- data ---------------------------------------------------------------------------------------
def read_frame(path, spec):
    df = pd.read_csv(path, keep_default_na=False, na_values=["", "NA"])
    pos = spec["positive"]
    y = (df[spec["target"]].astype(str) == pos).to_numpy(int) if pos else df[spec["target"]].to_numpy(int)
    drop = [spec["target"]] + [spec[k] for k in ("id", "connected", "time_col") if spec.get(k)] + spec.get("ignore", [])
    X = df.drop(columns=[c for c in drop if c in df.columns])
    return X, y


def prepare(name, spec, root, work, cli):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    if spec.get("gen"):
        run([cli, "gen", "--out-dir", d])
        return os.path.join(d, "history.csv"), os.path.join(d, "latest.csv"), "months 1-5 / month 6 (out of time)"
    if spec.get("script"):
        src = os.path.join(d, name + ".csv")
        run([sys.executable, os.path.join(root, spec["script"]), "--out", src])
    else:
        src = os.path.join(root, spec["file"])
    with open(src, encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines()
    _, y = read_frame(src, spec)
    if len(lines) - 1 != len(y):
        raise SystemExit(f"{src}: a record spans lines; the line-wise split needs one record a line")
    tr, te = train_test_split(np.arange(len(y)), test_size=TEST_FRAC, stratify=y, random_state=SPLIT_SEED)
    paths = []
    for part, idx in (("train", np.sort(tr)), ("test", np.sort(te))):
        p = os.path.join(d, part + ".csv")
        with open(p, "w", encoding="utf-8", newline="") as fh:
            fh.write(lines[0] + "\n")
            for i in idx:
                fh.write(lines[i + 1] + "\n")
        paths.append(p)
    return paths[0], paths[1], f"stratified {TEST_FRAC:.0%} test, seed {SPLIT_SEED}"


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr[-2000:]}")
    return r.stdout


def ours(cli, spec, train, test, recipe, out_json, threads, latency_runs):
    cmd = [cli, "compare", "--data", train, "--test-data", test, "--target", spec["target"], "--recipe", recipe,
           "--threads", str(threads), "--latency-runs", str(latency_runs), "--no-backtest", "--json", out_json,
           "--html", out_json[:-5] + ".html"]
    if spec.get("positive"):
        cmd += ["--positive", spec["positive"]]
    if spec.get("id"):
        cmd += ["--id", spec["id"]]
    if spec.get("ignore"):
        cmd += ["--ignore", ",".join(spec["ignore"])]
    if spec.get("connected"):
        cmd += ["--connected", spec["connected"]]
    if spec.get("time_col"):
        cmd += ["--time-col", spec["time_col"]]
    t0 = time.perf_counter()
    run(cmd)
    wall = time.perf_counter() - t0
    with open(out_json) as fh:
        rep = json.load(fh)
    rep["_wall_seconds"] = wall
    return rep


# ---- the scikit-learn side ---------------------------------------------------------------------
def svc_subsample_spread(name, p, recipe, Xtr, ytr, Xte, yte, threads, seed):
    """The capped SVC's test AUC over five other subsample seeds."""
    spread = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, 6):
            e2 = make_member(name, p, recipe, ytr, threads, seed + k).fit(Xtr, ytr)
            spread.append(float(roc_auc_score(yte, e2.predict_proba(Xte)[:, 1])))
    return spread


def ensemble_seed_spread(Xtr_df, ytr, Xte_df, yte, names, w, members, recipe, num_cols, cat_cols, threads, seed,
                         iso):
    """Test AUC of the calibrated vote refitted with seeds seed+1 .. seed+4 (members' random_state)."""
    spread = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, 5):
            vote = make_vote([(n, make_member(n, members[n], recipe, ytr, threads, seed + k)) for n in names], w,
                             recipe["ensemble"]["voting"])
            pipe = Pipeline([("enc", make_encoder(num_cols, cat_cols, recipe["encoders"])), ("vote", vote)])
            pipe.fit(Xtr_df, ytr)
            spread.append(float(roc_auc_score(yte, iso.predict(pipe.predict_proba(Xte_df)[:, 1]))))
    return spread


def sklearn_side(spec, train, test, recipe, ens_members, threads, lat_runs, lat_budget, members_only=False):
    """Both parts on the scikit-learn side; members_only: the members' fit and test AUC (also ECE
    and capture) alone, no throughput, latency or ensemble."""
    Xtr_df, ytr = read_frame(train, spec)
    Xte_df, yte = read_frame(test, spec)
    cat_cols = [c for c in Xtr_df.columns if Xtr_df[c].dtype == object]
    num_cols = [c for c in Xtr_df.columns if c not in cat_cols]
    for c in cat_cols:  # a test column read as numbers is still the training file's categorical one
        if Xte_df[c].dtype != object:
            Xte_df[c] = Xte_df[c].map(lambda v: np.nan if pd.isna(v) else str(v)).astype(object)
    enc_cfg = recipe["encoders"]
    seed = int(recipe["seed"])
    members = {m["name"]: m["params"] for m in recipe["members"]}
    res = {"members": {}, "encoded_columns": None}

    enc = make_encoder(num_cols, cat_cols, enc_cfg)
    t0 = time.perf_counter()
    Xtr = enc.fit_transform(Xtr_df)
    enc_fit = time.perf_counter() - t0
    Xte = enc.transform(Xte_df)
    res["encoded_columns"] = int(Xtr.shape[1])
    res["encoder_fit_seconds"] = enc_fit
    rows1 = [Xte[i:i + 1] for i in range(min(len(Xte), lat_runs))]

    for name, p in members.items():
        est = make_member(name, p, recipe, ytr, threads, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            est.fit(Xtr, ytr)
            fit_s = time.perf_counter() - t0
        if members_only:
            proba = est.predict_proba(Xte)[:, 1]
            m = {"auc": float(roc_auc_score(yte, proba)), "fit_seconds": fit_s, "ece": ece(proba, yte),
                 "capture_30": capture(proba, yte, 0.3)}
            if name == "svc" and p["max_train_rows"] and len(ytr) > p["max_train_rows"]:
                m["auc_other_subsamples"] = svc_subsample_spread(name, p, recipe, Xtr, ytr, Xte, yte, threads, seed)
            res["members"][name] = m
            log(f"  sklearn {name:14s} AUC {m['auc']:.4f} fit {fit_s:7.3f} s")
            continue
        rate, runs, proba = batch_rate(lambda: est.predict_proba(Xte)[:, 1], len(Xte))
        set_jobs(est, 1)
        p50, p99, lr = latency(lambda r: est.predict_proba(r), rows1, lat_runs, lat_budget)
        set_jobs(est, threads)
        m = {"auc": float(roc_auc_score(yte, proba)), "fit_seconds": fit_s, "predict_rows_per_second": rate,
             "predict_runs": runs, "latency_p50_us": p50, "latency_p99_us": p99, "latency_runs": lr,
             "ece": ece(proba, yte), "capture_30": capture(proba, yte, 0.3)}
        if name == "svc" and p["max_train_rows"] and len(ytr) > p["max_train_rows"]:
            # both sides fit a random subsample of max_train_rows rows, not the same one: the AUC
            # spread over five other subsample seeds shows how much of a difference that alone makes
            m["auc_other_subsamples"] = svc_subsample_spread(name, p, recipe, Xtr, ytr, Xte, yte, threads, seed)
        if name == "random_forest" and p.get("oob_score"):  # scikit-learn's default: no OOB score
            est2 = clone(est).set_params(oob_score=False)
            t0 = time.perf_counter()
            est2.fit(Xtr, ytr)
            m["fit_seconds_without_oob"] = time.perf_counter() - t0
        res["members"][name] = m
        log(f"  sklearn {name:14s} AUC {m['auc']:.4f} fit {fit_s:7.3f} s {rate:12.0f} rows/s p50 {p50:9.1f} us")
    if members_only:
        res["test_rows"], res["test_positives"], res["train_rows"] = int(len(yte)), int(yte.sum()), int(len(ytr))
        return res

    # ---- the ensemble: our recipe's procedure with scikit-learn pieces ----
    # (1) out-of-fold probabilities of every member (encoders refitted inside each fold), the
    # work our training does to choose members and weights; (2) the vote (soft or logit) of the members our
    # run kept, with our weights; (3) isotonic regression on the out-of-fold vote; (4) the vote
    # refitted on all training rows.
    folds = StratifiedKFold(n_splits=int(recipe["cv_folds"]), shuffle=True, random_state=seed)
    t_start = time.perf_counter()
    oof = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, p in members.items():
            o = np.zeros(len(ytr))
            for tr_i, va_i in folds.split(np.zeros(len(ytr)), ytr):
                pipe = Pipeline([("enc", make_encoder(num_cols, cat_cols, enc_cfg)),
                                 ("model", make_member(name, p, recipe, ytr[tr_i], threads, seed))])
                pipe.fit(Xtr_df.iloc[tr_i], ytr[tr_i])
                o[va_i] = pipe.predict_proba(Xtr_df.iloc[va_i])[:, 1]
            oof[name] = o
        t_oof = time.perf_counter() - t_start
        names = [m["name"] for m in ens_members]
        w = np.array([m["weight"] for m in ens_members])
        voting = recipe["ensemble"]["voting"]
        vote_oof = pool([oof[n] for n in names], w, voting)
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(vote_oof, ytr)
        vote = make_vote([(n, make_member(n, members[n], recipe, ytr, threads, seed)) for n in names], w, voting)
        pipe = Pipeline([("enc", make_encoder(num_cols, cat_cols, enc_cfg)), ("vote", vote)])
        pipe.fit(Xtr_df, ytr)
    fit_total = time.perf_counter() - t_start
    oof_auc = {n: float(roc_auc_score(ytr, o)) for n, o in oof.items()}
    k = len(names)
    own_top = sorted(oof_auc, key=lambda n: -oof_auc[n])[:k]

    predict = lambda X: iso.predict(pipe.predict_proba(X)[:, 1])
    rate, runs, p_cal = batch_rate(lambda: predict(Xte_df), len(Xte_df))
    raw = pipe.predict_proba(Xte_df)[:, 1]
    for est in pipe.named_steps["vote"].estimators_:
        set_jobs(est, 1)
    rows_df = [Xte_df.iloc[[i]] for i in range(min(len(Xte_df), lat_runs))]
    p50, p99, lr = latency(predict, rows_df, lat_runs, lat_budget)
    edges = recipe["bands"]
    res["ensemble"] = {
        "auc": float(roc_auc_score(yte, p_cal)), "auc_uncalibrated": float(roc_auc_score(yte, raw)),
        "fit_seconds": fit_total, "fit_seconds_out_of_fold": t_oof, "predict_rows_per_second": rate,
        "predict_runs": runs, "latency_p50_us": p50, "latency_p99_us": p99, "latency_runs": lr,
        "ece_before": ece(raw, yte), "ece_after": ece(p_cal, yte), "capture_30": capture(p_cal, yte, 0.3),
        "members": [{"name": n, "weight": float(wi)} for n, wi in zip(names, w)],
        "oof_auc": oof_auc, "own_top_k": own_top,
        "bands": band_checks(band_table(p_cal, yte, edges)),
    }
    # the randomised members (forest, xgboost, the SVC's subsample) make the vote's AUC depend on the
    # seed: the same vote refitted with four other seeds (same weights, same isotonic map) shows how far
    res["ensemble"]["auc_other_seeds"] = ensemble_seed_spread(Xtr_df, ytr, Xte_df, yte, names, w, members, recipe,
                                                              num_cols, cat_cols, threads, seed, iso)
    log(f"  sklearn ensemble       AUC {res['ensemble']['auc']:.4f} fit {fit_total:7.3f} s {rate:12.0f} rows/s "
        f"p50 {p50:9.1f} us")
    res["test_rows"], res["test_positives"] = int(len(yte)), int(yte.sum())
    res["train_rows"] = int(len(ytr))
    return res


# ---- putting the two sides together ----------------------------------------------------------------
def ratio(a, b):
    return float(a) / float(b) if a and b else None


def peer_rows(o, s):
    """Per model: ours, sklearn and the ratios (> 1 means ours is faster)."""
    rows = []
    for m in o["models"]:
        n = m["name"]
        sk = s["ensemble"] if n == "ensemble" else s["members"][n]
        rows.append({
            "model": n,
            "ours": {k: m[k] for k in ("auc", "fit_seconds", "predict_rows_per_second", "latency_p50_us",
                                       "latency_p99_us", "latency_runs", "ece", "capture_30")},
            "sklearn": sk if n != "ensemble" else {k: v for k, v in sk.items() if k not in ("bands", "oof_auc")},
            "auc_delta": m["auc"] - sk["auc"],
            "fit_speedup": ratio(sk["fit_seconds"], m["fit_seconds"]),
            "batch_speedup": ratio(m["predict_rows_per_second"], sk["predict_rows_per_second"]),
            "latency_speedup": ratio(sk["latency_p50_us"], m["latency_p50_us"]),
        })
    return rows


def ours_bands(o):
    rows = [{"band": b["band"], "lo": b["lo"], "hi": b["hi"], "count": b["count"], "positives": b["positives"],
             "success_rate": b["success_rate"]} for b in o["bands"]]
    return band_checks(rows)


def targets(results):
    """The issue's targets, per data set: met or missed, with the measured value."""
    out = []

    def add(ds, what, value, goal, met, note=""):
        kind = "auc_delta" if what.endswith("within +-0.01") or what.endswith("within +-0.005") else "speedup"
        out.append({"dataset": ds, "target": what, "kind": kind, "value": value, "goal": goal, "met": bool(met),
                    "note": note})

    for ds, r in results.items():
        by = {row["model"]: row for row in r["peer"]}
        e = by["ensemble"]
        add(ds, "ensemble batch scoring >= 20x sklearn vote", e["batch_speedup"], 20,
            e["batch_speedup"] >= 20 and abs(e["auc_delta"]) <= ENSEMBLE_AUC, f"AUC delta {e['auc_delta']:+.4f}")
        spread = e["sklearn"].get("auc_other_seeds")
        add(ds, "ensemble AUC within +-0.005", e["auc_delta"], ENSEMBLE_AUC, abs(e["auc_delta"]) <= ENSEMBLE_AUC,
            f"sklearn AUC over 4 other seeds {min(spread):.4f}..{max(spread):.4f}, ours {e['ours']['auc']:.4f}"
            if spread else "")
        add(ds, "ensemble training >= 3x faster", e["fit_speedup"], 3, e["fit_speedup"] >= 3)
        rf = by["random_forest"]
        add(ds, "random forest fit >= 2x faster at equal AUC", rf["fit_speedup"], 2,
            rf["fit_speedup"] >= 2 and abs(rf["auc_delta"]) <= EQUAL_AUC,
            f"AUC delta {rf['auc_delta']:+.4f}; vs sklearn without OOB: "
            f"{ratio(rf['sklearn'].get('fit_seconds_without_oob'), rf['ours']['fit_seconds']) or 0:.2f}x")
        add(ds, "knn predict >= 5x faster", by["knn"]["batch_speedup"], 5, by["knn"]["batch_speedup"] >= 5)
        sv = by["svc"]
        add(ds, "svc fit no slower at equal AUC", sv["fit_speedup"], 1,
            sv["fit_speedup"] >= 1 and abs(sv["auc_delta"]) <= EQUAL_AUC, f"AUC delta {sv['auc_delta']:+.4f}")
        for row in r["peer"]:
            if row["model"] != "ensemble":
                add(ds, f"{row['model']} batch predict >= 3x faster", row["batch_speedup"], 3, row["batch_speedup"] >= 3)
                spread = row["sklearn"].get("auc_other_subsamples")
                note = (f"sklearn AUC over 5 other subsample seeds {min(spread):.4f}..{max(spread):.4f}"
                        if spread else "")
                add(ds, f"{row['model']} AUC within +-0.01", row["auc_delta"], EQUAL_AUC,
                    abs(row["auc_delta"]) <= EQUAL_AUC, note)
    return out


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def print_tables(results, tgt):
    for ds, r in results.items():
        print(f"\n== {ds}: {r['train_rows']} train / {r['test_rows']} test rows ({r['test_positives']} positive), "
              f"{r['split']}; {r['encoded_columns']['ours']} encoded columns ours, "
              f"{r['encoded_columns']['sklearn']} sklearn")
        print(f"{'model':14s} {'AUC ours':>8s} {'sklearn':>8s} {'delta':>7s} | {'fit s ours':>10s} {'sklearn':>8s} "
              f"{'x':>6s} | {'rows/s ours':>11s} {'sklearn':>10s} {'x':>6s} | {'p50us ours':>10s} {'sklearn':>8s} "
              f"{'x':>6s}")
        for row in r["peer"]:
            o, s = row["ours"], row["sklearn"]
            print(f"{row['model']:14s} {o['auc']:8.4f} {s['auc']:8.4f} {row['auc_delta']:+7.4f} | "
                  f"{o['fit_seconds']:10.3f} {s['fit_seconds']:8.3f} {fmt(row['fit_speedup'], '6.1f')} | "
                  f"{o['predict_rows_per_second']:11.0f} {s['predict_rows_per_second']:10.0f} "
                  f"{fmt(row['batch_speedup'], '6.1f')} | {o['latency_p50_us']:10.1f} {s['latency_p50_us']:8.1f} "
                  f"{fmt(row['latency_speedup'], '6.1f')}")
        e = r["ensemble"]
        print(f"ensemble members (ours, weights): "
              + ", ".join(f"{m['name']} {m['weight']:.3f}" for m in e["members"])
              + f"; sklearn's own OOF top-{len(e['members'])}: {', '.join(e['sklearn_own_top_k'])}")
        print(f"ECE before/after calibration: ours {fmt(e['ours']['ece_before'], '.4f')} / "
              f"{e['ours']['ece_after']:.4f}, sklearn {e['sklearn']['ece_before']:.4f} / "
              f"{e['sklearn']['ece_after']:.4f}; top-30% capture ours {e['ours']['capture_30']:.3f}, "
              f"sklearn {e['sklearn']['capture_30']:.3f}")
        print(f"{'band':>4s} {'range':>10s} | {'rows':>5s} {'rate':>6s} {'in?':>4s} | {'rows':>5s} {'rate':>6s} "
              f"{'in?':>4s}   (ours | sklearn)")
        for bo, bs in zip(e["bands"]["ours"], e["bands"]["sklearn"]):
            yn = lambda v: "-" if v is None else ("yes" if v else "NO")
            print(f"{bo['band']:4d} {bo['lo']:4.2f}-{bo['hi']:<4.2f} | {bo['count']:5d} "
                  f"{fmt(bo['success_rate'], '6.3f'):>6s} {yn(bo['in_range']):>4s} | {bs['count']:5d} "
                  f"{fmt(bs['success_rate'], '6.3f'):>6s} {yn(bs['in_range']):>4s}")
    print("\n== targets")
    for t in tgt:
        print(f"{'met ' if t['met'] else 'MISS'} {t['dataset']:14s} {t['target']:48s} "
              f"{fmt(t['value'], '+.4f' if t['kind'] == 'auc_delta' else '.2f'):>9s} (goal {t['goal']}) {t['note']}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    a = ARGS
    import tempfile
    work = a.work or tempfile.mkdtemp(prefix="prop-peer.")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(a.root, "models/installment.json")) as fh:
        base_recipe = json.load(fh)
    voting = base_recipe.get("ensemble", {}).get("voting", "soft")
    if voting not in ("soft", "logit"):
        sys.exit(f"peer.py: the recipe's voting is \"{voting}\"; the scikit-learn side mirrors soft and logit votes only")
    base_recipe.setdefault("ensemble", {})["voting"] = voting
    if a.svc_max_rows is not None:
        for m in base_recipe["members"]:
            if m["name"] == "svc":
                m["params"]["max_train_rows"] = a.svc_max_rows
    if a.members_only:
        return members_only(a, work, base_recipe)
    rec = os.path.join(work, "installment.json")
    with open(rec, "w") as fh:
        json.dump(base_recipe, fh)
    results, t_all = {}, time.perf_counter()
    with threadpool_limits(limits=a.threads):
        for name in [d for d in a.datasets.split(",") if d]:
            spec = DATASETS[name]
            load0 = wait_quiet(a.wait_quiet)
            log(f"== {name} (load average {load0})")
            train, test, split = prepare(name, spec, a.root, work, a.cli)
            o = ours(a.cli, spec, train, test, rec, os.path.join(work, name, "ours.json"), a.threads, a.latency_runs)
            e_o = o["models"][-1]
            for m in o["models"]:
                log(f"  ours    {m['name']:14s} AUC {m['auc']:.4f} fit {m['fit_seconds']:7.3f} s "
                    f"{m['predict_rows_per_second']:12.0f} rows/s p50 {m['latency_p50_us']:9.1f} us")
            s = sklearn_side(spec, train, test, o["recipe"], e_o["members"], a.threads, a.latency_runs,
                             a.latency_budget)
            se = s["ensemble"]
            results[name] = {
                "split": split, "train_file": train, "test_file": test,
                "train_rows": o["dataset"]["train_rows"], "test_rows": o["dataset"]["test_rows"],
                "test_positives": o["dataset"]["test_positives"],
                "encoded_columns": {"ours": o["dataset"]["encoded_columns"], "sklearn": s["encoded_columns"]},
                "peer": peer_rows(o, s),
                "ensemble": {
                    "members": e_o["members"], "sklearn_own_top_k": se["own_top_k"], "sklearn_oof_auc": se["oof_auc"],
                    "ours": {"auc": e_o["auc"], "ece_before": e_o.get("ece_uncalibrated"),
                             "auc_uncalibrated": e_o.get("auc_uncalibrated"), "ece_after": e_o["ece"],
                             "capture_30": e_o["capture_30"], "fit_seconds": e_o["fit_seconds"]},
                    "sklearn": {"auc": se["auc"], "auc_uncalibrated": se["auc_uncalibrated"],
                                "ece_before": se["ece_before"], "ece_after": se["ece_after"],
                                "capture_30": se["capture_30"], "fit_seconds": se["fit_seconds"],
                                "fit_seconds_out_of_fold": se["fit_seconds_out_of_fold"]},
                    "bands": {"ours": ours_bands(o), "sklearn": se["bands"]},
                },
                "ours_wall_seconds": o["_wall_seconds"],
                "load_average": {"before": load0, "after": loadavg()},
            }
    tgt = targets(results)
    cpu = cpu_model()
    report = {
        "tool": "bench/peer/peer.py", "schema_version": 1,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": {"cpu_model": cpu, "cores": os.cpu_count(), "threads_used": a.threads,
                    "python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
                    "sklearn": sklearn.__version__, "xgboost": xgboost.__version__},
        "library_version": run([a.cli, "version"]).strip(),
        "recipe": "models/installment.json",
        "datasets": results, "targets": tgt,
        "seconds": time.perf_counter() - t_all,
    }
    print_tables(results, tgt)
    print(f"\n{cpu}, {os.cpu_count()} cores, {a.threads} threads; scikit-learn {sklearn.__version__}, xgboost "
          f"{xgboost.__version__}; {report['seconds']:.0f} s in all")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(report, fh, indent=1)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}")
    if a.check is not None:
        sys.exit(report_check(results, a.check))


def check_failures(results, tol):
    """Members whose |AUC ours - sklearn| exceeds tol: (dataset, model, delta)."""
    return [(ds, row["model"], row["auc_delta"]) for ds, r in results.items() for row in r["peer"]
            if row["model"] != "ensemble" and not abs(row["auc_delta"]) <= tol]


def report_check(results, tol):
    fails = check_failures(results, tol)
    n = sum(1 for r in results.values() for row in r["peer"] if row["model"] != "ensemble")
    if not fails:
        print(f"check: all {n} members within +-{tol:g} AUC of scikit-learn")
        return 0
    print(f"check FAILED: {len(fails)} of {n} members differ from scikit-learn by more than +-{tol:g} AUC:")
    for ds, model, d in fails:
        print(f"  {ds:14s} {model:14s} {d:+.4f}")
    return 1


RANDOMISED = ("xgboost", "random_forest")


def seeded_means(a, spec, train, test, o, rows, work, name):
    """Refit the randomised members with seeds base+1 .. base+K-1 on both sides (ours through compare with a
    recipe of those members only, every other field as in o's recipe) and turn their rows into mean AUCs over
    the K seeds; the per-seed AUCs stay in the row."""
    full = o["recipe"]
    base = int(full["seed"])
    rand = [m for m in full["members"] if m["name"] in RANDOMISED]
    if not rand:
        return
    per = {r["model"]: ([r["ours"]["auc"]], [r["sklearn"]["auc"]]) for r in rows if r["model"] in RANDOMISED}
    rec = os.path.join(work, name, "seeded.json")
    for k in range(1, a.seeds):
        sub = dict(full, seed=base + k, members=rand, ensemble=dict(full["ensemble"], selection="all"))
        with open(rec, "w") as fh:
            json.dump(sub, fh)
        oo = ours(a.cli, spec, train, test, rec, os.path.join(work, name, f"ours-seed{k}.json"), a.threads, 1)
        ss = sklearn_side(spec, train, test, dict(full, seed=base + k, members=rand), None, a.threads, 0, 0.0,
                          members_only=True)
        for m in oo["models"]:
            if m["name"] in per:
                per[m["name"]][0].append(m["auc"])
                per[m["name"]][1].append(ss["members"][m["name"]]["auc"])
    for r in rows:
        if r["model"] in per:
            ao, asl = per[r["model"]]
            r["ours"]["auc_seeds"], r["sklearn"]["auc_seeds"] = ao, asl
            r["ours"]["auc"], r["sklearn"]["auc"] = float(np.mean(ao)), float(np.mean(asl))
            r["auc_delta"] = r["ours"]["auc"] - r["sklearn"]["auc"]
            log(f"  {r['model']:14s} mean AUC over {len(ao)} seeds: ours {r['ours']['auc']:.4f} "
                f"(sd {np.std(ao):.4f}), sklearn {r['sklearn']['auc']:.4f} (sd {np.std(asl):.4f})")


def members_only(a, work, recipe):
    """The cross-check: each member alone, its test AUC on both sides, nothing timed but the fits.
    Our compare run also trains its ensemble (it has no option to skip it); with cv_folds 2 that is
    cheaper, and the members fitted alone do not depend on cv_folds (their seeds come from the
    recipe's seed and their index)."""
    rec = os.path.join(work, "installment-members.json")
    with open(rec, "w") as fh:
        json.dump(dict(recipe, cv_folds=2), fh)
    results, t_all = {}, time.perf_counter()
    with threadpool_limits(limits=a.threads):
        for name in [d for d in a.datasets.split(",") if d]:
            spec = DATASETS[name]
            log(f"== {name}")
            train, test, split = prepare(name, spec, a.root, work, a.cli)
            o = ours(a.cli, spec, train, test, rec, os.path.join(work, name, "ours.json"), a.threads, 1)
            for m in o["models"]:
                if m["name"] != "ensemble":
                    log(f"  ours    {m['name']:14s} AUC {m['auc']:.4f} fit {m['fit_seconds']:7.3f} s")
            s = sklearn_side(spec, train, test, o["recipe"], None, a.threads, 0, 0.0, members_only=True)
            rows = []
            for m in o["models"]:
                if m["name"] == "ensemble":
                    continue
                sk = s["members"][m["name"]]
                rows.append({"model": m["name"], "ours": {k: m[k] for k in ("auc", "fit_seconds", "ece", "capture_30")},
                             "sklearn": sk, "auc_delta": m["auc"] - sk["auc"]})
            if a.seeds > 1:
                seeded_means(a, spec, train, test, o, rows, work, name)
            svc = next(mm for mm in o["recipe"]["members"] if mm["name"] == "svc")
            results[name] = {
                "split": split, "train_file": train, "test_file": test,
                "train_rows": o["dataset"]["train_rows"], "test_rows": o["dataset"]["test_rows"],
                "test_positives": o["dataset"]["test_positives"],
                "svc_max_train_rows": svc["params"]["max_train_rows"],
                "encoded_columns": {"ours": o["dataset"]["encoded_columns"], "sklearn": s["encoded_columns"]},
                "peer": rows, "ours_wall_seconds": o["_wall_seconds"],
            }
    secs = time.perf_counter() - t_all
    for ds, r in results.items():
        cap = r["svc_max_train_rows"]
        print(f"\n== {ds}: {r['train_rows']} train / {r['test_rows']} test rows ({r['test_positives']} positive), "
              f"{r['split']}; svc max_train_rows {cap or 'none'}")
        print(f"{'model':14s} {'AUC ours':>8s} {'sklearn':>8s} {'delta':>8s}")
        for row in r["peer"]:
            spread = row["sklearn"].get("auc_other_subsamples")
            note = f"  (sklearn, 5 other subsamples: {min(spread):.4f}..{max(spread):.4f})" if spread else ""
            if "auc_seeds" in row["ours"]:
                note = f"  (means over {len(row['ours']['auc_seeds'])} seeds)"
            print(f"{row['model']:14s} {row['ours']['auc']:8.4f} {row['sklearn']['auc']:8.4f} "
                  f"{row['auc_delta']:+8.4f}{note}")
    print(f"\nscikit-learn {sklearn.__version__}, xgboost {xgboost.__version__}, {a.threads} threads; "
          f"{secs:.0f} s in all")
    if a.out:
        report = {"tool": "bench/peer/peer.py --members-only", "schema_version": 1,
                  "date": time.strftime("%Y-%m-%d", time.gmtime()),
                  "machine": {"cpu_model": cpu_model(), "cores": os.cpu_count(), "threads_used": a.threads,
                              "python": platform.python_version(), "sklearn": sklearn.__version__,
                              "xgboost": xgboost.__version__},
                  "library_version": run([a.cli, "version"]).strip(), "recipe": "models/installment.json",
                  "datasets": results, "check_tolerance": a.check, "seconds": secs}
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out + ".tmp", "w") as fh:
            json.dump(report, fh, indent=1)
        os.replace(a.out + ".tmp", a.out)
        print(f"wrote {a.out}")
    return report_check(results, a.check) if a.check is not None else 0


if __name__ == "__main__":
    sys.exit(main())
