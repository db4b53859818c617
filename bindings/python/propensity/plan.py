"""The call plan from Python: the contact model (when and on which channel customers pick up), the call
policy, and Model.plan, which builds the plan with the library's prop_planlist exactly as `propensity plan`
does and writes it with the library's writer (models/README.md "The contact model", "The call policy",
"The call plan")."""

import ctypes
import datetime
import json
import os
import re
import tempfile

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from . import _frames
from ._lib import (CONTACT_TZ_AS_WRITTEN, PLAN_FORMATS, PROP_ERR_ARG, PROP_ERR_SCHEMA, PROP_ERR_STATE, ContactOptions,
                   Owned, PlanlistOptions, PlanOptions, PropensityError, check, decode, encode, encode_path,
                   last_error, lib, open_writer, write_file)
from .model import _whole


# ---- small helpers ------------------------------------------------------------------------------

def _strings(values, what):
    """A ctypes array of char* for a list of names (None: (None, 0)), kept alive by the caller."""
    if values is None:
        return None, 0
    enc = [encode(v, what) for v in values]
    return (ctypes.c_char_p * max(1, len(enc)))(*enc), len(enc)


def _column(df, name):
    """df's column name as one Series, None when df has none (PropensityError for a duplicated name)."""
    hits = [c for c in df.columns if str(c) == name]
    if len(hits) > 1:
        raise PropensityError(PROP_ERR_SCHEMA, f"column '{name}' appears more than once in the DataFrame")
    return df[hits[0]] if hits else None


def _frame_of(df, roles):
    """A Frame of len(df) rows with the columns [(name, role)] that df has (each name once, the first
    role given wins): the library names a missing one itself, as it does for the CLI."""
    have = [str(c) for c in df.columns]
    seen, cols = set(), []
    for name, role in roles:
        if name is None or name in seen or name not in have:
            continue
        seen.add(name)
        cols.append((name, role))
    f = _frames.Frame(len(df))
    try:
        for name, role in cols:
            s = _column(df, name)
            if role == "time":
                s, role = _iso_times(s), "id"
            _frames.add_series(f, name, s, role)
    except BaseException:
        f.close()
        raise
    return f


def _iso_times(s):
    """A datetime column as the ISO 8601 text the contact model reads (2026-03-14T10:37:00, with its offset
    when the column has a zone: +0200); other columns as they are."""
    if not pdt.is_datetime64_any_dtype(s.dtype):
        return s
    fmt = "%Y-%m-%dT%H:%M:%S%z" if getattr(s.dtype, "tz", None) is not None else "%Y-%m-%dT%H:%M:%S"
    text = s.dt.strftime(fmt)
    return text.astype(object).where(s.notna(), None)


_TZ = re.compile(r"^([+-])(\d\d)(?::?(\d\d))?$")


def _tz_minutes(tz):
    """tz as prop_contact_options.tz_minutes: None (times as written), minutes east of UTC, a
    datetime.timedelta or timezone, or text such as "+02:00", "-0530", "+01", "Z"."""
    if tz is None:
        return CONTACT_TZ_AS_WRITTEN
    if isinstance(tz, datetime.timezone):
        tz = tz.utcoffset(None)
    if isinstance(tz, datetime.timedelta):
        minutes = tz.total_seconds() / 60
    elif isinstance(tz, str):
        if tz in ("Z", "UTC"):
            return 0
        m = _TZ.match(tz)
        if not m:
            raise PropensityError(PROP_ERR_ARG, f"tz must be an offset such as '+02:00', '-05:00' or 'Z', not {tz!r}")
        minutes = (-1 if m.group(1) == "-" else 1) * (int(m.group(2)) * 60 + int(m.group(3) or 0))
    elif isinstance(tz, (int, np.integer)) and not isinstance(tz, bool):
        minutes = int(tz)
    else:
        raise PropensityError(PROP_ERR_ARG, f"tz must be None, minutes, a timedelta or text such as '+02:00', "
                              f"not {type(tz).__name__}")
    if minutes != int(minutes) or not -840 <= minutes <= 840:
        raise PropensityError(PROP_ERR_ARG, f"tz must be whole minutes within -14:00..+14:00, not {tz!r}")
    return int(minutes)


