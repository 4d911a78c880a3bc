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
from pathlib import Path, PurePosixPath

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


def home_of(item, rootpath):
    """The home backend of the pytest `item`'s `one_backend` tests, or None for a
    test without the marker: the marker's argument, else its module's hash."""
    marker = item.get_closest_marker("one_backend")
    if marker is None:
        return None
    module = Path(item.path).relative_to(rootpath).as_posix()
    return home_backend(module, marker.args[0] if marker.args else None)


def rotating(environ=os.environ):
    """Whether this pytest run is one of three suites that share the one-backend tests."""
    return environ.get(ROTATION_VARIABLE) == "1"
