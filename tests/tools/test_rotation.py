"""The rotation of `one_backend` tests (tests/rotation.py): each runs under exactly
one backend when the three suites run together, and none is lost."""

import os
from pathlib import Path

from tests import rotation


def _one_backend_homes(session):
    """{module: its home} of the modules with `one_backend` tests."""
    root = session.config.rootpath
    homes = (
        (Path(item.path).relative_to(root).as_posix(), rotation.home_of(item, root)) for item in session.items
    )
    # Per test, not per module: a module's unmarked tests must not hide its marked ones.
    return {module: home for module, home in homes if home is not None}


def test_a_module_has_one_home_of_the_three_backends():
    homes = [rotation.home_backend("tests/cli/test_cli_use.py") for _ in range(3)]
    assert len(set(homes)) == 1 and homes[0] in rotation.BACKENDS
    assert rotation.home_backend(Path("tests") / "cli" / "test_cli_use.py") == homes[0]


def test_the_marked_modules_spread_over_every_backend(request):
    homes = _one_backend_homes(request.session)
    if len(homes) < 6:
        return  # a run of a few files: the spread is the whole suite's
    assert set(homes.values()) == set(rotation.BACKENDS)


def test_no_one_backend_test_is_also_pinned_to_a_backend(request):
    """A test that skips itself off every backend but one would, under the
    rotation, run nowhere when its home is another backend."""
    pinned = [
        item.nodeid
        for item in request.session.items
        if item.get_closest_marker("one_backend") and item.get_closest_marker("skipif")
    ]
    assert pinned == []


def test_under_the_rotation_only_the_home_backend_runs_each(request):
    if not rotation.rotating():
        return
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    for item in request.session.items:
        home = rotation.home_of(item, request.config.rootpath)
        if home is None:
            continue
        skipped = any(mark.name == "skip" for mark in item.iter_markers())
        assert skipped == (home != backend), item.nodeid


def test_rotating_reads_only_its_variable():
    assert rotation.rotating({rotation.ROTATION_VARIABLE: "1"})
    assert not rotation.rotating({})
    assert not rotation.rotating({rotation.ROTATION_VARIABLE: "0"})


def test_a_named_home_wins_over_the_path():
    path = "tests/cli/test_cli_use.py"
    hashed = rotation.home_backend(path)
    other = next(b for b in rotation.BACKENDS if b != hashed)
    assert rotation.home_backend(path, named=other) == other
    assert rotation.home_backend(path, named=None) == hashed


def test_a_named_home_must_be_a_backend():
    try:
        rotation.home_backend("tests/cli/test_cli_use.py", named="caffe")
    except ValueError as error:
        assert "caffe" in str(error)
    else:
        raise AssertionError("an unknown home was accepted")
