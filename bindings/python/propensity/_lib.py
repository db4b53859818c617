"""Loading libpropensity through ctypes: where to find it, the C declarations, and error checks.

Search order (the first library that loads and has this package's version wins; the error lists
every place tried and why it was passed over):
  1. the PROPENSITY_LIBRARY environment variable: a path to libpropensity.so, or a directory
     holding it (when it is set, nothing else is tried);
  2. the build tree, only when this package is imported from a checkout of the repository
     (<repo>/bindings/python/propensity, next to <repo>/include/propensity.h):
     <repo>/build/release/libpropensity.so, the library built from the same sources;
  3. ctypes.util.find_library("propensity"): the ldconfig cache (after `cmake --install` and
     `ldconfig`), then LD_LIBRARY_PATH and the linker's paths;
  4. the install prefix as pkg-config knows it: `pkg-config --variable=libdir propensity`
     (cmake --install writes propensity.pc; PKG_CONFIG_PATH reaches other prefixes);
  5. the prefix this package is installed in (<prefix>/lib, when pip put it under
     <prefix>/lib/pythonX.Y/site-packages, e.g. `pip install --prefix` into the prefix of
     `cmake --install --prefix`) and sys.prefix/lib;
  6. CMake's default prefix and the system's directories: /usr/local/lib, /usr/local/lib/<multiarch>,
     /usr/lib/<multiarch>, /usr/lib, /usr/lib64.

ctypes.CDLL releases the GIL for the duration of every foreign call, so Python threads scoring
with one model run in parallel inside the library.
"""

import ctypes
import ctypes.util
import os
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

from ._version import __version__

# ---- status codes (fixed forever by the header) -----------------------------------------------

PROP_OK = 0
PROP_ERR_NOMEM = -1
PROP_ERR_ARG = -2
PROP_ERR_IO = -3
PROP_ERR_CSV = -4
PROP_ERR_SCHEMA = -5
PROP_ERR_VALUE = -6
PROP_ERR_CATEGORY = -7
PROP_ERR_RECIPE = -8
PROP_ERR_FORMAT = -9
PROP_ERR_VERSION = -10
PROP_ERR_TRUNCATED = -11
PROP_ERR_CORRUPT = -12
PROP_ERR_TRAIN = -13
PROP_ERR_BACKEND = -14
PROP_ERR_CANCELLED = -15
PROP_ERR_STATE = -16
PROP_ERR_RANGE = -17
STATUS_NAMES = {v: k for k, v in sorted(globals().items()) if k.startswith("PROP_") and isinstance(v, int)}

# column types, dtypes, rank keys
COL_AUTO, COL_NUMERIC, COL_CATEGORICAL, COL_ID, COL_TARGET, COL_IGNORE = -1, 0, 1, 2, 3, 4
FLOAT32, FLOAT64 = 0, 1
RANK_PROBABILITY, RANK_VALUE = 0, 1


