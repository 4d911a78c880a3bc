"""Per-backend plug-ins: everything that differs between JAX, PyTorch and TensorFlow.

Installed as `capsnet.backends`. `select(name)` must run before Keras is first
imported; `setup(precision, seed)` then configures the backend Keras uses, in
one place for every command, and returns its plug-in (`active()`). Each
plug-in module implements `capsnet.backends.plugin.Plugin`.
"""

import importlib
import importlib.util
import logging
import os
import platform
import sys

NAMES = ("jax", "torch", "tensorflow")
_PLUGINS = {
    "jax": "capsnet.backends.jax_plugin",
    "torch": "capsnet.backends.torch_plugin",
    "tensorflow": "capsnet.backends.tensorflow_plugin",
}
INSTALL_HINT = "pip install 'capsnet[{name}]'"

# The one vocabulary for numeric precision, used by the CLI, setup() and run.json.
PRECISIONS = {
    "float32": "float32 everywhere; TF32 off (true float32 matmuls and convolutions on GPUs)",
    "fast": "float32 variables and activations; GPUs may run matmuls and convolutions in TF32",
    "mixed_bfloat16": "Keras policy mixed_bfloat16 (bfloat16 compute, float32 variables); TF32 off",
    "mixed_float16": "Keras policy mixed_float16 (float16 compute with loss scaling); TF32 off",
}


# Restarts from the last checkpoint after the training process died in native code
# (`capsnet train --restarts`'s default): TensorFlow 2.21 on CPU now and then
# corrupts its heap (docs: Known problems); the others were never seen to crash.
RESTARTS_AFTER_NATIVE_CRASH = {"tensorflow": 3}


class BackendError(Exception):
    """A backend that is unknown, not installed, or chosen too late."""


def installed():
    """The backends whose framework can be imported here."""
    return [name for name in NAMES if importlib.util.find_spec(name) is not None]


def select(name):
    """Make `name` Keras's backend. Call before `keras` is first imported."""
    if name not in NAMES:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(NAMES)}")
    if importlib.util.find_spec(name) is None:
        raise BackendError(
            f"backend {name!r} is not installed; install it with: " + INSTALL_HINT.format(name=name)
        )
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise BackendError(
                f"Keras was already imported with backend {current!r}; "
                f"set KERAS_BACKEND={name} before starting Python"
            )
    os.environ["KERAS_BACKEND"] = name


def active():
    """The plug-in module of the backend Keras is using."""
    import keras

    return importlib.import_module(_PLUGINS[keras.backend.backend()])


# What `setup(fast_paths=...)` chose in this process; None until it is called.
_fast_paths_chosen = None


def setup(precision="float32", seed=None, fast_paths=True):
    """Configure the active backend in one call; returns its plug-in.

    Args:
        precision: one of `PRECISIONS`. Only "fast" allows TF32; the mixed
            policies change the dtype of layer computations, never the
            precision of the float32 matmuls that remain. A plug-in may compute
            in another precision where the asked one is slower on its device
            (JAX on CPUs: mixed_bfloat16 in float32); a note says so, and
            `environment()` records it as "compute_precision".
        seed: seeds Python, NumPy and the backend (`keras.utils.set_random_seed`).
        fast_paths: register the plug-in's measured fast ops (`capsnet.fast_ops`).
    """
    import keras

    global _fast_paths_chosen
    if precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    plugin = active()
    _fast_paths_chosen = bool(fast_paths)
    computed, reason = plugin.compute_precision(precision)
    if reason:
        logging.getLogger("capsnet").warning(reason)
    plugin.allow_tf32(computed == "fast")
    keras.config.set_dtype_policy(computed if computed.startswith("mixed") else "float32")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if fast_paths:
        plugin.install_fast_paths()
    return plugin


def ensure_fast_paths():
    """Register the active plug-in's measured fast ops unless `setup(fast_paths=False)`
    said not to: what `capsnet.training.compile_for_training` calls, so a Python
    user trains at the command line's speed without calling `setup` first.

    Returns the names of the registered fast ops.
    """
    from capsnet import fast_ops

    if _fast_paths_chosen is not False and not fast_ops.registered():
        active().install_fast_paths()
    return fast_ops.registered()


def steps_per_execution(requested):
    """How many of `requested` training steps the active backend runs per compiled
    call of Keras's fit (`Model.compile(steps_per_execution=...)`)."""
    return active().steps_per_execution(requested)


def fuse_training_steps(model):
    """Run `model`'s `steps_per_execution` training steps per compiled call of
    fit() where Keras's trainer for the active backend loops over them on the
    host (JAX); returns whether the plug-in did so."""
    return active().fuse_training_steps(model)


def environment(plugin, precision="float32"):
    """Backend, versions, devices, precision and fast paths: for run.json, bench and info."""
    import keras
    import numpy

    import capsnet
    from capsnet import fast_ops

    computed, _ = plugin.compute_precision(precision)
    return {
        "backend": keras.backend.backend(),
        "versions": {
            "python": platform.python_version(),
            "capsnet": capsnet.__version__,
            "keras": keras.__version__,
            "numpy": numpy.__version__,
            **plugin.versions(),
        },
        "devices": plugin.devices(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "precision": precision,
        "compute_precision": computed,
        "tf32": computed == "fast",
        "fast_paths": fast_ops.registered(),
    }
