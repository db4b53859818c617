"""Run the binding's unittest suite and end with the project's closing line "N passed, N failed".

    PROPENSITY_LIBRARY=build/release/libpropensity.so PROPENSITY_CLI=build/release/bin/propensity \
        /usr/bin/python3 bindings/python/tests/run_tests.py [-v] [pattern]

(Plain `/usr/bin/python3 -m unittest discover -s bindings/python/tests` runs the same tests.)"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    pattern = args[0] if args else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2 if verbose else 1).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
