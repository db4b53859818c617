"""propensity.Model: a fitted libpropensity pipeline (train, load, score, rank, explain)."""

import ctypes
import json
import os
import warnings

import numpy as np
import pandas as pd

from . import _frames
from ._lib import (COL_CATEGORICAL, LOG_FN, PROGRESS_FN, PROP_ERR_ARG, PROP_ERR_SCHEMA, PROP_ERR_STATE, PROP_ERR_VALUE,
                   ORDER, RANK_PROBABILITY, RANK_VALUE, BandRow, CalllistOptions, DemoOptions, MonitorOptions, Owned,
                   PredictOptions,
                   PropensityError, UNSEEN, RankOptions, TrainOptions, c_free, check, decode, encode, encode_path,
                   lib, write_file)


# ---- recipes --------------------------------------------------------------------------------------

class _Recipe(Owned):
    """Owns a prop_recipe handle built from None (the default), a dict, JSON text or a file path."""

    _free_name = "prop_recipe_free"

    def __init__(self, recipe):
        L = lib()
        h = ctypes.c_void_p()
        if recipe is None:
            check(L.prop_recipe_default(ctypes.byref(h)))
        elif isinstance(recipe, dict):
            check(L.prop_recipe_parse(encode(json.dumps(recipe), "recipe"), b"recipe (dict)", ctypes.byref(h)))
        elif isinstance(recipe, str) and recipe.lstrip().startswith("{"):
            check(L.prop_recipe_parse(encode(recipe, "recipe"), b"recipe (JSON text)", ctypes.byref(h)))
        elif isinstance(recipe, (str, bytes, os.PathLike)):
            check(L.prop_recipe_load(encode_path(recipe), ctypes.byref(h)))
        else:
            raise PropensityError(PROP_ERR_ARG, f"recipe must be None, a dict, JSON text or a file path, "
                                  f"not {type(recipe).__name__}")
        self._h = h

    def to_dict(self):
        out = ctypes.c_void_p()
        check(lib().prop_recipe_to_json(self._h, ctypes.byref(out)))
        try:
            return json.loads(ctypes.string_at(out.value).decode("utf-8"))
        finally:
            c_free(out)

def recipe_json(recipe=None):
    """The canonical form of a recipe (None = the built-in default) with every default filled in,
    as a dict; raises PropensityError naming the bad field."""
    r = _Recipe(recipe)
    try:
        return r.to_dict()
    finally:
        r.close()


def _names(cols):
    return ", ".join(f"'{c}'" for c in cols)


