"""CapsNet with dynamic routing (Sabour, Frosst & Hinton, 2017) for Keras 3.

One definition on `keras.ops` that runs on JAX, PyTorch and TensorFlow.

Importing this package does not import Keras, because the backend must be
chosen first (`capsnet.cli`, `capsnet.backends.select`). The layers, model
builders and losses load on first use (`capsnet.build_capsnet`), which also
registers the layers so that `keras.saving.load_model` can read a saved
CapsNet. When Keras is already imported, `import capsnet` registers them at once.
"""

import importlib
import sys
from pathlib import Path

__version__ = "0.1.0"

# In a source checkout the backend plug-ins live in ../backends, beside this
# package (installed, setuptools maps them to capsnet/backends): let the
# checkout's root serve as a second home for capsnet's subpackages.
_CHECKOUT = Path(__file__).resolve().parent.parent
if not (Path(__file__).parent / "backends").is_dir() and (_CHECKOUT / "backends" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))  # noqa: F821  (a package's __path__)

_PUBLIC = {
    "CapsNetModels": "capsnet.model",
    "build_capsnet": "capsnet.model",
    "views_of": "capsnet.model",
    "CapsuleLayer": "capsnet.layers",
    "Length": "capsnet.layers",
    "Mask": "capsnet.layers",
    "PrimaryCapsule": "capsnet.layers",
    "RandomShift": "capsnet.layers",
    "ReconstructionLoss": "capsnet.layers",
    "squash": "capsnet.layers",
    "margin_loss": "capsnet.losses",
    "reconstruction_loss": "capsnet.losses",
    "fast_ops": "capsnet.fast_ops",
    "losses": "capsnet.losses",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'capsnet' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if module.__name__.endswith(f".{name}") else getattr(module, name)
    globals()[name] = value
    return value


if "keras" in sys.modules:
    importlib.import_module("capsnet.layers")