# ---- the contact model --------------------------------------------------------------------------

class ContactModel(Owned):
    """A fitted contact model: each customer's P(connect) in every cell of a grid (day type x block x
    channel).  Create one with ContactModel.fit() or ContactModel.load().  Read-only once created: any
    number of threads may predict with one at once."""

    _free_name = "prop_contact_free"

    def __init__(self, _handle):
        if not isinstance(_handle, ctypes.c_void_p) or not _handle.value:
            raise PropensityError(PROP_ERR_ARG, "use ContactModel.fit() or ContactModel.load()")
        self._h = _handle
        L = lib()
        cells = []
        ch, day, hour = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_int()
        for k in range(L.prop_contact_n_cells(_handle)):
            check(L.prop_contact_cell(_handle, k, ctypes.byref(ch), ctypes.byref(day), ctypes.byref(hour)))
            cells.append((decode(ch.value), decode(day.value), int(hour.value)))
        self._cells = cells
        names = ctypes.POINTER(ctypes.c_char_p)()
        nseg = L.prop_contact_segment_columns(_handle, ctypes.byref(names))
        self._segments = [decode(names[q]) for q in range(nseg)]
        self._customer_id = decode(L.prop_contact_customer_id_column(_handle))

    def _handle(self):
        if self._h is None:
            raise PropensityError(PROP_ERR_STATE, "the contact model was closed")
        return self._h

    @classmethod
    def fit(cls, history, id, time, channel, outcome, positive=None, customers=None, segment_cols=(), channels=None,
            hours=(8, 2, 7), tz=None, holdout=0.2, nthread=0):
        """Fit the contact model on history, a DataFrame of past contact attempts (one row each): the
        customer id column id, the ISO 8601 time column time (text such as 2026-03-14T10:37:00, with or
        without a zone, or a datetime column), the channel column and the outcome column (0/1, or
        positive names the label meaning connected and the column holds one other label).  customers
        (optional) is a DataFrame with the same id column and the segment columns segment_cols.
        channels: the grid's channels in order (None: the history's, in byte order); hours: (first
        block's hour, hours per block, blocks); tz: None (each time's date and hour as written), or the
        customers' UTC offset ('+01:00', minutes, a timedelta) to move zoned times to; holdout: the share
        of the latest history held out for the report (0 to 0.5).  As `propensity contact fit`: the same
        rows give the same model file.  A bad row raises PropensityError naming the row and column
        (`<frame>:12:time: ...`, rows counted from 1)."""
        for what, df in (("history", history), ("customers", customers)):
            if (df is not None or what == "history") and not isinstance(df, pd.DataFrame):
                raise PropensityError(PROP_ERR_ARG, f"{what} must be a pandas DataFrame, not {type(df).__name__}")
        if isinstance(segment_cols, str):
            segment_cols = (segment_cols,)
        segment_cols = [str(c) for c in segment_cols]
        if segment_cols and customers is None:
            raise PropensityError(PROP_ERR_ARG, "segment_cols needs customers, the DataFrame that holds them")
        try:
            first_hour, block_hours, n_blocks = (int(x) for x in hours)
        except (TypeError, ValueError):
            raise PropensityError(PROP_ERR_ARG, f"hours must be (first hour, hours per block, blocks), not "
                                  f"{hours!r}") from None
        if channels is not None and (isinstance(channels, str) or not len(channels)):
            raise PropensityError(PROP_ERR_ARG, f"channels must be a list of at least one channel (None: the "
                                  f"history's), not {channels!r}")
        L = lib()
        o = ContactOptions()
        L.prop_contact_options_default(ctypes.byref(o))
        o.id, o.time, o.channel, o.outcome = (encode(v, "column name") for v in (id, time, channel, outcome))
        o.positive = encode(positive, "label")
        segs, o.n_segment_cols = _strings(segment_cols, "segment column")
        chans, o.n_channels = _strings(channels, "channel")
        o.segment_cols = ctypes.cast(segs, ctypes.POINTER(ctypes.c_char_p)) if segs is not None else None
        o.channels = ctypes.cast(chans, ctypes.POINTER(ctypes.c_char_p)) if chans is not None else None
        o.first_hour, o.block_hours, o.n_blocks = first_hour, block_hours, n_blocks
        o.tz_minutes = _tz_minutes(tz)
        o.holdout_fraction = float(holdout)
        o.nthread = int(nthread)
        names = [str(v) if v is not None else None for v in (id, time, channel, outcome)]
        hist = _frame_of(history, [(names[0], "id"), (names[1], "time"), (names[2], "auto"), (names[3], "auto")])
        cust = None
        try:
            if customers is not None:
                cust = _frame_of(customers, [(names[0], "id")] + [(c, "auto") for c in segment_cols])
            out = ctypes.c_void_p()
            check(L.prop_contact_fit(hist.handle, None if cust is None else cust.handle, ctypes.byref(o),
                                     ctypes.byref(out)))
        finally:
            hist.close()
            if cust is not None:
                cust.close()
        return cls(out)

    @classmethod
    def load(cls, path):
        """Load a contact model file (another program's file, a propensity model file, a newer layout, a
        truncated and a corrupted file each raise PropensityError with their own status)."""
        out = ctypes.c_void_p()
        check(lib().prop_contact_load(encode_path(path), ctypes.byref(out)))
        return cls(out)

    def save(self, path):
        """Write the contact model file atomically (the bytes `propensity contact fit` writes for the same
        rows)."""
        check(lib().prop_contact_save(self._handle(), encode_path(path)))

    @property
    def report(self):
        """The fit report as a dict: counts, the estimated shrinkage, the held-out check (models/README.md,
        "The report")."""
        return json.loads(decode(lib().prop_contact_report_json(self._handle())))

    @property
    def cells(self):
        """The grid: one row per cell in the model's order (day type, then block, then channel), columns
        channel, day ('weekday' / 'weekend') and hour (the block's start); the index is the cell number and
        names such as 'weekday_10_mobile' are predict()'s columns."""
        ch, day, hour = zip(*self._cells) if self._cells else ((), (), ())
        return pd.DataFrame({"channel": list(ch), "day": list(day), "hour": np.array(hour, dtype=np.int64)},
                            index=pd.RangeIndex(len(self._cells), name="cell"))

    @property
    def cell_names(self):
        """'weekday_08_home', ... in cell order (the columns of predict() and of the demo's contact_truth.csv)."""
        return [f"{d}_{h:02d}_{c}" for c, d, h in self._cells]

    @property
    def channels(self):
        """The grid's channels, in order."""
        return list(dict.fromkeys(c for c, _, _ in self._cells))

    @property
    def segment_columns(self):
        """The customers' segment columns of the fit (a call list that has them all is looked up by them)."""
        return list(self._segments)

    @property
    def customer_id_column(self):
        """The customers' id column of the fit, the default id column of predict() and best()."""
        return self._customer_id

    def __repr__(self):
        return (f"<propensity.ContactModel {len(self._cells)} cells, channels {self.channels}, "
                f"segments {self._segments}>")

    def _frame(self, df, id_col):
        if not isinstance(df, pd.DataFrame):
            raise PropensityError(PROP_ERR_ARG, f"a pandas DataFrame is needed, not {type(df).__name__}")
        return _frame_of(df, [(id_col, "id")] + [(c, "auto") for c in self._segments])

    def predict(self, df, id_col=None):
        """P(connect) of every row of df in every cell: a DataFrame indexed like df, one column per cell
        (cell_names).  A row's customer is looked up by its id in id_col (None: customer_id_column): a
        customer with history gets its own cells, one known from the customers of the fit its segment's,
        any other the segment of df's segment columns when df has them all, else everyone's cells."""
        id_col = self._customer_id if id_col is None else str(id_col)
        L, h = lib(), self._handle()
        p = np.empty((len(df), len(self._cells)))
        with self._frame(df, id_col) as f:
            check(L.prop_contact_predict(h, f.handle, encode(id_col, "id column"), p.ctypes.data))
        return pd.DataFrame(p, index=df.index, columns=self.cell_names)

    def best(self, df, id_col=None, out=None):
        """Each row's best cell, as `propensity contact best` writes it: a DataFrame indexed like df with the
        columns id (df's ids; None where missing), channel, day, hour and p_connect (the first of the
        largest P(connect), in cell order), the same values as the CLI's file; with out= a path, that file
        written by the library, byte for byte the CLI's."""
        id_col = self._customer_id if id_col is None else str(id_col)
        L, h = lib(), self._handle()
        n = len(df)
        cell, p = np.empty(n, dtype=np.uintp), np.empty(n)
        with self._frame(df, id_col) as f:
            check(L.prop_contact_best(h, f.handle, encode(id_col, "id column"), cell.ctypes.data, p.ctypes.data))
            if out is not None:
                write_file(out, lambda w: L.prop_contact_write_best(h, f.handle, encode(id_col, "id column"), w))
        grid = self.cells
        k = cell.astype(np.intp)
        ids = _column(df, id_col)
        return pd.DataFrame({"id": ids.astype(object).where(ids.notna(), None).to_numpy(),
                             "channel": grid["channel"].to_numpy(dtype=object)[k],
                             "day": grid["day"].to_numpy(dtype=object)[k],
                             "hour": grid["hour"].to_numpy()[k], "p_connect": p}, index=df.index)