class PropensityError(Exception):
    """A libpropensity call failed (or the binding refused its arguments).

    Attributes: code (the negative prop_status value), status (its name, e.g.
    "PROP_ERR_SCHEMA") and message (prop_last_error() text, with file/row/column or recipe
    field context)."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = int(code)
        self.status = STATUS_NAMES.get(self.code, "PROP_ERR_UNKNOWN")
        self.message = message

    def __str__(self):
        return f"{self.status}: {self.message}"


# ---- C structures and callbacks -----------------------------------------------------------------

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t)


class TrainOptions(ctypes.Structure):
    _c_name_ = "prop_train_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("target", ctypes.c_char_p),
        ("positive", ctypes.c_char_p),
        ("id", ctypes.c_char_p),
        ("ignore", ctypes.POINTER(ctypes.c_char_p)),
        ("n_ignore", ctypes.c_size_t),
        ("connected", ctypes.c_char_p),
        ("time_col", ctypes.c_char_p),
        ("nthread", ctypes.c_int),
        ("log", LOG_FN),
        ("progress", PROGRESS_FN),
        ("user", ctypes.c_void_p),
    ]


class PredictOptions(ctypes.Structure):
    _c_name_ = "prop_predict_options"
    _fields_ = [("struct_size", ctypes.c_size_t), ("nthread", ctypes.c_int), ("block_rows", ctypes.c_size_t), ("uncalibrated", ctypes.c_int),
                ("unseen", ctypes.c_int), ("unseen_counts", ctypes.POINTER(ctypes.c_size_t))]


UNSEEN = {"error": 0, "bucket": 1}  # prop_unseen


class RankOptions(ctypes.Structure):
    _c_name_ = "prop_rank_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("by", ctypes.c_int),
        ("capacity", ctypes.c_size_t),
        ("band_quota", ctypes.POINTER(ctypes.c_size_t)),
        ("nbands", ctypes.c_size_t),
    ]


class CalllistOptions(ctypes.Structure):
    _c_name_ = "prop_calllist_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("predict", ctypes.POINTER(PredictOptions)),
        ("rank", ctypes.POINTER(RankOptions)),
        ("value_column", ctypes.c_char_p),
        ("id_column", ctypes.c_char_p),
        ("order", ctypes.c_int),
        ("source", ctypes.c_char_p),
        ("reasons", ctypes.c_size_t),
        ("memory_limit", ctypes.c_size_t),
        ("temp_dir", ctypes.c_char_p),
    ]


class WriterOptions(ctypes.Structure):
    _c_name_ = "prop_writer_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("delimiter", ctypes.c_char),
        ("inputs", ctypes.POINTER(ctypes.c_char_p)),
        ("n_inputs", ctypes.c_size_t),
        ("mode", ctypes.c_uint),
        ("no_quoting", ctypes.c_int),
        ("keep_formulas", ctypes.c_int),
    ]


ORDER = {"rank": 0, "input": 1}  # prop_list_order


class MonitorOptions(ctypes.Structure):
    _c_name_ = "prop_monitor_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("target", ctypes.c_char_p),
        ("positive", ctypes.c_char_p),
        ("time_col", ctypes.c_char_p),
        ("watch", ctypes.c_double),
        ("act", ctypes.c_double),
        ("nthread", ctypes.c_int),
        ("data_path", ctypes.c_char_p),
    ]


class BandRow(ctypes.Structure):
    _c_name_ = "prop_band_row"
    _fields_ = [
        ("band", ctypes.c_int),
        ("lo", ctypes.c_double),
        ("hi", ctypes.c_double),
        ("count", ctypes.c_size_t),
        ("share", ctypes.c_double),
        ("positives", ctypes.c_size_t),
        ("success_rate", ctypes.c_double),
        ("success_lo", ctypes.c_double),
        ("success_hi", ctypes.c_double),
        ("lift", ctypes.c_double),
        ("mean_prob", ctypes.c_double),
        ("connected", ctypes.c_size_t),
        ("connect_rate", ctypes.c_double),
        ("success_connected", ctypes.c_double),
    ]


class DemoOptions(ctypes.Structure):
    _c_name_ = "prop_demo_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("seed", ctypes.c_uint64),
        ("customers_per_month", ctypes.c_size_t),
        ("months", ctypes.c_size_t),
        ("missing_rate", ctypes.c_double),
        ("first_month", ctypes.c_size_t),
        ("with_outcomes", ctypes.c_int),
        ("drift", ctypes.c_int),
    ]


class ContactOptions(ctypes.Structure):
    _c_name_ = "prop_contact_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("id", ctypes.c_char_p),
        ("time", ctypes.c_char_p),
        ("channel", ctypes.c_char_p),
        ("outcome", ctypes.c_char_p),
        ("positive", ctypes.c_char_p),
        ("customer_id", ctypes.c_char_p),
        ("segment_cols", ctypes.POINTER(ctypes.c_char_p)),
        ("n_segment_cols", ctypes.c_size_t),
        ("channels", ctypes.POINTER(ctypes.c_char_p)),
        ("n_channels", ctypes.c_size_t),
        ("first_hour", ctypes.c_int),
        ("block_hours", ctypes.c_int),
        ("n_blocks", ctypes.c_int),
        ("tz_minutes", ctypes.c_int),
        ("holdout_fraction", ctypes.c_double),
        ("nthread", ctypes.c_int),
        ("log", LOG_FN),
        ("user", ctypes.c_void_p),
    ]


CONTACT_TZ_AS_WRITTEN = -100000  # PROP_CONTACT_TZ_AS_WRITTEN


class PlanOptions(ctypes.Structure):
    _c_name_ = "prop_plan_options"
    _fields_ = [("struct_size", ctypes.c_size_t), ("exact_max_rows", ctypes.c_size_t), ("nthread", ctypes.c_int)]


class PlanlistOptions(ctypes.Structure):
    _c_name_ = "prop_planlist_options"
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("predict", ctypes.POINTER(PredictOptions)),
        ("value_column", ctypes.c_char_p),
        ("source", ctypes.c_char_p),
    ]


PLAN_FORMATS = {"csv": 0, "vicidial": 1}  # prop_plan_format


# ---- declarations ---------------------------------------------------------------------------------

_vp, _cp, _sz, _int, _dbl = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double
_pvp, _psz = ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)

# name: (restype, [argtypes]).  Pointers to caller-allocated numpy buffers are passed as c_void_p
# (the integer address from ndarray.ctypes.data), so no ctypes array is ever built per row.
_DECLS = {
    "prop_version": (_cp, []),
    "prop_version_number": (ctypes.c_uint, []),
    "prop_strerror": (_cp, [_int]),
    "prop_last_error": (_cp, []),
    "prop_last_error_code": (_int, []),
    "prop_status_name": (_cp, [_int]),
    "prop_free": (None, [_vp]),
    "prop_struct_layout": (_int, [_cp, _cp, _psz, _psz]),
    "prop_struct_field": (_int, [_cp, _sz, ctypes.POINTER(ctypes.c_char_p)]),
    # frames
    "prop_frame_create": (_int, [_sz, _pvp]),
    "prop_frame_add_numeric": (_int, [_vp, _cp, _vp]),
    "prop_frame_add_strings": (_int, [_vp, _cp, _int, _vp]),
    "prop_frame_free": (None, [_vp]),
    "prop_frame_n_rows": (_sz, [_vp]),
    "prop_frame_n_columns": (_sz, [_vp]),
    "prop_frame_binary_values": (_int, [_vp, _cp, _cp, _vp]),
    # recipes
    "prop_recipe_default": (_int, [_pvp]),
    "prop_recipe_parse": (_int, [_cp, _cp, _pvp]),
    "prop_recipe_load": (_int, [_cp, _pvp]),
    "prop_recipe_to_json": (_int, [_vp, ctypes.POINTER(ctypes.c_void_p)]),
    "prop_recipe_free": (None, [_vp]),
    # training, files
    "prop_train_options_default": (None, [ctypes.POINTER(TrainOptions)]),
    "prop_model_train": (_int, [_vp, _vp, ctypes.POINTER(TrainOptions), _pvp]),
    "prop_model_free": (None, [_vp]),
    "prop_model_save": (_int, [_vp, _cp]),
    "prop_model_load": (_int, [_cp, _pvp]),
    "prop_model_save_to_buffer": (_int, [_vp, ctypes.POINTER(ctypes.c_void_p), _psz]),
    "prop_model_load_from_buffer": (_int, [_vp, _sz, _pvp]),
    # inspection
    "prop_model_n_inputs": (_sz, [_vp]),
    "prop_model_input_name": (_cp, [_vp, _sz]),
    "prop_model_input_type": (_int, [_vp, _sz]),
    "prop_model_input_index": (ctypes.c_long, [_vp, _cp]),
    "prop_model_n_categories": (_sz, [_vp, _sz]),
    "prop_model_category": (_cp, [_vp, _sz, _sz]),
    "prop_model_category_code": (_dbl, [_vp, _sz, _cp]),
    "prop_model_id_column": (_cp, [_vp]),
    "prop_model_connected_column": (_cp, [_vp]),
    "prop_model_time_column": (_cp, [_vp]),
    "prop_model_target": (_cp, [_vp]),
    "prop_model_positive_label": (_cp, [_vp]),
    "prop_model_negative_label": (_cp, [_vp]),
    "prop_model_target_values": (_int, [_vp, _vp, _cp, _vp]),
    "prop_model_n_bands": (_sz, [_vp]),
    "prop_model_band_edges": (ctypes.POINTER(ctypes.c_double), [_vp]),
    "prop_model_metadata_json": (_cp, [_vp]),
    "prop_model_n_members": (_sz, [_vp]),
    "prop_model_member_name": (_cp, [_vp, _sz]),
    # scoring
    "prop_predict_options_default": (None, [ctypes.POINTER(PredictOptions)]),
    "prop_model_predict_frame": (_int, [_vp, _vp, _vp, _vp, _vp, ctypes.POINTER(PredictOptions)]),
    "prop_model_predict_dense": (_int, [_vp, _vp, _int, _sz, _sz, _sz, _vp, _vp, _vp,
                                        ctypes.POINTER(PredictOptions)]),
    "prop_model_band_of": (_int, [_vp, _dbl]),
    # ranking, explanation, band tables, metrics, demo
    "prop_rank_options_default": (None, [ctypes.POINTER(RankOptions)]),
    "prop_rank": (_int, [_vp, _vp, _vp, _vp, _sz, ctypes.POINTER(RankOptions), _vp, _vp, _vp, _psz]),
    "prop_model_importance": (_int, [_vp, _vp, ctypes.POINTER(ctypes.c_char_p)]),
    "prop_model_permutation_importance": (_int, [_vp, _vp, _sz, ctypes.c_uint64, _vp,
                                                 ctypes.POINTER(ctypes.c_double)]),
    "prop_calllist_options_default": (None, [ctypes.POINTER(CalllistOptions)]),
    "prop_calllist_create": (_int, [_vp, ctypes.POINTER(CalllistOptions), _pvp]),
    "prop_calllist_add": (_int, [_vp, _vp, _vp]),
    "prop_calllist_add_dense": (_int, [_vp, _vp, _int, _sz, _sz, _sz, _vp, _vp]),
    "prop_calllist_finish": (_int, [_vp]),
    "prop_calllist_n_rows": (_sz, [_vp]),
    "prop_calllist_n_columns": (_sz, [_vp]),
    "prop_calllist_column": (_cp, [_vp, _sz]),
    "prop_calllist_get": (_int, [_vp, _vp, _vp, _vp, _vp, _vp, _vp]),
    "prop_calllist_error": (_cp, [_vp, _sz]),
    "prop_calllist_reason": (_cp, [_vp, _sz, _sz]),
    "prop_model_contributions_dense": (_int, [_vp, _vp, _int, _sz, _sz, _sz, _vp, ctypes.POINTER(ctypes.c_double),
                                              _vp, ctypes.POINTER(PredictOptions)]),
    "prop_model_contributions_frame": (_int, [_vp, _vp, _vp, ctypes.POINTER(ctypes.c_double), _vp,
                                              ctypes.POINTER(PredictOptions)]),
    "prop_calllist_write": (_int, [_vp, _vp]),
    "prop_calllist_free": (None, [_vp]),
    "prop_writer_options_default": (None, [ctypes.POINTER(WriterOptions)]),
    "prop_writer_open": (_int, [_cp, ctypes.POINTER(WriterOptions), _pvp]),
    "prop_writer_open_fd": (_int, [_int, _cp, ctypes.POINTER(WriterOptions), _pvp]),
    "prop_writer_sync": (_int, [_vp]),
    "prop_writer_commit": (_int, [_vp]),
    "prop_writer_abort": (None, [_vp]),
    "prop_monitor_options_default": (None, [ctypes.POINTER(MonitorOptions)]),
    "prop_model_has_reference": (_int, [_vp]),
    "prop_monitor": (_int, [_vp, _vp, ctypes.POINTER(MonitorOptions), ctypes.POINTER(ctypes.c_void_p),
                            ctypes.POINTER(ctypes.c_int)]),
    "prop_band_table": (_int, [_vp, _vp, _vp, _sz, _vp, _sz, ctypes.POINTER(BandRow), _psz]),
    "prop_metric_auc": (_int, [_vp, _vp, _sz, ctypes.POINTER(ctypes.c_double)]),
    "prop_demo_options_default": (None, [ctypes.POINTER(DemoOptions)]),
    "prop_demo_write_csv": (_int, [_cp, ctypes.POINTER(DemoOptions)]),
    # the contact model, the policy and the call plan
    "prop_contact_options_default": (None, [ctypes.POINTER(ContactOptions)]),
    "prop_contact_fit": (_int, [_vp, _vp, ctypes.POINTER(ContactOptions), _pvp]),
    "prop_contact_save": (_int, [_vp, _cp]),
    "prop_contact_load": (_int, [_cp, _pvp]),
    "prop_contact_free": (None, [_vp]),
    "prop_contact_n_cells": (_sz, [_vp]),
    "prop_contact_cell": (_int, [_vp, _sz, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p),
                                 ctypes.POINTER(ctypes.c_int)]),
    "prop_contact_segment_columns": (_sz, [_vp, ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))]),
    "prop_contact_customer_id_column": (_cp, [_vp]),
    "prop_contact_report_json": (_cp, [_vp]),
    "prop_contact_predict": (_int, [_vp, _vp, _cp, _vp]),
    "prop_contact_best": (_int, [_vp, _vp, _cp, _vp, _vp]),
    "prop_contact_write_best": (_int, [_vp, _vp, _cp, _vp]),
    "prop_policy_parse": (_int, [_cp, _cp, _vp, _pvp]),
    "prop_policy_load": (_int, [_cp, _vp, _pvp]),
    "prop_policy_free": (None, [_vp]),
    "prop_policy_phone_column": (_cp, [_vp, _sz]),
    "prop_plan_options_default": (None, [ctypes.POINTER(PlanOptions)]),
    "prop_plan_free": (None, [_vp]),
    "prop_plan_n_rows": (_sz, [_vp]),
    "prop_plan_summary_json": (_cp, [_vp]),
    "prop_plan_columns": (_sz, [_int, ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))]),
    "prop_plan_write": (_int, [_vp, _vp]),
    "prop_plan_n_slots": (_sz, [_vp]),
    "prop_plan_slot_calls": (_sz, [_vp, _sz]),
    "prop_plan_slot_name": (_int, [_vp, _sz, _vp, _sz]),
    "prop_plan_write_slot": (_int, [_vp, _sz, _vp]),
    "prop_planlist_options_default": (None, [ctypes.POINTER(PlanlistOptions)]),
    "prop_planlist_create": (_int, [_vp, _vp, _vp, ctypes.POINTER(PlanlistOptions), _pvp]),
    "prop_planlist_add": (_int, [_vp, _vp]),
    "prop_planlist_plan": (_int, [_vp, ctypes.POINTER(PlanOptions), _pvp]),
    "prop_planlist_n_rows": (_sz, [_vp]),
    "prop_planlist_free": (None, [_vp]),
}

# ---- finding the library --------------------------------------------------------------------------

_LIBNAMES = ("libpropensity.so", "libpropensity.so.0")
_HERE = Path(__file__).resolve().parent  # .../propensity


def _checkout():
    """The repository this package is imported from, or None for an installed copy."""
    repo = _HERE.parents[2] if len(_HERE.parents) > 2 else None  # <repo>/bindings/python/propensity
    if repo and _HERE.parent.name == "python" and _HERE.parent.parent.name == "bindings" and \
            (repo / "include" / "propensity.h").is_file() and (repo / "CMakeLists.txt").is_file():
        return repo
    return None


def _pkg_config_libdir():
    """(description, libdir or None) from `pkg-config --variable=libdir propensity`."""
    what = "pkg-config --variable=libdir propensity"
    try:
        r = subprocess.run(["pkg-config", "--variable=libdir", "propensity"], capture_output=True, text=True,
                           timeout=20)
    except (OSError, subprocess.SubprocessError) as e:
        return f"{what} (could not run: {e})", None
    d = r.stdout.strip()
    if r.returncode != 0 or not d:
        return f"{what} (propensity.pc not found; PKG_CONFIG_PATH={os.environ.get('PKG_CONFIG_PATH', '')!r})", None
    return what, Path(d)


def _prefix_dirs():
    """Library directories of the prefix this package is installed in and of sys.prefix."""
    out = []
    site = _HERE.parent  # <prefix>/lib/pythonX.Y/site-packages (or dist-packages)
    if site.name in ("site-packages", "dist-packages") and site.parent.name.startswith("python"):
        out.append(("the package's prefix", site.parent.parent))
    out.append(("sys.prefix", Path(sys.prefix) / "lib"))
    return out


def _candidates():
    """(description, path or None) in search order; None marks a place that gave no path."""
    env = os.environ.get("PROPENSITY_LIBRARY")
    if env:
        p = Path(env)
        if p.is_dir():
            return [(f"PROPENSITY_LIBRARY directory {p}", p / n) for n in _LIBNAMES]
        return [("PROPENSITY_LIBRARY", p)]
    out = [("PROPENSITY_LIBRARY (not set)", None)]
    repo = _checkout()
    if repo:
        out.append(("build tree of the checkout", repo / "build" / "release" / "libpropensity.so"))
    found = ctypes.util.find_library("propensity")
    out.append(("ctypes.util.find_library('propensity')" + ("" if found else " (nothing found)"), found))
    what, libdir = _pkg_config_libdir()
    out += [(what, libdir / n) for n in _LIBNAMES] if libdir else [(what, None)]
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = _prefix_dirs() + [("CMake's default prefix", Path("/usr/local/lib"))]
    if multiarch:
        dirs += [("CMake's default prefix", Path("/usr/local/lib") / multiarch),
                 ("system directory", Path("/usr/lib") / multiarch)]
    dirs += [("system directory", Path("/usr/lib")), ("system directory", Path("/usr/lib64"))]
    seen = set()
    for what, d in dirs:
        if d in seen:
            continue
        seen.add(d)
        out += [(what, d / n) for n in _LIBNAMES]
    return out


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p), ("dli_sname", ctypes.c_char_p),
                ("dli_saddr", ctypes.c_void_p)]


def _file_of(handle, spath):
    """The file the loader opened for handle (a bare soname from find_library resolves somewhere)."""
    try:
        libc = ctypes.CDLL(None)
        info = _DlInfo()
        if libc.dladdr(ctypes.cast(handle.prop_version, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.fsdecode(info.dli_fname)
    except (AttributeError, OSError):
        pass
    return spath


def _load():
    """(handle, path) of the first candidate that loads, declares and has this package's version."""
    tried, wrong_version = [], False
    for what, path in _candidates():
        if path is None:
            tried.append(what)
            continue
        spath = str(path)
        # find_library returns a bare soname such as "libpropensity.so.0": let the loader resolve it
        if os.sep in spath and not os.path.exists(spath):
            tried.append(f"{what}: {spath} (not found)")
            continue
        try:
            handle = ctypes.CDLL(spath)
        except OSError as e:
            tried.append(f"{what}: {spath} ({e})")
            continue
        spath = _file_of(handle, spath)
        try:
            _declare(handle)
        except AttributeError as e:  # a function missing: another version of the library
            wrong_version = True
            tried.append(f"{what}: {spath} (not a usable libpropensity: {e})")
            continue
        v = handle.prop_version().decode()
        if v != __version__:
            wrong_version = True
            tried.append(f"{what}: {spath} (libpropensity {v}, but this propensity package is {__version__})")
            continue
        return handle, spath
    env_set = bool(os.environ.get("PROPENSITY_LIBRARY"))
    if wrong_version:
        raise PropensityError(PROP_ERR_VERSION, "no libpropensity of this package's version " + __version__ +
                              "; tried:\n  " + "\n  ".join(tried) + "\nBuild or install the matching library" +
                              ("" if env_set else ", or point PROPENSITY_LIBRARY at it") + ".")
    raise PropensityError(PROP_ERR_IO, "cannot find libpropensity; tried:\n  " + "\n  ".join(tried) +
                          ("" if env_set else "\nInstall it (cmake --install build/release, then ldconfig), make "
                           "pkg-config find propensity.pc (PKG_CONFIG_PATH), or set PROPENSITY_LIBRARY to the path "
                           "of libpropensity.so."))


