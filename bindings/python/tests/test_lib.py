"""The loader: version agreement with the header and the library, the status table, the search
for libpropensity and its refusal of another version."""

import os
import re
import subprocess
import sys
import unittest

import _fixture
import propensity
from propensity import _lib


def header_text():
    return _fixture.HEADER.read_text()


class Loader(unittest.TestCase):
    def test_versions_agree(self):
        m = re.search(r'#define PROP_VERSION_STRING "([^"]+)"', header_text())
        self.assertIsNotNone(m)
        self.assertEqual(propensity.__version__, m.group(1))
        self.assertEqual(propensity.version(), propensity.__version__)
        major, minor, patch = (int(x) for x in propensity.__version__.split("."))
        self.assertEqual(_lib.lib().prop_version_number(), major * 10000 + minor * 100 + patch)

    def test_status_table_matches_header(self):
        body = re.search(r"#define PROP_STATUS_LIST\(X\)(.*?)\n\n", header_text(), re.S).group(1)
        pairs = {int(v): k for k, v in re.findall(r"X\((PROP_\w+),\s*(-?\d+),", body)}
        self.assertEqual(len(pairs), 18)
        self.assertEqual(pairs, _lib.STATUS_NAMES)
        L = _lib.lib()
        for code, name in pairs.items():
            self.assertTrue(L.prop_strerror(code))
            self.assertEqual(L.prop_status_name(code).decode(), name)

    def test_drifted_view_is_refused(self):
        """The load-time check of our structs and status codes against the library fails on drift."""
        L = _lib.lib()
        _lib._check_view(L, "lib")  # as loaded: no complaint
        import ctypes

        class Reordered(ctypes.Structure):  # two fields swapped: same size, wrong offsets
            _c_name_ = "prop_rank_options"
            _fields_ = [("struct_size", ctypes.c_size_t), ("capacity", ctypes.c_size_t), ("by", ctypes.c_int),
                        ("band_quota", ctypes.POINTER(ctypes.c_size_t)), ("nbands", ctypes.c_size_t)]

        class Short(ctypes.Structure):  # a field missing
            _c_name_ = "prop_predict_options"
            _fields_ = [("struct_size", ctypes.c_size_t), ("nthread", ctypes.c_int), ("block_rows", ctypes.c_size_t),
                        ("uncalibrated", ctypes.c_int)]

        for bad, needle in ((Reordered, "prop_rank_options"), (Short, "prop_predict_options")):
            saved = _lib.STRUCTS
            _lib.STRUCTS = (bad,)
            try:
                with self.assertRaises(propensity.PropensityError) as cm:
                    _lib._check_view(L, "lib")
                self.assertIn(needle, str(cm.exception))
            finally:
                _lib.STRUCTS = saved
        saved = dict(_lib.STATUS_NAMES)
        del _lib.STATUS_NAMES[-17]
        try:
            with self.assertRaises(propensity.PropensityError) as cm:
                _lib._check_view(L, "lib")
            self.assertIn("-17", str(cm.exception))
        finally:
            _lib.STATUS_NAMES.clear()
            _lib.STATUS_NAMES.update(saved)

    def test_every_struct_is_checked(self):
        """Each ctypes struct the package declares for the library is in the load-time check."""
        import ctypes
        declared = [v for v in vars(_lib).values()
                    if isinstance(v, type) and issubclass(v, ctypes.Structure) and hasattr(v, "_c_name_")]
        self.assertGreaterEqual(len(declared), 11)
        self.assertEqual(set(declared), set(_lib.STRUCTS))
        for st in declared:
            self.assertEqual(st._fields_[0][0] == "struct_size", st._c_name_.endswith("_options"), st._c_name_)

    def test_loaded_from_propensity_library(self):
        want = os.environ.get("PROPENSITY_LIBRARY")
        if want:
            self.assertEqual(os.path.realpath(propensity.library_path()), os.path.realpath(want))
        else:
            self.assertTrue(os.path.exists(propensity.library_path()))

    def test_candidates_in_order(self):
        env = dict(os.environ)
        try:
            os.environ.pop("PROPENSITY_LIBRARY", None)
            names = [w for w, _ in _lib._candidates()]
        finally:
            os.environ.clear()
            os.environ.update(env)
        self.assertEqual(names[0], "PROPENSITY_LIBRARY (not set)")
        self.assertEqual(names[1], "build tree")
        self.assertEqual(names[2], "ctypes.util.find_library('propensity')")
        self.assertEqual(set(names[3:]), {"installed prefix"})
        self.assertEqual(str(_lib._candidates()[1][1]).endswith("build/release/libpropensity.so"), True)

    def _child(self, code, **env):
        e = dict(os.environ, PYTHONPATH=str(_fixture.HERE.parent), **env)
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e)

    def test_missing_library_lists_places(self):
        r = self._child("import propensity\ntry:\n propensity.version()\nexcept propensity.PropensityError as e:\n"
                        " print(e.status); print(e.message)\n", PROPENSITY_LIBRARY="/nonexistent/libpropensity.so")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("PROP_ERR_IO", r.stdout)
        self.assertIn("/nonexistent/libpropensity.so (not found)", r.stdout)

    def test_other_version_refused(self):
        r = self._child("import propensity._lib as L\nL.__version__ = '9.9.9'\ntry:\n L.lib()\n"
                        "except L.PropensityError as e:\n print(e.status); print(e.message)\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("PROP_ERR_VERSION", r.stdout)
        self.assertIn("9.9.9", r.stdout)
        self.assertIn(propensity.__version__, r.stdout)


if __name__ == "__main__":
    unittest.main()
