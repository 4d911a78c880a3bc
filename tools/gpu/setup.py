"""Install Keras from the carried wheels where it is missing (the GPU machine's image).

The image has CUDA builds of JAX and PyTorch and Keras's other requirements,
but not Keras. The wheels (keras, namex, optree) travel in `.whl/` (see
`prepare`) and are installed with pip, offline, into a folder of their own
that every later subprocess finds on PYTHONPATH.
"""

import importlib.util
import subprocess
import sys

from tools.gpu.context import UsageError, say


def keras_missing(settings):
    """Whether Keras can be imported neither from this interpreter nor from --site."""
    if importlib.util.find_spec("keras") is not None:
        return False
    return not (settings.site / "keras").is_dir()


def check(settings):
    """Refuse early (exit 2) when Keras is missing and no wheels were carried."""
    if keras_missing(settings) and not sorted(settings.wheels_dir.glob("*.whl")):
        raise UsageError(
            f"Keras is not installed and {settings.wheels_dir} holds no wheels; run "
            f"`python -m tools.gpu_run prepare` on the CPU machine and carry {settings.wheels_dir.name}"
        )


def run(settings):
    """Install the wheels into --site unless Keras is already importable. Returns a status."""
    if not keras_missing(settings):
        say("setup: keras is installed")
        return "done"
    wheels = sorted(settings.wheels_dir.glob("*.whl"))
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
    command += ["--no-cache-dir", "--upgrade", "--target", str(settings.site), *map(str, wheels)]
    say(f"setup: pip install {' '.join(w.name for w in wheels)} into {settings.site}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        say(f"setup: pip failed: {tail}")
        return "failed"
    sys.path.insert(0, str(settings.site))
    return "done"
