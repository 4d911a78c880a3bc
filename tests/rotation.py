"""Which backend runs a `one_backend` test when the three suites run side by side.

A `one_backend` test checks what the command line, files and tools do, not what a
backend computes: the backends' numbers are compared by `checks.agreement`, and
one `.keras` file trained, loaded and resumed through the command line on every
backend by `checks.portability`. Where the three suites run together (`nox -s
test_all_backends`, `nox -s ci`, which set ROTATION_VARIABLE), each such test
runs under one backend only, its module's home, and the three suites share the
work. A plain `pytest` under one backend runs every test.
"""

import os
import zlib
from pathlib import PurePosixPath

ROTATION_VARIABLE = "CAPSNET_TEST_ROTATION"
BACKENDS = ("jax", "torch", "tensorflow")


def home_backend(module_path, named=None):
    """The backend that runs the `one_backend` tests of `module_path` (relative to
    the repository, e.g. "tests/cli/test_cli_use.py"): `named`, the marker's
    argument (`pytest.mark.one_backend("torch")`), where the module gives one, else
    fixed by the path alone, so a module's tests and their shared fixtures stay
    together under one backend. Heavy modules name their home to even out the
    three suites' times (docs/known-problems.md, "CI time")."""
    if named is not None:
        if named not in BACKENDS:
            raise ValueError(f"one_backend({named!r}): a home is one of {', '.join(BACKENDS)}")
        return named
    key = PurePosixPath(module_path).as_posix().encode()
    return BACKENDS[zlib.crc32(key) % len(BACKENDS)]


def named_home(marker):
    """The home a `one_backend` marker names (its first argument), or None."""
    return marker.args[0] if marker.args else None


def rotating(environ=os.environ):
    """Whether this pytest run is one of three suites that share the one-backend tests."""
    return environ.get(ROTATION_VARIABLE) == "1"