# ---- the policy --------------------------------------------------------------------------------

class Policy(Owned):
    """A call policy (tiers, open slots, attempt cap, phone columns; models/README.md "The call policy"),
    read against a contact model, whose channels and slots it names.  Read-only once parsed."""

    _free_name = "prop_policy_free"

    def __init__(self, _handle, contact):
        if not isinstance(_handle, ctypes.c_void_p) or not _handle.value:
            raise PropensityError(PROP_ERR_ARG, "use Policy.load() or Policy.parse()")
        self._h = _handle
        L = lib()
        chans = contact.channels
        self._phones = {c: decode(L.prop_policy_phone_column(_handle, q)) for q, c in enumerate(chans)}

    @staticmethod
    def _contact(contact):
        if not isinstance(contact, ContactModel):
            raise PropensityError(PROP_ERR_ARG, f"a policy is read against a ContactModel, not "
                                  f"{type(contact).__name__}")
        return contact._handle()

    @classmethod
    def load(cls, path, contact):
        """Read a policy file (JSON) against contact; a bad value raises PropensityError (PROP_ERR_RECIPE)
        naming the file and the field by its path (`policy.json: tiers[1].capacity_per_slot: ...`)."""
        out = ctypes.c_void_p()
        check(lib().prop_policy_load(encode_path(path), cls._contact(contact), ctypes.byref(out)))
        return cls(out, contact)

    @classmethod
    def parse(cls, text, contact, source=None):
        """A policy from JSON text (or a dict) against contact; errors name source (None: 'policy') and the
        field by its path."""
        if isinstance(text, dict):
            text = json.dumps(text)
        out = ctypes.c_void_p()
        check(lib().prop_policy_parse(encode(text, "policy"), encode(source, "source"), cls._contact(contact),
                                      ctypes.byref(out)))
        return cls(out, contact)

    @property
    def phone_columns(self):
        """{channel: the call list's column with its phone numbers}, for the channels the policy maps."""
        return {c: col for c, col in self._phones.items() if col is not None}

    def _handle(self):
        if self._h is None:
            raise PropensityError(PROP_ERR_STATE, "the policy was closed")
        return self._h


