"""CapsNet's Keras layers, each registered under the package name 'capsnet'."""

from capsnet.layers.capsule_layer import CapsuleLayer
from capsnet.layers.class_probabilities import ClassProbabilities
from capsnet.layers.depthwise_primary_capsule import DepthwisePrimaryCapsule
from capsnet.layers.length import Length
from capsnet.layers.mask import Mask
from capsnet.layers.primary_capsule import PrimaryCapsule
from capsnet.layers.random_shift import RandomShift
from capsnet.layers.reconstruction_loss import ReconstructionLoss
from capsnet.layers.relu_conv import ReLUConv2D
from capsnet.layers.self_attention_capsule_layer import SelfAttentionCapsuleLayer
from capsnet.layers.shared_capsule_layer import SharedCapsuleLayer
from capsnet.layers.squash import efficient_squash, squash

__all__ = [
    "CapsuleLayer",
    "ClassProbabilities",
    "DepthwisePrimaryCapsule",
    "Length",
    "Mask",
    "PrimaryCapsule",
    "RandomShift",
    "ReconstructionLoss",
    "ReLUConv2D",
    "SelfAttentionCapsuleLayer",
    "SharedCapsuleLayer",
    "efficient_squash",
    "squash",
]
