"""CapsNet with dynamic routing (Sabour, Frosst & Hinton, 2017) for Keras 3.

One definition on `keras.ops` that runs on JAX, PyTorch and TensorFlow.

Importing this package does not import Keras, because the backend must be
chosen first (`capsnet.cli`, `capsnet.backends.select`). The layers, model
builders and losses load on first use (`capsnet.build_capsnet`), which also
registers the layers so that `keras.saving.load_model` can read a saved
CapsNet. When Keras is already imported, `import capsnet` registers them at once.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"


def _checkout_backends():
    """In a source checkout that is not installed, load ../backends as
    `capsnet.backends` (installed, setuptools maps the folder to that name);
    nothing else of the checkout becomes part of the package."""
    folder = Path(__file__).resolve().parent.parent / "backends"
    if importlib.util.find_spec("capsnet.backends") is not None or not (folder / "__init__.py").is_file():
        return
    spec = importlib.util.spec_from_file_location(
        "capsnet.backends", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["capsnet.backends"] = module
    spec.loader.exec_module(module)
    globals()["backends"] = module  # what the import system does for a submodule it found itself


_PUBLIC = {
    "CapsNetModels": "capsnet.models.capsule_views",
    "build_capsnet": "capsnet.models.capsnet.model",
    "build_efficient_capsnet": "capsnet.models.efficient_capsnet.model",
    "build_cnn_baseline": "capsnet.models.cnn_baseline.model",
    "views_of": "capsnet.models",
    "models": "capsnet.models",
    "CapsuleLayer": "capsnet.layers",
    "ClassProbabilities": "capsnet.layers",
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


_checkout_backends()

if "keras" in sys.modules:
    importlib.import_module("capsnet.layers")
