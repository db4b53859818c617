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

    def _names(self, **env):
        saved = dict(os.environ)
        try:
            os.environ.pop("PROPENSITY_LIBRARY", None)
            os.environ.update(env)
            return _lib._candidates()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def test_candidates_in_order(self):
        cands = self._names()
        names = [w for w, _ in cands]
        self.assertEqual(names[0], "PROPENSITY_LIBRARY (not set)")
        # imported from the checkout: its own build first, never a guess outside a checkout
        self.assertEqual(names[1], "build tree of the checkout")
        self.assertEqual(str(cands[1][1]), str(_fixture.REPO / "build" / "release" / "libpropensity.so"))
        self.assertTrue(names[2].startswith("ctypes.util.find_library('propensity')"))
        self.assertTrue(names[3].startswith("pkg-config --variable=libdir propensity"))
        rest = [(w, str(p)) for w, p in cands[4:] if not w.startswith("pkg-config")]
        self.assertEqual(rest[0], ("sys.prefix", os.path.join(sys.prefix, "lib", "libpropensity.so")))
        self.assertIn(("CMake's default prefix", "/usr/local/lib/libpropensity.so"), rest)
        self.assertTrue(all(not p.endswith("lib/build/release/libpropensity.so") for _, p in rest), rest)
        self.assertTrue(all(w in ("sys.prefix", "CMake's default prefix", "system directory") for w, _ in rest), rest)
        # PROPENSITY_LIBRARY, when set, is the only place
        self.assertEqual(self._names(PROPENSITY_LIBRARY="/x/libpropensity.so"),
                         [("PROPENSITY_LIBRARY", _lib.Path("/x/libpropensity.so"))])

    def test_pkg_config_names_the_prefix(self):
        # a propensity.pc in PKG_CONFIG_PATH gives the library directory of its prefix
        d = _fixture.get().dir / "pc"
        d.mkdir(exist_ok=True)
        (d / "propensity.pc").write_text("prefix=/opt/prop\nlibdir=${prefix}/lib64\nName: propensity\n"
                                         "Description: x\nVersion: 0.1.0\nLibs: -L${libdir} -lpropensity\n")
        cands = self._names(PKG_CONFIG_PATH=str(d))
        pc = [str(p) for w, p in cands if w == "pkg-config --variable=libdir propensity"]
        self.assertEqual(pc, ["/opt/prop/lib64/libpropensity.so", "/opt/prop/lib64/libpropensity.so.0"])

    def test_installed_copy_does_not_guess_a_build_tree(self):
        # the same module file outside a checkout (as pip installs it) has no build-tree candidate
        site = _fixture.get().dir / "prefix" / "lib" / "python3.11" / "site-packages"
        (site / "propensity").mkdir(parents=True, exist_ok=True)
        for f in (_fixture.HERE.parent / "propensity").glob("*.py"):   # every module, as pip installs them
            (site / "propensity" / f.name).write_text(f.read_text())
        r = subprocess.run([sys.executable, "-c", "import propensity._lib as L\nfor w, p in L._candidates(): "
                            "print(w, '|', p)"], capture_output=True, text=True, cwd=str(site.parent),
                           env={k: v for k, v in os.environ.items() if k not in ("PROPENSITY_LIBRARY", "PYTHONPATH")}
                           | {"PYTHONPATH": str(site)})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("build tree", r.stdout)
        self.assertNotIn("build/release", r.stdout)
        self.assertIn(f"the package's prefix | {site.parents[1] / 'libpropensity.so'}", r.stdout)

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
        self.assertIn(f"(libpropensity {propensity.__version__}, but this propensity package is 9.9.9)", r.stdout)

    def test_library_path_is_the_file_loaded(self):
        # a bare soname (what find_library returns) is reported as the file the loader opened
        path = os.path.realpath(os.environ.get("PROPENSITY_LIBRARY") or propensity.library_path())
        code = ("import os, propensity._lib as L\nL._candidates = lambda: [('soname', 'libpropensity.so.0')]\n"
                "print(L.library_path())\n")
        r = self._child(code, LD_LIBRARY_PATH=os.path.dirname(path))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.realpath(r.stdout.strip()), path)


if __name__ == "__main__":
    unittest.main()