# ---- the plan -----------------------------------------------------------------------------------

class _Owner(Owned):
    """One C handle freed by the function named (a plan list, a plan)."""

    def __init__(self, free_name):
        self._free_name = free_name
        self._h = ctypes.c_void_p()


def _policy_of(policy, contact):
    """policy as a Policy (and whether we made it): a Policy, a dict, JSON text or a file path."""
    if isinstance(policy, Policy):
        return policy, False
    if isinstance(policy, dict) or (isinstance(policy, str) and policy.lstrip().startswith("{")):
        return Policy.parse(policy, contact), True
    if isinstance(policy, (str, bytes, os.PathLike)):
        return Policy.load(policy, contact), True
    raise PropensityError(PROP_ERR_ARG, f"policy must be a Policy, a dict, JSON text or a file path, not "
                          f"{type(policy).__name__}")


_PLAN_DTYPES = {"id": str, "probability": "float64", "band": "int32", "tier": str, "channel": str, "day": str,
                "hour": "Int64", "p_connect": "float64", "expected_value": "float64", "slot_rank": "Int64",
                "error": str}


def _plan_frame(plan_h, index, ids):
    """The plan as a DataFrame: the CSV the library writes (prop_plan_write into an unnamed temporary file),
    read back with each column's type: empty numbers NaN / <NA>, empty text None; the id column df's own
    ids."""
    L = lib()
    names = ctypes.POINTER(ctypes.c_char_p)()
    cols = [decode(names[j]) for j in range(L.prop_plan_columns(PLAN_FORMATS["csv"], ctypes.byref(names)))]
    if set(cols) != set(_PLAN_DTYPES):
        raise PropensityError(PROP_ERR_STATE, f"the library's plan columns {cols} are not this package's")
    with tempfile.TemporaryFile() as tmp:
        write_file("<plan>", lambda w: L.prop_plan_write(plan_h, w), fd=tmp.fileno())
        tmp.seek(0)
        numeric = [c for c, t in _PLAN_DTYPES.items() if t is not str]
        df = pd.read_csv(tmp, dtype=_PLAN_DTYPES, keep_default_na=False, na_values={c: [""] for c in numeric},
                         float_precision="round_trip", encoding="utf-8")
    if list(df.columns) != cols or len(df) != len(index):
        raise PropensityError(PROP_ERR_STATE, f"the plan read back has columns {list(df.columns)} and {len(df)} "
                              f"rows, not {cols} and {len(index)}")
    for c in ("tier", "channel", "day", "error"):
        df[c] = df[c].astype(object).where(df[c] != "", None)
    df["id"] = ids
    df.index = index
    return df


