"""pandas and numpy data into libpropensity: prop_frame built column by column, dense matrices.

Column mapping (pandas dtype -> frame column):
  - bool / nullable boolean          -> numeric 0/1 (NA -> missing)
  - any other numeric dtype           -> numeric (float64; NaN / NA -> missing; +-Inf is an error)
  - object holding numbers only       -> numeric (Python / numpy floats and ints, None / NaN
                                         missing: e.g. scikit-learn's ColumnTransformer output)
  - object / category / string        -> categorical labels (str() of each value; None / NaN /
                                         NA -> missing)
  - anything else (datetime, ...)     -> PropensityError(PROP_ERR_SCHEMA) naming the column, except
                                         in the time column: datetimes become YYYY-MM-DD text and
                                         periods their text (2026-06), which the library reads
"""

import ctypes
import numbers

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ._lib import (COL_CATEGORICAL, COL_ID, COL_TARGET, FLOAT32, FLOAT64, PROP_ERR_ARG, PROP_ERR_SCHEMA,
                   PROP_ERR_VALUE, Owned, PropensityError, check, encode, lib)


class Frame(Owned):
    """Owns one prop_frame handle (freed by close() or when garbage-collected)."""

    _free_name = "prop_frame_free"

    def __init__(self, nrows):
        h = ctypes.c_void_p()
        check(lib().prop_frame_create(int(nrows), ctypes.byref(h)))
        self._h = h
        self.nrows = int(nrows)

    @property
    def handle(self):
        return self._h

    def add_numeric(self, name, values):
        v = np.ascontiguousarray(values, dtype=np.float64)
        if v.shape != (self.nrows,):
            raise PropensityError(PROP_ERR_ARG, f"column '{name}': {v.shape} values for {self.nrows} rows")
        check(lib().prop_frame_add_numeric(self._h, encode(name, "column name"), v.ctypes.data))

    def add_strings(self, name, coltype, values):
        ptrs, keep = string_pointers(values, name)
        if ptrs.shape != (self.nrows,):
            raise PropensityError(PROP_ERR_ARG, f"column '{name}': {ptrs.shape} values for {self.nrows} rows")
        check(lib().prop_frame_add_strings(self._h, encode(name, "column name"), coltype, ptrs.ctypes.data))
        del keep  # the library copied the strings

def _label(v):
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    s = v if isinstance(v, str) else str(v)
    if "\0" in s:
        raise PropensityError(PROP_ERR_VALUE, f"label {s!r} contains a NUL character")
    return s


def own_labels(values):
    """values as a Series whose distinct entries are distinct labels.  An object column of mixed
    Python objects is turned into str() labels value by value first: pandas hashes 1, 1.0 and True
    as one value and keeps whichever came first, so "1.0" would depend on the rows around it."""
    s = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    if pdt.is_object_dtype(s.dtype) and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        a = s.to_numpy()
        miss = pd.isna(a)
        s = pd.Series([None if m else _label(v) for v, m in zip(a, miss)], dtype=object, index=s.index)
    return s


def string_pointers(values, name="column"):
    """An array of char* (as uintp) for values, NULL where missing, plus the buffers to keep alive.

    Labels are encoded once per distinct value (pd.factorize), so a million rows with a handful of
    labels cost one gather, not a million ctypes objects."""
    codes, uniques = pd.factorize(own_labels(values), use_na_sentinel=True)
    uniq = list(uniques.categories[uniques.codes] if isinstance(uniques, pd.Categorical) else uniques)
    try:
        bufs = [ctypes.create_string_buffer(_label(u).encode("utf-8")) for u in uniq]
    except PropensityError as e:
        raise PropensityError(e.code, f"column '{name}': {e.message}") from None
    addrs = np.fromiter((ctypes.addressof(b) for b in bufs), dtype=np.uintp, count=len(bufs))
    addrs = np.append(addrs, np.uintp(0))  # code -1 (missing) -> the last entry, NULL
    ptrs = np.ascontiguousarray(addrs[codes])
    return ptrs, bufs


# pandas.api.types.infer_dtype of an object column whose values (missing ones aside) are all numbers
_NUMBERS_IN_OBJECTS = ("floating", "integer", "mixed-integer-float", "decimal")


def _holds_numbers(s):
    """Is every value of object Series s (missing ones aside) a number?  Its first value decides whether
    the whole column is looked at: a column of labels (the usual object column) costs one value."""
    def number(v):
        return isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_))

    values = (v for v in s.to_numpy() if not (pdt.is_scalar(v) and pd.isna(v)))
    if not number(next(values, None)):
        return False
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("mixed", "mixed-integer"):  # Decimal among floats or ints, or text: look at each value
        return all(number(v) for v in values)
    return kind in _NUMBERS_IN_OBJECTS


