"""CapsNet with dynamic routing (Sabour, Frosst & Hinton, 2017) for Keras 3.

One definition on `keras.ops` that runs on JAX, PyTorch and TensorFlow.
Importing this package registers its layers, so `keras.saving.load_model`
can read a saved CapsNet afterwards.
"""

from capsnet import fast_ops, losses
from capsnet.layers import (
    CapsuleLayer,
    Length,
    Mask,
    PrimaryCapsule,
    RandomShift,
    ReconstructionLoss,
    squash,
)
from capsnet.losses import margin_loss, reconstruction_loss
from capsnet.model import CapsNetModels, build_capsnet, views_of

__version__ = "0.1.0"

__all__ = [
    "CapsNetModels",
    "CapsuleLayer",
    "Length",
    "Mask",
    "PrimaryCapsule",
    "RandomShift",
    "ReconstructionLoss",
    "build_capsnet",
    "fast_ops",
    "losses",
    "margin_loss",
    "reconstruction_loss",
    "squash",
    "views_of",
]