def _declare(lib):
    for name, (res, args) in _DECLS.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


STRUCTS = (TrainOptions, PredictOptions, RankOptions, CalllistOptions, WriterOptions, MonitorOptions, BandRow,
           DemoOptions, ContactOptions, PlanOptions, PlanlistOptions)


def _check_view(lib, path):
    """Our copies of the library's status codes and structs against the library itself: a binding
    that has drifted from the header is refused here, not found out by reading garbage later."""
    problems = []
    for code, name in STATUS_NAMES.items():
        got = lib.prop_status_name(code)
        if decode(got) != name:
            problems.append(f"status {code}: the library calls it {decode(got)}, this package {name}")
    for code in range(-1, -128, -1):  # codes the library has and this package lacks
        got = lib.prop_status_name(code)
        if got is not None and code not in STATUS_NAMES:
            problems.append(f"status {code} ({decode(got)}) is unknown to this package")
    off, size = ctypes.c_size_t(), ctypes.c_size_t()
    for st in STRUCTS:
        cname = st._c_name_.encode()
        if lib.prop_struct_layout(cname, None, None, ctypes.byref(size)) != 0:
            problems.append(f"{st._c_name_}: unknown to the library")
            continue
        if size.value != ctypes.sizeof(st):
            problems.append(f"{st._c_name_}: {size.value} bytes in the library, {ctypes.sizeof(st)} here")
        theirs, field = [], ctypes.c_char_p()
        while lib.prop_struct_field(cname, len(theirs), ctypes.byref(field)) == 0:
            theirs.append(decode(field.value))
        ours = [f for f, _ in st._fields_]
        if theirs != ours:
            problems.append(f"{st._c_name_}: fields {theirs} in the library, {ours} here")
            continue
        for f in ours:
            lib.prop_struct_layout(cname, f.encode(), ctypes.byref(off), ctypes.byref(size))
            d = getattr(st, f)
            if (off.value, size.value) != (d.offset, d.size):
                problems.append(f"{st._c_name_}.{f}: offset {off.value} size {size.value} in the library, "
                                f"offset {d.offset} size {d.size} here")
    if problems:
        raise PropensityError(PROP_ERR_VERSION, f"{path}: this propensity package does not match the library:\n  " +
                              "\n  ".join(problems))


