"""CapsNet's Keras layers, each registered under the package name 'capsnet'."""

from capsnet.layers.capsule_layer import CapsuleLayer
from capsnet.layers.length import Length
from capsnet.layers.mask import Mask
from capsnet.layers.primary_capsule import PrimaryCapsule
from capsnet.layers.random_shift import RandomShift
from capsnet.layers.reconstruction_loss import ReconstructionLoss
from capsnet.layers.squash import squash

__all__ = [
    "CapsuleLayer",
    "Length",
    "Mask",
    "PrimaryCapsule",
    "RandomShift",
    "ReconstructionLoss",
    "squash",
]
