"""Arithmetic a CapsNet does per image, and the matmul peak it is measured against.

`bench` divides achieved images/s by these to show how far a backend is from
what the hardware's matrix units allow.
"""

import math
import statistics
import time

import keras
import numpy as np

from capsnet import fast_ops
from capsnet.layers import (
    CapsuleLayer,
    DepthwisePrimaryCapsule,
    PrimaryCapsule,
    SelfAttentionCapsuleLayer,
    SharedCapsuleLayer,
)

# Multiply-adds of the backward pass per multiply-add of the forward pass: the
# gradients with respect to the inputs and to the weights, one product each.
BACKWARD_FACTOR = 2


def forward_flops(model):
    """Floating-point operations (2 per multiply-add) of one image's forward pass.

    Counts the products that dominate: convolutions, dense layers, the
    capsule layer's u_hat = W u and each routing iteration's weighted sum and
    agreement (Efficient-CapsNet: its depthwise convolution, and one step of
    agreement scores and weighted sum). Element-wise work (squash, softmax, ReLU) is left out: under 1%.
    This is the paper's arithmetic, whichever implementation runs it.

    Args:
        model: a built model (any view of `build_capsnet` or `build_efficient_capsnet`).
    """
    return sum(_forward_flops(layer) for layer in _layers(model))


def training_flops(model, as_computed=False, batch_size=None):
    """FLOPs of one image's training step: the forward pass and its backward.

    With `as_computed`, the PrimaryCaps conv counts what the backend's fast op
    computes where that op reports it (`flops(input_shape, kernel_shape,
    strides)` -> (forward, backward) per image; the Fourier conv does about a
    third of the direct multiplications), at `batch_size` images per step.
    """
    total = 0
    conv = fast_ops.get("primary_conv", None)
    for layer in _layers(model):
        if as_computed and isinstance(layer, PrimaryCapsule) and hasattr(conv, "flops"):
            input_shape = (batch_size, *layer.input.shape[1:])
            total += sum(conv.flops(input_shape, tuple(layer.kernel.shape), layer.strides))
        else:
            total += _forward_flops(layer) * (1 + BACKWARD_FACTOR)
    return total


def _forward_flops(layer):
    if isinstance(layer, keras.layers.Conv2DTranspose):  # each input pixel meets the whole kernel
        _, height, width, _ = layer.input.shape
        return 2 * math.prod(layer.kernel.shape) * height * width
    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, _ = layer.output.shape
        return 2 * math.prod(layer.kernel.shape) * height * width
    if isinstance(layer, PrimaryCapsule):
        grid_positions = layer.output.shape[1] // layer.num_channels
        return 2 * math.prod(layer.kernel.shape) * grid_positions
    if isinstance(layer, CapsuleLayer):
        u_hat = 2 * math.prod(layer.kernel.shape)
        # per iteration: s_j = sum_i c_ij u_hat (and, before the last, the agreement)
        return u_hat + 2 * math.prod(layer.kernel.shape[:3]) * (2 * layer.routings - 1)
    if isinstance(layer, SharedCapsuleLayer):
        types, classes, _, in_dim = layer.kernel.shape
        inputs = layer.grid[0] * layer.grid[1] * types
        # per iteration: the couplings times the inputs, per type and class, then W over
        # those sums; before the last, W^T v and its products with the inputs
        per_iteration = 2 * classes * inputs * in_dim + 2 * math.prod(layer.kernel.shape)
        return per_iteration * (2 * layer.routings - 1)
    if isinstance(layer, DepthwisePrimaryCapsule):
        grid_positions = layer.output.shape[1] * layer.dim_capsule // layer.kernel.shape[2]
        return 2 * math.prod(layer.kernel.shape) * grid_positions
    if isinstance(layer, SelfAttentionCapsuleLayer):
        u_hat = 2 * math.prod(layer.kernel.shape)
        return u_hat + 2 * 2 * math.prod(layer.kernel.shape[:3])  # the agreement scores and s_j
    if isinstance(layer, keras.layers.Dense):
        return 2 * math.prod(layer.kernel.shape)
    return 0


def _layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


def matmul_peak(dtype="float32", size=2048, repeats=5, sync=lambda: None):
    """Median GFLOP/s of a square `size` x `size` matrix product on the active backend.

    The best a backend's own matrix library reaches on this device: the
    ceiling against which a training step is compared.
    """
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=dtype)
    b = keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=dtype)

    def product():  # reading one value back waits for the whole product
        corner = keras.ops.matmul(a, b)[:1, :1]
        keras.ops.convert_to_numpy(keras.ops.cast(corner, "float32"))

    product()  # warm up
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        product()
        sync()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9