_lock = threading.Lock()
_lib = None
_lib_path = None


def lib():
    """The loaded, declared and version-checked library (loaded once per process)."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            handle, path = _load()
            try:
                _declare(handle)
            except AttributeError as e:
                raise PropensityError(PROP_ERR_VERSION, f"{path}: not a usable libpropensity: {e}") from None
            v = handle.prop_version().decode()
            if v != __version__:
                raise PropensityError(PROP_ERR_VERSION,
                                      f"{path} is libpropensity {v}, but this propensity package is {__version__}; "
                                      "build the matching library or point PROPENSITY_LIBRARY at it")
            _check_view(handle, path)
            _lib_path = path
            _lib = handle
    return _lib


def library_path():
    """The path of the libpropensity actually loaded."""
    lib()
    return _lib_path


def c_free(ptr):
    """Free memory the library allocated for us (prop_free)."""
    lib().prop_free(ptr)


def last_error(code):
    """A PropensityError for status code, with the calling thread's prop_last_error() text."""
    L = lib()
    msg = L.prop_last_error()
    msg = msg.decode("utf-8", "replace") if msg else ""
    if not msg:
        s = L.prop_strerror(code)
        msg = s.decode("utf-8", "replace") if s else "unknown error"
    return PropensityError(code, msg)


