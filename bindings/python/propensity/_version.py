"""The package version: the one place it is written on the Python side.

It must equal PROP_VERSION_STRING in include/propensity.h; tests/test_lib.py checks that, and
the loader refuses a libpropensity whose prop_version() differs."""

__version__ = "0.1.0"
