"""Run Python in a fresh process on a chosen backend.

Keras fixes its backend when it is first imported, so anything that compares
backends (bench, `checks.agreement`, `checks.portability`) runs each one in a
process of its own, through this one helper.
"""

import os
import subprocess
import sys


def run_on_backend(backend, args, cwd=None):
    """`python *args` in a new process whose Keras uses `backend`.

    Args:
        backend: "jax", "torch" or "tensorflow".
        args: the interpreter's arguments, e.g. `["-m", "capsnet", "bench-worker"]`.
        cwd: the folder to run in (default: this one).

    Returns:
        `subprocess.CompletedProcess` with the text of stdout and stderr.
    """
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=environment
    )