def _write_vicidial(plan_h, folder):
    """folder/plan.csv and one lead file per slot with calls (folder/weekday_10.txt ...), each written and
    synced before the first is renamed into place, as `propensity plan --format vicidial` writes them."""
    L = lib()
    os.makedirs(folder, exist_ok=True)
    writers = []
    try:
        buf = ctypes.create_string_buffer(32)
        for s in range(L.prop_plan_n_slots(plan_h)):
            if not L.prop_plan_slot_calls(plan_h, s):
                continue
            check(L.prop_plan_slot_name(plan_h, s, buf, len(buf)))
            writers.append(open_writer(os.path.join(os.fsdecode(folder), buf.value.decode() + ".txt"), lead_file=True))
            check(L.prop_plan_write_slot(plan_h, s, writers[-1]))
            check(L.prop_writer_sync(writers[-1]))
        writers.append(open_writer(os.path.join(os.fsdecode(folder), "plan.csv")))
        check(L.prop_plan_write(plan_h, writers[-1]))
        check(L.prop_writer_sync(writers[-1]))
    except BaseException:
        for w in writers:
            L.prop_writer_abort(w)
        raise
    while writers:
        rc = L.prop_writer_commit(writers.pop(0))
        if rc != 0:
            err = last_error(rc)
            for w in writers:
                L.prop_writer_abort(w)
            raise err