def check(rc):
    """Raise PropensityError when a library call returned a non-zero status."""
    if rc != PROP_OK:
        raise last_error(rc)
    return rc


def encode(s, what="string"):
    """A str / bytes / PathLike as NUL-terminated UTF-8 bytes (None stays None)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        b = s
    elif isinstance(s, os.PathLike):
        b = os.fsencode(s)
    else:
        b = str(s).encode("utf-8")
    if b"\0" in b:
        raise PropensityError(PROP_ERR_ARG, f"{what} {s!r} contains a NUL character")
    return b


def encode_path(p):
    """A file path (str, bytes or PathLike) as bytes for the C library."""
    if p is None:
        raise PropensityError(PROP_ERR_ARG, "a file path is required")
    b = os.fsencode(p)
    if b"\0" in b:
        raise PropensityError(PROP_ERR_ARG, f"path {p!r} contains a NUL character")
    return b


def open_writer(path, lead_file=False, fd=None):
    """A prop_writer of path, written to a temporary file and renamed at commit (a lead file is
    tab-separated without quoting, as VICIdial's loader reads it); with fd, of that open descriptor
    instead, as a stream (path is then its name in messages)."""
    L = lib()
    wo = WriterOptions()
    L.prop_writer_options_default(ctypes.byref(wo))
    if lead_file:
        wo.delimiter, wo.no_quoting = b"\t", 1
    w = ctypes.c_void_p()
    if fd is None:
        check(L.prop_writer_open(encode_path(path), ctypes.byref(wo), ctypes.byref(w)))
    else:
        check(L.prop_writer_open_fd(int(fd), encode(path, "name"), ctypes.byref(wo), ctypes.byref(w)))
    return w


def write_file(path, write, lead_file=False, fd=None):
    """One output file through the library's writer (open_writer's arguments): write(w) makes the library
    call that fills it and returns its status; on success the file is committed (atomically), else it is
    aborted, its target left as it was, and the failure raised."""
    L = lib()
    w = open_writer(path, lead_file, fd)
    try:
        rc = write(w)
    except BaseException:
        L.prop_writer_abort(w)
        raise
    if rc != PROP_OK:
        err = last_error(rc)
        L.prop_writer_abort(w)
        raise err
    check(L.prop_writer_commit(w))


def decode(b):
    return None if b is None else b.decode("utf-8", "replace")


def version():
    """The version string of the libpropensity actually loaded (prop_version())."""
    return lib().prop_version().decode()


class Owned:
    """Base of the classes that own one C handle (self._h, a c_void_p): close() frees it with the
    library function named by _free_name, as do the end of a with block and garbage collection.
    After close() the handle is None."""

    _free_name = None
    _h = None

    def close(self):
        """Free the C object now (no other thread may be using it)."""
        h, self._h = self._h, None
        if h is not None and h.value:
            getattr(lib(), self._free_name)(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
