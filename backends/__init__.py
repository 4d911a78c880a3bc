"""Per-backend plug-ins: everything that differs between JAX, PyTorch and TensorFlow.

`select(name)` must run before Keras is first imported; `active()` returns the
plug-in of the backend Keras is using. Each plug-in module offers the same
small interface:

    versions() -> dict        devices() -> list[str]
    set_precision(mode)       mode: "highest" (no TF32) or "fast"
    seed(n)                   sync()           peak_memory() -> int | None
    gradients(fn, tensors)    value and numpy gradients of a scalar function
    install_fast_paths()      register measured faster ops in capsnet.fast_ops
    data_parallel(cluster)    -> (scope to build the model in, replicas)
"""

import importlib
import importlib.util
import os
import sys

NAMES = ("jax", "torch", "tensorflow")
_PLUGINS = {
    "jax": "capsnet.backends.jax_plugin",
    "torch": "capsnet.backends.torch_plugin",
    "tensorflow": "capsnet.backends.tensorflow_plugin",
}
INSTALL_HINT = "pip install 'capsnet[{name}]'"


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


def setup(precision="highest", seed=None, fast_paths=True):
    """Configure the active backend in one call; returns its plug-in."""
    plugin = active()
    plugin.set_precision(precision)
    if seed is not None:
        plugin.seed(seed)
    if fast_paths:
        plugin.install_fast_paths()
    return plugin