def column_kind(s, name):
    """'numeric' or 'strings' for a pandas Series (see the module comment).  An object column whose
    values are all numbers (Python or numpy floats and ints, missing values aside: what
    scikit-learn's ColumnTransformer outputs for scaled columns next to text ones) is numeric."""
    dt = s.dtype
    if pdt.is_bool_dtype(dt) and not pdt.is_object_dtype(dt):
        return "numeric"
    if pdt.is_object_dtype(dt) and _holds_numbers(s):
        return "numeric"
    if isinstance(dt, pd.CategoricalDtype) or pdt.is_object_dtype(dt) or pdt.is_string_dtype(dt):
        return "strings"
    if pdt.is_numeric_dtype(dt) and not pdt.is_complex_dtype(dt):
        return "numeric"
    raise PropensityError(PROP_ERR_SCHEMA,
                          f"column '{name}': dtype {dt} is not supported; convert it to numbers, bool or strings")


def numeric_values(s):
    """A Series as contiguous float64 (NaN = missing); no copy for a contiguous float64 column."""
    dt = s.dtype
    if pdt.is_object_dtype(dt):  # numbers in an object column (None, NaN and pd.NA missing)
        a = s.to_numpy()
        miss = pd.isna(a)
        out = np.full(len(a), np.nan)
        out[~miss] = a[~miss].astype(np.float64)
        return out
    if isinstance(dt, np.dtype):
        a = s.to_numpy()
        return np.ascontiguousarray(a, dtype=np.float64)
    return np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan))


def time_labels(s):
    """A time column's datetime or period values as the text the library reads as periods: dates as
    YYYY-MM-DD (read as their month), monthly periods as YYYY-MM; other dtypes unchanged."""
    if pdt.is_datetime64_any_dtype(s.dtype):
        return s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.astype(str).astype(object).where(s.notna(), None)
    return s


def id_labels(s):
    """An id column's labels: a float column's whole numbers without the '.0' str() would add (pandas reads
    ids as floats when one is missing), so that 1201.0 is the customer "1201" the library writes for the
    number and a CSV holds; other columns as they are (str() of each value)."""
    if not (pdt.is_float_dtype(s.dtype) and isinstance(s.dtype, np.dtype)):
        return s
    def text(v):
        r = repr(float(v))
        return r[:-2] if r.endswith(".0") else r
    a = s.to_numpy()
    return pd.Series([None if v != v else text(v) for v in a], dtype=object, index=s.index)


def add_series(frame, name, s, role="auto"):
    """Add Series s to frame as column name; role 'auto' (by dtype), 'id' (text, see id_labels), 'target'
    or 'time' (the time column: datetimes and periods as text, see time_labels; else by dtype)."""
    if role == "id":
        frame.add_strings(name, COL_ID, id_labels(s))
        return
    if role == "time":
        s = time_labels(s)
    kind = column_kind(s, name)
    if kind == "numeric":
        frame.add_numeric(name, numeric_values(s))
    else:
        frame.add_strings(name, COL_TARGET if role == "target" else COL_CATEGORICAL, s)


def frame_from_dataframe(df, columns):
    """A Frame of len(df) rows holding columns [(name, role)] of df (roles as for add_series)."""
    f = Frame(len(df))
    try:
        for name, role in columns:
            add_series(f, str(name), df[name], role)
    except BaseException:
        f.close()
        raise
    return f


def as_dense(X):
    """(array, prop_dtype, row_stride in elements) for a 2-D array-like, without copying a float32 /
    float64 array whose rows are contiguous (C-contiguous, or a row slice / column prefix of one);
    any other layout or dtype is copied once into a C-contiguous float64 (float32 stays float32)."""
    a = np.asarray(X)
    if a.ndim != 2:
        raise PropensityError(PROP_ERR_ARG, f"expected a 2-D array (rows x model inputs), got {a.ndim}-D "
                              f"shape {a.shape}")
    if a.dtype == np.float32:
        code = FLOAT32
    elif a.dtype == np.float64:
        code = FLOAT64
    else:
        if not (pdt.is_numeric_dtype(a.dtype) or a.dtype == np.bool_) or pdt.is_complex_dtype(a.dtype):
            raise PropensityError(PROP_ERR_VALUE, f"array dtype {a.dtype} is not numeric; categorical inputs are "
                                  "given as codes (Model.category_codes)")
        # other byte orders of float32 stay float32; ints, bools, float16 ... become float64
        if a.dtype.kind == "f" and a.dtype.itemsize == 4:
            a, code = a.astype(np.float32), FLOAT32
        else:
            a, code = a.astype(np.float64), FLOAT64
        return a, code, a.shape[1]
    item = a.itemsize
    n, k = a.shape
    rows_ok = (k <= 1 or a.strides[1] == item) and a.strides[0] % item == 0 and \
        (n <= 1 or a.strides[0] // item >= k)
    if rows_ok and a.strides[0] >= 0:
        stride = a.strides[0] // item if n > 1 else k
        return a, code, max(stride, k)
    a = np.ascontiguousarray(a)
    return a, code, a.shape[1]
