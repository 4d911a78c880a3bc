"""Run Python in a fresh process on a chosen backend.

Keras fixes its backend when it is first imported, so anything that compares
backends (bench, `checks.agreement`, `checks.portability`) runs each one in a
process of its own, through this one helper.
"""

import os
import subprocess
import sys
import threading


def run_on_backend(backend, args, cwd=None, echo_prefix=None):
    """`python *args` in a new process whose Keras uses `backend`.

    Args:
        backend: "jax", "torch" or "tensorflow".
        args: the interpreter's arguments, e.g. `["-m", "capsnet", "bench-worker"]`.
        cwd: the folder to run in (default: this one).
        echo_prefix: if given, the child's stderr lines that start with it are also
            printed to this process's stderr as they come (progress of a long run).

    Returns:
        `subprocess.CompletedProcess` with the text of stdout and stderr.
    """
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, *map(str, args)]
    if echo_prefix is None:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "errors": "replace"}
    with subprocess.Popen(command, cwd=cwd, env=environment, **pipes) as process:
        errors = []

        def pump():  # on its own thread, so neither pipe fills up while the other is read
            for line in process.stderr:
                errors.append(line)
                if line.startswith(echo_prefix):
                    print(line, end="", file=sys.stderr, flush=True)

        thread = threading.Thread(target=pump)
        thread.start()
        try:
            output = process.stdout.read()
            process.wait()
        except BaseException:  # Ctrl-C: the child goes too, as under subprocess.run
            process.kill()
            raise
        finally:
            thread.join()
    return subprocess.CompletedProcess(command, process.returncode, output, "".join(errors))
