"""What many tests share: the command line run in-process, its one-line errors,
and gradients on whichever backend is active (through its plug-in)."""

import sys
from pathlib import Path

import keras
import numpy as np
from click.testing import CliRunner

from capsnet import backends
from capsnet.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def cli_command(*args):
    """The argv of `cli.py --backend <active> ARGS` in a process of its own."""
    return [sys.executable, str(ROOT / "cli.py"), "--backend", keras.backend.backend(), *map(str, args)]


def saved_weights(path):
    """The training model's weights in the capsnet model file `path`, as numpy arrays."""
    from capsnet.model_files import load_capsnet

    return [keras.ops.convert_to_numpy(w) for w in load_capsnet(path).train.weights]


def invoke(*args):
    """Run `cli.py --backend <active> ARGS` in this process."""
    return CliRunner().invoke(cli, ["--backend", keras.backend.backend(), *map(str, args)])


def assert_input_error(result, *fragments):
    """Exit code 2, no traceback, and one 'Error:' line containing `fragments`."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def gradient(fn, x):
    """Numpy gradient of the scalar `fn(x)` at numpy `x`."""
    _, (grad,) = backends.active().gradients(fn, [np.asarray(x)])
    return grad


def central_differences(objective, x, step):
    """d objective / dx by central differences, every entry, in float64."""
    numeric = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        plus, minus = x.astype(np.float64), x.astype(np.float64)
        plus[index] += step
        minus[index] -= step
        numeric[index] = (objective(plus) - objective(minus)) / (2 * step)
    return numeric
