"""propensity.dask: score a dask DataFrame partition by partition, on one machine or a cluster.

    import dask.dataframe as dd
    from propensity.dask import score_dask
    ddf = dd.read_csv("calllist-*.csv")
    scores = score_dask(ddf, "/shared/models/installment.model", keep=["customer_id"]).compute()

Each worker process loads the model once and keeps it in a per-process cache keyed by the file's
real path, modification time and size (or by a digest of the model bytes), so every later
partition on that worker reuses it; a rewritten model file is picked up by the next partition.
A Model is read-only, so the worker's threads share the cached one.
"""

import hashlib
import os
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from ._lib import PROP_ERR_ARG, PROP_ERR_IO, PROP_ERR_SCHEMA, PropensityError
from .model import Model

_CACHE_MAX = 4
_cache = OrderedDict()  # key -> Model, most recently used last
_cache_lock = threading.Lock()
_loads = 0  # model loads done by this process (cache misses)


class ModelPath:
    """A model file path as a task argument (a plain string could be mistaken for a graph key)."""

    __slots__ = ("path",)

    def __init__(self, path):
        self.path = os.fspath(path)

    def __reduce__(self):
        return (ModelPath, (self.path,))

    def __repr__(self):
        return f"ModelPath({self.path!r})"


def _key(model):
    if isinstance(model, ModelPath):
        st = os.stat(model.path)
        return ("path", os.path.realpath(model.path), st.st_mtime_ns, st.st_size)
    return ("bytes", len(model), hashlib.blake2b(model, digest_size=20).digest())


def cached_model(model):
    """The Model of a ModelPath or of model-file bytes, loaded at most once per process (per file
    version)."""
    global _loads
    if isinstance(model, Model):
        return model
    if not isinstance(model, (ModelPath, bytes, bytearray, memoryview)):
        raise PropensityError(PROP_ERR_ARG, f"a model path or model bytes expected, not {type(model).__name__}")
    if not isinstance(model, ModelPath):
        model = bytes(model)
    key = _key(model)
    with _cache_lock:
        m = _cache.get(key)
        if m is not None:
            _cache.move_to_end(key)
            return m
        # load under the lock: threads of one worker wait for the one load instead of repeating it
        m = Model.load(model.path) if isinstance(model, ModelPath) else Model.from_bytes(model)
        _loads += 1
        _cache[key] = m
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)
        return m


def cache_info():
    """{'loads': models loaded by this process, 'cached': models held} (e.g. via client.run)."""
    with _cache_lock:
        return {"loads": _loads, "cached": len(_cache), "pid": os.getpid()}


def clear_cache():
    global _loads
    with _cache_lock:
        _cache.clear()
        _loads = 0


def _score_partition(pdf, model, ignore_extra, nthread, keep, with_band, unseen):
    m = cached_model(model)
    m._check_columns(pdf, ignore_extra, allowed=keep)
    prob, band, _ = m.score(pdf, ignore_extra=True, nthread=nthread, unseen=unseen)
    cols = {c: pdf[c].to_numpy() for c in keep}
    cols["probability"] = prob
    if with_band:
        cols["band"] = band
    return pd.DataFrame(cols, index=pdf.index)


def score_dask(ddf, model, ignore_extra=False, nthread=1, keep=(), with_band=True, unseen="bucket"):
    """A lazy dask DataFrame of the model's probability (and band) for every row of ddf, with ddf's
    index and partitions, plus the columns named in keep (e.g. the customer id) copied through.

    model is one of:
      - a path (str or PathLike) that every worker can read: the same file on a shared or copied
        file system; each worker process loads it once (cached by path, mtime and size);
      - the model file's bytes, or a propensity.Model (sent as its bytes): put into the graph once
        and loaded once per worker process (cached by digest);
      - a dask Delayed or a distributed Future holding those bytes, e.g.
        client.scatter(model_bytes, broadcast=True), so a cluster without a shared file system
        ships the model to each worker once.
    nthread: threads per partition inside the library (default 1: Dask already runs one partition
    per worker thread).  Scoring as in Model.score(): a row that cannot be scored gets NaN and
    band 0; ignore_extra and unseen as in Model.score()."""
    import dask

    keep = [str(c) for c in keep]
    local = None  # the model on the client, to check the columns before anything runs
    if isinstance(model, Model):
        local, model = model, model.to_bytes()
    if isinstance(model, (str, os.PathLike)):
        arg = ModelPath(model)
        if not os.path.exists(arg.path):
            raise PropensityError(PROP_ERR_IO, f"{arg.path}: model file not found on the client (workers must "
                                  "see the same path)")
        local = cached_model(arg)
    elif isinstance(model, (bytes, bytearray, memoryview)):
        model = bytes(model)
        local = local or cached_model(model)
        arg = dask.delayed(model, pure=True)  # one graph key, not a copy per task
    else:
        arg = model  # Delayed / Future resolving to bytes, or a ModelPath: checked on the workers
    missing_keep = [c for c in keep if c not in [str(x) for x in ddf.columns]]
    if missing_keep:
        raise PropensityError(PROP_ERR_SCHEMA, f"keep column(s) {missing_keep} not in the dask DataFrame")
    if local is not None:
        local._check_columns(ddf._meta, ignore_extra, allowed=keep)
    meta_cols = {c: ddf._meta[c] for c in keep}
    meta_cols["probability"] = pd.Series([], dtype=np.float64)
    if with_band:
        meta_cols["band"] = pd.Series([], dtype=np.int32)
    meta = pd.DataFrame({k: pd.Series(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=v.dtype)
                         for k, v in meta_cols.items()}, index=ddf._meta.index)
    Model._options(nthread, unseen=unseen)  # a bad unseen fails here, not on every worker
    return ddf.map_partitions(_score_partition, arg, ignore_extra, int(nthread), keep, bool(with_band), unseen,
                              meta=meta, align_dataframes=False)