class Model(Owned):
    """A fitted pipeline: schema, encoders, members, ensemble, calibrator and bands.

    Create one with Model.train(), Model.load() or Model.from_bytes().  A Model is read-only after
    it is created: any number of Python threads may call its scoring methods at once (ctypes
    releases the GIL during the C call, so they really run in parallel).  Pickling a Model
    pickles the model file's bytes.  close() (or a with block) frees the C model; later calls
    raise."""

    _free_name = "prop_model_free"

    def __init__(self, _handle):
        if not isinstance(_handle, ctypes.c_void_p) or not _handle.value:
            raise PropensityError(PROP_ERR_ARG, "use Model.train(), Model.load() or Model.from_bytes()")
        self._h = _handle
        self._describe()

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def train(cls, df, target, positive=None, id=None, ignore=(), connected=None, time_col=None, recipe=None,
              nthread=0, log=None, progress=None):
        """Train recipe (None = the built-in default recipe; or a dict, JSON text or a recipe file
        path) on DataFrame df.  target is the label column; positive its positive label (None: the
        labels are 0/1).  id, connected (0/1 "call connected") and time_col (month) are never
        features; columns in ignore are left out.  time_col holds one period per row, in one
        format: integers, YYYYMM, "YYYY-MM" or ISO dates "YYYY-MM-DD" (read as their month), or a
        datetime64 or monthly Period column; anything else raises PropensityError naming the row.  Every other column is a feature: numeric
        dtypes and bool are numeric, object / category / string columns categorical.
        log(level, message) and progress(stage, done, total) are optional callables; progress
        returning True cancels training (PropensityError PROP_ERR_CANCELLED).  nthread 0 = all
        cores."""
        if not isinstance(df, pd.DataFrame):
            raise PropensityError(PROP_ERR_ARG, f"Model.train needs a pandas DataFrame, not {type(df).__name__}")
        if isinstance(ignore, str):
            ignore = (ignore,)
        ignore = [str(c) for c in ignore]
        cols = [str(c) for c in df.columns]
        missing = [c for c in [target, id, connected, time_col] + ignore if c is not None and c not in cols]
        if missing:
            raise PropensityError(PROP_ERR_SCHEMA, f"DataFrame has no column {_names(missing)} "
                                  f"(columns: {_names(cols)})")
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise PropensityError(PROP_ERR_SCHEMA, f"duplicate column name {_names(dup)}")
        roles = []
        for c, name in zip(df.columns, cols):
            if name in ignore:
                continue
            if name not in (target, id, time_col) and _frames.column_kind(df[c], name) == "strings" and \
                    pd.api.types.infer_dtype(df[c], skipna=True) in ("mixed", "mixed-integer"):
                warnings.warn(f"column '{name}' holds values of several types (e.g. numbers and text): every "
                              "value is read as a category label, its str(); convert the column first if it "
                              "holds numbers", RuntimeWarning, stacklevel=2)
            roles.append((c, "target" if name == target else "id" if name == id else
                          "time" if name == time_col else "auto"))
        recipe_h = _Recipe(recipe)
        frame = _frames.frame_from_dataframe(df, roles)
        try:
            L = lib()
            opt = TrainOptions()
            L.prop_train_options_default(ctypes.byref(opt))
            keep = [encode(target, "target"), encode(positive, "positive"), encode(id, "id"),
                    encode(connected, "connected"), encode(time_col, "time_col")]
            opt.target, opt.positive, opt.id, opt.connected, opt.time_col = keep
            # the ignored columns are not in the frame at all (checked against df above), so the
            # library is not told of them: it refuses an ignored name that is not a column
            opt.n_ignore = 0
            opt.nthread = int(nthread)
            raised = []
            if log is not None:
                def _log(user, level, msg):
                    if raised:
                        return
                    try:
                        log(int(level), decode(msg))
                    except BaseException as e:  # noqa: BLE001 - re-raised after the call
                        raised.append(e)
                log_cb = LOG_FN(_log)
                opt.log = log_cb
            if progress is not None or log is not None:
                def _progress(user, stage, done, total):
                    if raised:
                        return 1
                    if progress is None:
                        return 0
                    try:
                        return 1 if progress(decode(stage), int(done), int(total)) else 0
                    except BaseException as e:  # noqa: BLE001
                        raised.append(e)
                        return 1
                prog_cb = PROGRESS_FN(_progress)
                opt.progress = prog_cb
            out = ctypes.c_void_p()
            rc = L.prop_model_train(frame.handle, recipe_h._h, ctypes.byref(opt), ctypes.byref(out))
            if raised:
                if out.value:
                    L.prop_model_free(out)
                raise raised[0]
            check(rc)
        finally:
            frame.close()
            recipe_h.close()
        return cls(out)

    @classmethod
    def load(cls, path):
        """Load a model file.  Another program's file, a newer format, a truncated and a corrupted
        file each raise PropensityError with their own status."""
        out = ctypes.c_void_p()
        check(lib().prop_model_load(encode_path(path), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_bytes(cls, data):
        """Load a model from the bytes of a model file (as written by save() or to_bytes())."""
        b = bytes(data)
        out = ctypes.c_void_p()
        check(lib().prop_model_load_from_buffer(b, len(b), ctypes.byref(out)))
        return cls(out)

    def save(self, path):
        """Write the model file atomically."""
        check(lib().prop_model_save(self._handle(), encode_path(path)))

    def to_bytes(self):
        """The model file's bytes."""
        data, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib().prop_model_save_to_buffer(self._handle(), ctypes.byref(data), ctypes.byref(n)))
        try:
            return ctypes.string_at(data.value, n.value)
        finally:
            c_free(data)

    def __reduce__(self):
        return (Model.from_bytes, (self.to_bytes(),))

    def _handle(self):
        if self._h is None:
            raise PropensityError(PROP_ERR_STATE, "the model was closed")
        return self._h

    # ---- inspection ---------------------------------------------------------------------------

    def _describe(self):
        L, h = lib(), self._h
        n = L.prop_model_n_inputs(h)
        self._inputs = [decode(L.prop_model_input_name(h, j)) for j in range(n)]
        self._types = [int(L.prop_model_input_type(h, j)) for j in range(n)]
        self._cats = {}
        for j, t in enumerate(self._types):
            if t == COL_CATEGORICAL:
                k = L.prop_model_n_categories(h, j)
                self._cats[self._inputs[j]] = [decode(L.prop_model_category(h, j, c)) for c in range(k)]
        self._id = decode(L.prop_model_id_column(h))
        self._connected = decode(L.prop_model_connected_column(h))
        self._time_col = decode(L.prop_model_time_column(h))
        self._target = decode(L.prop_model_target(h))
        self._positive = decode(L.prop_model_positive_label(h))
        self._negative = decode(L.prop_model_negative_label(h))
        nb = L.prop_model_n_bands(h)
        edges = L.prop_model_band_edges(h)
        self._edges = np.array([edges[b] for b in range(nb + 1)], dtype=np.float64)
        self._edges.setflags(write=False)
        self._members = [decode(L.prop_model_member_name(h, i)) for i in range(L.prop_model_n_members(h))]

    @property
    def inputs(self):
        """The input feature names in schema order (the column order of dense matrices)."""
        return list(self._inputs)

    @property
    def input_types(self):
        """{name: 'numeric' | 'categorical'} in schema order."""
        return {n: ("categorical" if t == COL_CATEGORICAL else "numeric") for n, t in zip(self._inputs, self._types)}

    @property
    def categories(self):
        """{categorical input: [training labels in code order]}."""
        return {k: list(v) for k, v in self._cats.items()}

    @property
    def connected_column(self):
        """The training's connected column, or None."""
        return self._connected

    @property
    def time_column(self):
        """The training's time (month) column, or None."""
        return self._time_col

    @property
    def id_column(self):
        return self._id

    @property
    def target(self):
        return self._target

    @property
    def positive_label(self):
        return self._positive

    @property
    def negative_label(self):
        """The other label of the training target ("0" for 0/1 labels; a target holds two labels), or
        None for a model file that predates it (its evaluation reads every other label as negative)."""
        return self._negative

    @property
    def n_bands(self):
        return len(self._edges) - 1

    @property
    def band_edges(self):
        """nbands + 1 edges: band b (1-based) is [edges[b-1], edges[b]), the last one closed."""
        return self._edges.copy()

    @property
    def members(self):
        """Names of the members kept in the ensemble."""
        return list(self._members)

    @property
    def metadata(self):
        """The model's metadata (rows, positives, versions, recipe, validation report ...) as a dict."""
        return json.loads(decode(lib().prop_model_metadata_json(self._handle())))

    def __repr__(self):
        return f"<propensity.Model {len(self._inputs)} inputs, members {self._members}, {self.n_bands} bands>"

    # ---- data in ------------------------------------------------------------------------------

    def category_codes(self, name, labels):
        """Codes of labels for categorical input name, for dense rows: the training index, -1 for
        an unseen label (scored through the unseen bucket), NaN for missing (None / NaN)."""
        L, h = lib(), self._handle()
        j = L.prop_model_input_index(h, encode(name, "input name"))
        if j < 0 or self._types[j] != COL_CATEGORICAL:
            raise PropensityError(PROP_ERR_SCHEMA, f"'{name}' is not a categorical input of the model")
        s = pd.Series(labels, copy=False)
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        ucode = np.array([L.prop_model_category_code(h, j, _frames._label(u).encode("utf-8")) for u in uniq] +
                         [np.nan], dtype=np.float64)
        return ucode[codes]

    def to_dense(self, df, dtype=np.float64):
        """A DataFrame as the dense matrix predict_proba takes for arrays: the model's inputs in
        schema order, categorical inputs as codes (see category_codes)."""
        self._check_columns(df, ignore_extra=True)
        out = np.empty((len(df), len(self._inputs)), dtype=dtype)
        for j, (name, t) in enumerate(zip(self._inputs, self._types)):
            s = df[name]
            if t == COL_CATEGORICAL and _frames.column_kind(s, name) == "strings":
                out[:, j] = self.category_codes(name, s)
            elif t == COL_CATEGORICAL:
                out[:, j] = self._numeric_codes(name, _frames.numeric_values(s))
            else:
                if _frames.column_kind(s, name) != "numeric":
                    raise PropensityError(PROP_ERR_SCHEMA, f"column '{name}' holds labels, but the model needs "
                                          "numbers there")
                out[:, j] = _frames.numeric_values(s)
        return out

    def _numeric_codes(self, name, v):
        """Codes of numbers on a categorical input: the category whose label reads as the same
        number (the library's rule for numeric columns), -1 when none, NaN for NaN."""
        # of labels reading as the same number the first in byte order wins
        best = {}
        for k, lab in enumerate(self._cats[name]):
            try:
                x = float(lab) + 0.0
            except ValueError:
                continue
            if np.isfinite(x) and (x not in best or lab < best[x][0]):
                best[x] = (lab, k)
        uniq, inv = np.unique(v, return_inverse=True)
        ucode = np.array([np.nan if np.isnan(u) else float(best[u + 0.0][1]) if (u + 0.0) in best else -1.0
                          for u in uniq], dtype=np.float64)
        return ucode[inv] if len(v) else np.empty(0)

    def _known_columns(self):
        known = set(self._inputs)
        # the training's connected and month columns are never inputs, but belong to the data
        for c in (self._id, self._target, self._connected, self._time_col):
            if c:
                known.add(c)
        return known

    def _check_columns(self, df, ignore_extra=False, allowed=()):
        cols = [str(c) for c in df.columns]
        if len(set(cols)) != len(cols):
            dup = sorted({c for c in cols if cols.count(c) > 1})
            raise PropensityError(PROP_ERR_SCHEMA, f"duplicate column name {_names(dup)} in the DataFrame")
        missing = [c for c in self._inputs if c not in cols]
        if missing:
            raise PropensityError(PROP_ERR_SCHEMA, f"column {_names(missing)} required by the model "
                                  f"{'is' if len(missing) == 1 else 'are'} missing from the DataFrame")
        if not ignore_extra:
            known = self._known_columns() | {str(a) for a in allowed if a is not None}
            extra = [c for c in cols if c not in known]
            if extra:
                raise PropensityError(PROP_ERR_SCHEMA, f"column {_names(extra)} of the DataFrame "
                                      f"{'is' if len(extra) == 1 else 'are'} not an input of the model "
                                      "(pass ignore_extra=True to score anyway)")

    def _frame(self, df, extra_cols=()):
        """A Frame of df's input columns plus extra_cols [(name, role)]."""
        bypos = {str(c): c for c in df.columns}
        roles = [(bypos[n], "auto") for n in self._inputs]
        roles += [(bypos[n], r) for n, r in extra_cols if n not in self._inputs]
        return _frames.frame_from_dataframe(df, roles)

    @staticmethod
    def _options(nthread, uncalibrated=False, unseen="bucket"):
        if unseen not in UNSEEN:
            raise PropensityError(PROP_ERR_ARG, f"unseen must be 'error' or 'bucket', not {unseen!r}")
        opt = PredictOptions()
        lib().prop_predict_options_default(ctypes.byref(opt))
        opt.nthread = int(nthread)
        opt.uncalibrated = 1 if uncalibrated else 0
        opt.unseen = UNSEEN[unseen]
        return opt

    # ---- scoring ------------------------------------------------------------------------------

    def score(self, X, ignore_extra=False, nthread=0, uncalibrated=False, unseen="bucket"):
        """(probability float64[n], band int32[n], status int32[n]) for every row of X.

        X is a DataFrame (columns matched by name against the model's inputs; a missing input
        raises PropensityError naming it; any column that is neither an input, the id nor the
        target raises too unless ignore_extra=True) or a 2-D array of the model's inputs in schema
        order (categorical inputs as codes, see category_codes; float32 / float64 arrays with
        contiguous rows are read in place).  A row that cannot be scored (a non-finite number in
        an array, an invalid code) gets probability NaN, band 0 and its prop_status in status.
        A category not seen in training (code -1 in an array) is scored by default (unseen="bucket")
        through the encoder's <other> bucket (unseen_categories() lists such labels); unseen="error"
        makes such a row unscored instead, with PROP_ERR_CATEGORY.  nthread 0 = all cores.  uncalibrated=True gives the ensemble's vote before its calibrator (and bands cut
        from it): for diagnostics, not for call lists."""
        L, h = lib(), self._handle()
        opt = self._options(nthread, uncalibrated, unseen)
        if isinstance(X, pd.DataFrame):
            self._check_columns(X, ignore_extra)
            n = len(X)
            prob, band, st = np.empty(n), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
            with self._frame(X) as f:
                check(L.prop_model_predict_frame(h, f.handle, prob.ctypes.data, band.ctypes.data, st.ctypes.data,
                                                 ctypes.byref(opt)))
            return prob, band, st
        a, code, stride = _frames.as_dense(X)
        n, k = a.shape
        prob, band, st = np.empty(n), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
        check(L.prop_model_predict_dense(h, a.ctypes.data, code, n, k, stride, prob.ctypes.data, band.ctypes.data,
                                         st.ctypes.data, ctypes.byref(opt)))
        return prob, band, st

    def predict_proba(self, X, ignore_extra=False, nthread=0, uncalibrated=False, unseen="bucket", reasons=0):
        """Calibrated probability of the positive label per row (float64[n]; NaN for a row that
        cannot be scored).  X and unseen as for score(); uncalibrated=True: the vote before the
        calibrator.  reasons=K (1..16): a DataFrame instead, indexed like X, with "probability" and
        reason_1..reason_K (the inputs that raise each row's probability most, "input=value", None
        where a row has fewer), the reasons `propensity score --reasons K` writes."""
        if reasons:
            if uncalibrated:
                raise PropensityError(PROP_ERR_ARG, "reasons explain the calibrated probability: not with uncalibrated")
            is_df = isinstance(X, pd.DataFrame)
            keep_ids = is_df and self._id and self._id in [str(c) for c in X.columns]
            r = self.rank(X, reasons=reasons, order="input", ignore_extra=ignore_extra, nthread=nthread, unseen=unseen,
                          ids=None if keep_ids or not self._id else [str(i + 1) for i in range(len(X))])
            return r[["probability"] + [c for c in r.columns if c.startswith("reason_")]]
        L, h = lib(), self._handle()
        if isinstance(X, pd.DataFrame):
            return self.score(X, ignore_extra, nthread, uncalibrated, unseen)[0]
        # the array path without the band and status outputs: the call the overhead is measured on
        a, code, stride = _frames.as_dense(X)
        n, k = a.shape
        prob = np.empty(n)
        check(L.prop_model_predict_dense(h, a.ctypes.data, code, n, k, stride, prob.ctypes.data, None, None,
                                         ctypes.byref(self._options(nthread, uncalibrated, unseen))))
        return prob

    def bands(self, X, ignore_extra=False, nthread=0, unseen="bucket"):
        """Band per row (int32[n], 1 = lowest .. n_bands; 0 = not scored).  X and unseen as for
        score()."""
        return self.score(X, ignore_extra, nthread, unseen=unseen)[1]

    def band_of(self, p):
        """Band of probability p under the model's edges (0 for NaN)."""
        return int(lib().prop_model_band_of(self._handle(), float(p)))

    def unseen_categories(self, df):
        """{categorical input: sorted list of labels in df not seen in training} (inputs with none
        left out).  Such labels are scored through the unseen bucket."""
        out = {}
        for name in self._cats:
            if name not in [str(c) for c in df.columns]:
                continue
            s = df[[c for c in df.columns if str(c) == name][0]]
            if _frames.column_kind(s, name) == "strings":
                u = pd.unique(_frames.own_labels(s).dropna())
                labels = sorted({_frames._label(x) for x in u})
                bad = [lab for lab in labels if self.category_codes(name, [lab])[0] == -1]
            else:
                v = np.unique(_frames.numeric_values(s))
                v = v[~np.isnan(v)]
                codes = self._numeric_codes(name, v)
                bad = [x.item() for x, c in zip(v, codes) if c == -1]
            if bad:
                out[name] = bad
        return out

    # ---- ranking ------------------------------------------------------------------------------

    def rank(self, X, by="probability", value_col=None, capacity=None, band_quota=None, ids=None, order="rank",
             ignore_extra=False, nthread=0, unseen="bucket", out=None, reasons=0):
        """The call list, built by the library exactly as `propensity score` builds it: a DataFrame
        with the library's columns id, probability, band, rank, error, dialer_rank, selected (and
        value, expected_value when by="value"), indexed like X; with out= a path, the same list is
        also written there through the library's writer, byte for byte the file the CLI writes.

        by="probability" or "value" (probability x value, NaN value counted as 0); value_col names
        the value column of a DataFrame X, or is an array of n values.  capacity keeps at most that
        many rows (None = all, 0 = nobody); band_quota is n_bands numbers, the most rows taken from
        band 1..n.  reasons=K (1..16) adds reason_1..reason_K, the inputs that raise each row's
        probability most as "input=value" (as `propensity score --reasons K`; slow: each row's
        contributions).  ids: None = the model's id column of a DataFrame X (a DataFrame without it is
        refused when the model has one, as the CLI refuses such a file), else the 1-based row number
        (a model without an id column, or an array X).  A row whose id is missing is nobody to call:
        it is left unscored (probability NaN, band 0, rank 0, its reason in error), as the CLI does.
        Ties in the key are broken by id, then by row.  order="rank" sorts rows by call order
        (selected first, unscored rows last); "input" keeps X's order.  unseen as for score().  rank
        is 1-based call order (0 for unscored rows); dialer_rank is VICIdial's list rank (1..32767
        for selected rows, higher called first, 0 otherwise)."""
        if by not in ("probability", "value"):
            raise PropensityError(PROP_ERR_ARG, f"by must be 'probability' or 'value', not {by!r}")
        if order not in ORDER:
            raise PropensityError(PROP_ERR_ARG, f"order must be 'rank' or 'input', not {order!r}")
        is_df = isinstance(X, pd.DataFrame)
        capacity = _whole(capacity, "capacity")
        value = self._rank_values(X, by, value_col, is_df)
        if is_df:
            self._check_columns(X, ignore_extra, allowed=[value_col] if isinstance(value_col, str) else ())
        n = len(X) if is_df else np.asarray(X).shape[0] if np.ndim(X) == 2 else -1
        if value is not None and value.shape != (n,):
            raise PropensityError(PROP_ERR_ARG, f"value_col has shape {value.shape}: one value per row needed, "
                                  f"{n} rows")
        ids_s = self._rank_ids(X, ids, is_df, n)
        ro = RankOptions()
        lib().prop_rank_options_default(ctypes.byref(ro))
        ro.by = RANK_VALUE if by == "value" else RANK_PROBABILITY
        ro.capacity = 0 if capacity is None else capacity
        quota = self._rank_quota(band_quota, capacity)
        if quota is not None:
            ro.band_quota = ctypes.cast(quota, ctypes.POINTER(ctypes.c_size_t))
            ro.nbands = self.n_bands
        po = self._options(nthread, unseen=unseen)
        counts = (ctypes.c_size_t * max(1, len(self._inputs)))()
        po.unseen_counts = ctypes.cast(counts, ctypes.POINTER(ctypes.c_size_t))
        lo = CalllistOptions()
        lib().prop_calllist_options_default(ctypes.byref(lo))
        lo.predict, lo.rank, lo.order = ctypes.pointer(po), ctypes.pointer(ro), ORDER[order]
        lo.reasons = _whole(reasons, "reasons", none=False)
        lo.memory_limit = 0  # the DataFrame reads every row back from the list: it stays in memory
        df, extra = self._rank_frame(X, ids, ids_s, value, lo) if is_df else (None, None)
        with _Calllist(self, lo) as cl:
            self._rank_add(cl, X, df, extra, ids_s, value)
            check(lib().prop_calllist_finish(cl.handle))
            frame = cl.to_dataframe(ids_s, value, X.index if is_df else pd.RangeIndex(n))
            if out is not None:
                cl.write(out)
        frame.attrs["unseen_categories"] = {name: int(counts[j]) for j, name in enumerate(self._inputs) if counts[j]}
        return frame

    def _rank_values(self, X, by, value_col, is_df):
        if by != "value":
            return None
        if value_col is None:
            raise PropensityError(PROP_ERR_ARG, "by='value' needs value_col")
        if isinstance(value_col, str):
            if not is_df or value_col not in [str(c) for c in X.columns]:
                raise PropensityError(PROP_ERR_SCHEMA, f"value column '{value_col}' not found")
            col = X[value_col]
            if isinstance(col, pd.DataFrame) or _frames.column_kind(col, value_col) != "numeric":
                raise PropensityError(PROP_ERR_SCHEMA, f"value column '{value_col}' must be one numeric column")
            return _frames.numeric_values(col)
        try:
            value = np.asarray(value_col, dtype=np.float64)
        except (TypeError, ValueError):
            raise PropensityError(PROP_ERR_VALUE, "value_col must hold numbers") from None
        if value.ndim == 2 and value.shape[1] == 1:
            value = value[:, 0]
        return np.ascontiguousarray(value)

    def _rank_ids(self, X, ids, is_df, n):
        """The ids as a Series (None: the list numbers the rows)."""
        if ids is None:
            if is_df and self._id and self._id in [str(c) for c in X.columns]:
                return X[self._id].reset_index(drop=True)
            if is_df and self._id:
                raise PropensityError(PROP_ERR_SCHEMA, f"the model's id column '{self._id}' is missing from the "
                                      "DataFrame (row numbers would pass for customer ids); pass ids= to rank anyway")
            return None
        ids_s = pd.Series(ids, copy=False) if not isinstance(ids, pd.Series) else ids.reset_index(drop=True)
        if len(ids_s) != n:
            raise PropensityError(PROP_ERR_ARG, f"{len(ids_s)} ids for {n} rows")
        return ids_s

    def _rank_quota(self, band_quota, capacity):
        if capacity == 0:  # at most 0 rows: every band's quota is 0 (the library's capacity 0 means no limit)
            return (ctypes.c_size_t * self.n_bands)(*([0] * self.n_bands))
        if band_quota is None:
            return None
        q = list(band_quota) if np.ndim(band_quota) == 1 else None
        if q is None or len(q) != self.n_bands:
            raise PropensityError(PROP_ERR_ARG, f"band_quota needs {self.n_bands} whole numbers >= 0, "
                                  "lowest band first")
        q = [_whole(x, f"band_quota[{b}]", none=False) for b, x in enumerate(q)]
        return (ctypes.c_size_t * self.n_bands)(*q)

    def _rank_frame(self, X, ids, ids_s, value, lo):
        """The DataFrame the list reads (X, with the caller's ids as a column of their own) and its extra
        columns; the list's options name them."""
        df = X.reset_index(drop=True)
        extra = []
        if ids is not None:  # the caller's ids, as the list's id column
            df = df.assign(__propensity_id__=ids_s.to_numpy(dtype=object))
            lo.id_column = b"__propensity_id__"
            extra.append(("__propensity_id__", "id"))
        elif self._id:
            extra.append((self._id, "id"))
        return df, extra

    def _rank_add(self, cl, X, df, extra, ids_s, value):
        """The rows into the list: a DataFrame as a frame (the CLI's path, its reasons), an array as
        dense rows."""
        L = lib()
        if df is None:
            a, code, stride = _frames.as_dense(X)
            nrows, k = a.shape
            id_ptrs, keep = (None, None) if ids_s is None else _frames.string_pointers(ids_s, "ids")
            check(L.prop_calllist_add_dense(cl.handle, a.ctypes.data, code, nrows, k, stride,
                                            None if id_ptrs is None else id_ptrs.ctypes.data,
                                            None if value is None else value.ctypes.data))
            del keep
            return
        with self._frame(df, extra) as f:
            check(L.prop_calllist_add(cl.handle, f.handle, None if value is None else value.ctypes.data))

    # ---- contributions ----------------------------------------------------------------------------

    def explain(self, X, ignore_extra=False, nthread=0, unseen="bucket"):
        """Why the model scores each row as it does: a DataFrame indexed like X with one column per
        input (its contribution) and "base", such that base + the row's contributions = the ensemble's
        log-odds before its calibrator (models/README.md "Contributions": which parts are exact and
        which estimated).  A row that cannot be scored is NaN.  X as for score().  Slow with a deep
        forest: milliseconds per row."""
        L, h = lib(), self._handle()
        opt = self._options(nthread, unseen=unseen)
        k = len(self._inputs)
        base = ctypes.c_double()
        if isinstance(X, pd.DataFrame):
            self._check_columns(X, ignore_extra)
            n = len(X)
            C = np.empty((n, k))
            with self._frame(X) as f:
                check(L.prop_model_contributions_frame(h, f.handle, C.ctypes.data, ctypes.byref(base), None,
                                                       ctypes.byref(opt)))
            index = X.index
        else:
            a, code, stride = _frames.as_dense(X)
            n = a.shape[0]
            C = np.empty((n, k))
            check(L.prop_model_contributions_dense(h, a.ctypes.data, code, n, a.shape[1], stride, C.ctypes.data,
                                                   ctypes.byref(base), None, ctypes.byref(opt)))
            index = pd.RangeIndex(n)
        out = pd.DataFrame(C, columns=list(self._inputs), index=index)
        out["base"] = np.where(np.isnan(C).any(axis=1), np.nan, base.value)
        return out

    # ---- the call plan -----------------------------------------------------------------------------

    def plan(self, df, contact, policy, value_col=None, unseen="bucket", exact_max_rows=50000, nthread=0, out=None,
             format="csv"):
        """The call plan, built by the library exactly as `propensity plan` builds it (prop_planlist): every
        row of DataFrame df scored with this model (read as P(accept | connected)), its P(connect) in every
        cell from contact (a ContactModel), and assigned to at most one tier and cell under policy (a
        Policy, or a dict, JSON text or a policy file read against contact) so that the total expected
        value is the largest the capacities allow.  Returns a DataFrame indexed like df with the library's
        columns id, probability, band, tier, channel, day, hour, p_connect, expected_value, slot_rank,
        error: the values of the CLI's plan CSV (an empty number NaN or <NA>, an empty text None; id is
        df's own id), one row per row of df in its order; attrs["summary"] is the plan's summary (dict) and
        attrs["unseen_categories"] as for rank().  df needs the model's inputs and id column, value_col
        when given (a numeric column, or one value per row; None: every acceptance is worth 1) and the
        policy's phone columns (read as text); the contact model's segment columns are used when df has
        them all; other columns are left alone.  exact_max_rows: the exact assignment runs when at most
        that many rows compete for capacity (0: never).  With out= a path, the plan CSV is written there
        (format="csv"), byte for byte the CLI's; format="vicidial" makes out a folder holding plan.csv and
        one VICIdial lead file per slot with calls, as `propensity plan --format vicidial` writes it."""
        from .plan import make_plan
        return make_plan(self, df, contact, policy, value_col=value_col, unseen=unseen,
                         exact_max_rows=exact_max_rows, nthread=nthread, out=out, format=format)

    # ---- monitoring -----------------------------------------------------------------------------

    @property
    def has_reference(self):
        """True when the model keeps a reference of its training rows (monitor() needs it)."""
        return bool(lib().prop_model_has_reference(self._handle()))

    def monitor(self, df, target=None, positive=None, time_col=None, watch=0.1, act=0.25, nthread=0):
        """Does the model still hold for df's rows?  The report of `propensity monitor` as a dict
        (README "Monitoring"): the score's PSI, each input's CSI (inputs sorted by csi, each with a
        status ok / watch / act), the band shares against the training's; with target the AUC and each
        band's observed rate against its range; with time_col one entry per period.  The worst level of
        all rows is report["status"]."""
        cols = [str(c) for c in df.columns]
        for name, what in ((target, "target"), (time_col, "time column")):
            if name is not None and name not in cols:
                raise PropensityError(PROP_ERR_SCHEMA, f"{what} '{name}' not found in the DataFrame")
        self._check_columns(df, ignore_extra=True)
        o = MonitorOptions()
        L = lib()
        L.prop_monitor_options_default(ctypes.byref(o))
        o.target, o.positive, o.time_col = encode(target, "target"), encode(positive, "label"), encode(time_col)
        o.watch, o.act, o.nthread = float(watch), float(act), int(nthread)
        extra = [(target, "target")] if target is not None else []
        if time_col is not None and time_col not in self._inputs:
            extra.append((time_col, "auto"))
        out, worst = ctypes.c_void_p(), ctypes.c_int()
        with self._frame(df, extra) as f:
            check(L.prop_monitor(self._handle(), f.handle, ctypes.byref(o), ctypes.byref(out), ctypes.byref(worst)))
        try:
            return json.loads(ctypes.string_at(out.value).decode())
        finally:
            c_free(out)

    # ---- evaluation and explanation ---------------------------------------------------------

    def _labels(self, f, col, positive):
        y = np.empty(f.nrows, dtype=np.intc)
        check(lib().prop_frame_binary_values(f.handle, encode(col, "column"), encode(positive, "label"),
                                             y.ctypes.data))
        return y

    def band_table(self, df, target=None, connected=None, ignore_extra=True, nthread=0):
        """The band table of labelled rows df: one row per band with lo, hi, count, share,
        positives, success_rate (+ Wilson 95% interval success_lo / success_hi), lift, mean_prob
        and, with a connected (0/1) column, connected, connect_rate, success_connected.
        target defaults to the model's target column; its labels are read as in training (the
        model's positive and negative labels; any other label raises PropensityError naming the
        row).  Rows that cannot be scored are skipped and counted in attrs["n_unscored"]."""
        target = target or self._target
        cols = [str(c) for c in df.columns]
        for c in (target, connected):
            if c is not None and c not in cols:
                raise PropensityError(PROP_ERR_SCHEMA, f"column '{c}' not found in the DataFrame")
        self._check_columns(df, ignore_extra, allowed=[target, connected])
        extra = [(target, "target")] + ([(connected, "auto")] if connected else [])
        L, h = lib(), self._handle()
        n = len(df)
        prob = np.empty(n)
        with self._frame(df, extra) as f:
            # labelled held-out rows, as compare and backtest score them: a new category is bucketed
            check(L.prop_model_predict_frame(h, f.handle, prob.ctypes.data, None, None,
                                             ctypes.byref(self._options(nthread, unseen="bucket"))))
            # the outcomes under the model's own two labels: a third label is an error naming its row
            y = np.empty(n, dtype=np.intc)
            check(L.prop_model_target_values(h, f.handle, encode(target, "target"), y.ctypes.data))
            con = self._labels(f, connected, None) if connected else None
        nb = self.n_bands
        rows = (BandRow * nb)()
        nun = ctypes.c_size_t()
        edges = np.ascontiguousarray(self._edges)
        check(L.prop_band_table(prob.ctypes.data, y.ctypes.data, con.ctypes.data if con is not None else None, n,
                                edges.ctypes.data, nb, rows, ctypes.byref(nun)))
        names = [f[0] for f in BandRow._fields_]
        out = pd.DataFrame([{k: getattr(r, k) for k in names} for r in rows], columns=names)
        if connected is None:
            out = out.drop(columns=["connected", "connect_rate", "success_connected"])
        out.attrs["n_unscored"] = nun.value
        return out

    def importance(self):
        """Gain importance per input (pandas Series indexed by input name), from the XGBoost member
        when there is one, else the first member that reports importance (its name in
        attrs["member"])."""
        imp = np.empty(len(self._inputs))
        member = ctypes.c_char_p()
        check(lib().prop_model_importance(self._handle(), imp.ctypes.data, ctypes.byref(member)))
        s = pd.Series(imp, index=pd.Index(self._inputs, name="input"), name="importance")
        s.attrs["member"] = decode(member.value)
        return s

    def permutation_importance(self, df, repeats=5, seed=0, ignore_extra=True):
        """Mean drop in AUC when each input is shuffled (repeats times, seeded), on labelled rows df
        (held out from training; the target column is the model's).  pandas Series by input name;
        attrs["base_auc"] is the unshuffled AUC."""
        if self._target not in [str(c) for c in df.columns]:
            raise PropensityError(PROP_ERR_SCHEMA, f"target column '{self._target}' not found in the DataFrame")
        repeats = _whole(repeats, "repeats", none=False)
        if repeats < 1:
            raise PropensityError(PROP_ERR_ARG, "repeats must be at least 1")
        self._check_columns(df, ignore_extra)
        imp = np.empty(len(self._inputs))
        base = ctypes.c_double()
        with self._frame(df, [(self._target, "target")]) as f:
            check(lib().prop_model_permutation_importance(self._handle(), f.handle, int(repeats), int(seed) &
                                                          0xFFFFFFFFFFFFFFFF, imp.ctypes.data, ctypes.byref(base)))
        s = pd.Series(imp, index=pd.Index(self._inputs, name="input"), name="permutation_importance")
        s.attrs["base_auc"] = base.value
        return s


def auc(score, y):
    """Area under the ROC curve of score against 0/1 labels y (ties count one half)."""
    s = np.ascontiguousarray(score, dtype=np.float64)
    yy = np.ascontiguousarray(y, dtype=np.intc)
    if s.shape != yy.shape or s.ndim != 1:
        raise PropensityError(PROP_ERR_ARG, "score and y must be 1-D of the same length")
    out = ctypes.c_double()
    check(lib().prop_metric_auc(s.ctypes.data, yy.ctypes.data, len(s), ctypes.byref(out)))
    return out.value


def _whole(v, what, none=True):
    """v as a whole number >= 0 (None passes when none), else PropensityError naming what: a negative
    count would wrap around in the library's size_t."""
    if v is None and none:
        return None
    if isinstance(v, (bool, np.bool_, str, bytes)):
        raise PropensityError(PROP_ERR_ARG, f"{what} must be a whole number >= 0, not {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise PropensityError(PROP_ERR_ARG, f"{what} must be a whole number >= 0, not {v!r}") from None
    if not np.isfinite(f) or f < 0 or f != int(f):
        raise PropensityError(PROP_ERR_ARG, f"{what} must be a whole number >= 0, not {v!r}")
    return int(f)


class _Calllist(Owned):
    """A prop_calllist of one Model.rank call."""

    _free_name = "prop_calllist_free"

    def __init__(self, model, lo):
        self._h = ctypes.c_void_p()
        self._lo = lo  # the options' pointers stay alive while the list does
        check(lib().prop_calllist_create(model._handle(), ctypes.byref(lo), ctypes.byref(self._h)))

    @property
    def handle(self):
        return self._h

    def to_dataframe(self, ids_s, value, index):
        L = lib()
        n = L.prop_calllist_n_rows(self._h)
        row = np.zeros(n, dtype=np.uintp)
        prob, band = np.zeros(n), np.zeros(n, dtype=np.intc)
        rank, dialer, sel = np.zeros(n, dtype=np.uintp), np.zeros(n, dtype=np.intc), np.zeros(n, dtype=np.uint8)
        check(L.prop_calllist_get(self._h, row.ctypes.data, prob.ctypes.data, band.ctypes.data, rank.ctypes.data,
                                  dialer.ctypes.data, sel.ctypes.data))
        names = [decode(L.prop_calllist_column(self._h, j)) for j in range(L.prop_calllist_n_columns(self._h))]
        reasons = {}
        for q, name in enumerate(c for c in names if c.startswith("reason_")):
            reasons[name] = np.array([decode(L.prop_calllist_reason(self._h, k, q)) for k in range(n)], dtype=object)
        error = np.full(n, None, dtype=object)
        for k in np.flatnonzero(np.isnan(prob)):  # only unscored rows have a reason
            error[k] = decode(L.prop_calllist_error(self._h, int(k)))
        if ids_s is None:
            id_col = (row + 1).astype(str).astype(object)
        else:
            id_col = ids_s.astype(object).where(ids_s.notna(), None).to_numpy()[row]
        cols = {"id": id_col, "probability": prob, "band": band.astype(np.int32), "rank": rank.astype(np.int64),
                "error": error, "dialer_rank": dialer.astype(np.int32), "selected": sel.astype(bool)}
        if value is not None:
            v = value[row]
            cols["value"] = v
            cols["expected_value"] = prob * np.where(np.isnan(v), 0.0, v)
        cols.update(reasons)
        return pd.DataFrame({k: cols[k] for k in names}, index=index[row])

    def write(self, path):
        """The list into path through the library's writer (the CLI's bytes)."""
        write_file(path, lambda w: lib().prop_calllist_write(self._h, w))


def write_demo_csv(path, seed=42, customers_per_month=4000, months=6, missing_rate=0.03, first_month=1,
                   with_outcomes=True):
    """Write the synthetic installment campaign (README "Demo data") to path, atomically; the same
    arguments give the same bytes on every machine."""
    o = DemoOptions()
    L = lib()
    L.prop_demo_options_default(ctypes.byref(o))
    o.seed = _whole(seed, "seed", none=False)
    o.customers_per_month = _whole(customers_per_month, "customers_per_month", none=False)
    o.months = _whole(months, "months", none=False)
    o.missing_rate = float(missing_rate)
    o.first_month = _whole(first_month, "first_month", none=False)
    o.with_outcomes = 1 if with_outcomes else 0
    check(L.prop_demo_write_csv(encode_path(path), ctypes.byref(o)))

