"""capsnet.fresh_process: Python in a new process on a chosen backend."""

import keras
import pytest

from capsnet.fresh_process import run_on_backend

pytestmark = pytest.mark.slow  # subprocesses or training runs

SCRIPT = r"""
import sys
print("x" * 200_000)  # more than a pipe holds: both pipes must be read at once
print("P: stage one", file=sys.stderr, flush=True)
print("chatter", file=sys.stderr, flush=True)
print("P: stage two", file=sys.stderr, flush=True)
sys.exit(3)
"""


def test_progress_lines_are_echoed_as_they_come_and_everything_is_kept(capsys):
    done = run_on_backend(keras.backend.backend(), ["-c", SCRIPT], echo_prefix="P: ")
    assert done.returncode == 3 and done.stdout.strip() == "x" * 200_000
    assert done.stderr.splitlines() == ["P: stage one", "chatter", "P: stage two"]
    assert capsys.readouterr().err.splitlines() == ["P: stage one", "P: stage two"]


def test_without_a_prefix_nothing_is_echoed(capsys):
    done = run_on_backend(keras.backend.backend(), ["-c", SCRIPT])
    assert done.returncode == 3 and "chatter" in done.stderr
    assert capsys.readouterr().err == ""