def make_plan(model, df, contact, policy, value_col=None, unseen="bucket", exact_max_rows=50000, nthread=0, out=None,
              format="csv"):
    """Model.plan (see there)."""
    if not isinstance(df, pd.DataFrame):
        raise PropensityError(PROP_ERR_ARG, f"Model.plan needs a pandas DataFrame, not {type(df).__name__}")
    if not isinstance(contact, ContactModel):
        raise PropensityError(PROP_ERR_ARG, f"contact must be a ContactModel, not {type(contact).__name__}")
    if format not in PLAN_FORMATS:
        raise PropensityError(PROP_ERR_ARG, f"format must be 'csv' or 'vicidial', not {format!r}")
    if format == "vicidial" and out is None:
        raise PropensityError(PROP_ERR_ARG, "format='vicidial' writes a folder of lead files: give it as out=")
    exact_max_rows = _whole(exact_max_rows, "exact_max_rows", none=False)
    model._check_columns(df, ignore_extra=True)  # the inputs; any other column may be there
    value = model._rank_values(df, "value", value_col, True) if value_col is not None else None
    value_name = None
    if value is not None:
        if value.shape != (len(df),):
            raise PropensityError(PROP_ERR_ARG, f"value_col has shape {value.shape}: one value per row needed, "
                                  f"{len(df)} rows")
        value_name = value_col if isinstance(value_col, str) else "__propensity_value__"
    pol, made = _policy_of(policy, contact)
    try:
        return _plan(model, df, contact, pol, value, value_name, unseen, exact_max_rows, nthread, out, format)
    finally:
        if made:
            pol.close()


def _plan(model, df, contact, pol, value, value_name, unseen, exact_max_rows, nthread, out, format):
    L = lib()
    po = model._options(nthread, unseen=unseen)
    counts = (ctypes.c_size_t * max(1, len(model.inputs)))()
    po.unseen_counts = ctypes.cast(counts, ctypes.POINTER(ctypes.c_size_t))
    lo = PlanlistOptions()
    L.prop_planlist_options_default(ctypes.byref(lo))
    lo.predict = ctypes.pointer(po)
    lo.value_column = encode(value_name, "value column")
    plo = PlanOptions()
    L.prop_plan_options_default(ctypes.byref(plo))
    plo.exact_max_rows, plo.nthread = exact_max_rows, int(nthread)
    # the frame the list reads: the model's inputs and id column, the value, the policy's phone columns
    # (text, as the CLI declares them) and the contact model's segment columns
    data = df.reset_index(drop=True)
    if value is not None:
        data = data.assign(**{value_name: value})
    roles = [(c, "auto") for c in model.inputs] + [(model.id_column, "id")]
    roles += [(value_name, "auto")] + [(c, "id") for c in pol.phone_columns.values()]
    roles += [(c, "auto") for c in contact.segment_columns]
    with _Owner("prop_planlist_free") as pl, _Owner("prop_plan_free") as plan, _frame_of(data, roles) as f:
        check(L.prop_planlist_create(model._handle(), contact._handle(), pol._handle(), ctypes.byref(lo),
                                     ctypes.byref(pl._h)))
        check(L.prop_planlist_add(pl._h, f.handle))
        check(L.prop_planlist_plan(pl._h, ctypes.byref(plo), ctypes.byref(plan._h)))
        ids = _column(df, model.id_column)
        frame = _plan_frame(plan._h, df.index, ids.astype(object).where(ids.notna(), None).to_numpy())
        frame.attrs["summary"] = json.loads(decode(L.prop_plan_summary_json(plan._h)))
        if out is not None and format == "csv":
            write_file(out, lambda w: L.prop_plan_write(plan._h, w))
        elif out is not None:
            _write_vicidial(plan._h, out)
    frame.attrs["unseen_categories"] = {name: int(counts[j]) for j, name in enumerate(model.inputs) if counts[j]}
    return frame
