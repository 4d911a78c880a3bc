"""JAX: precision, devices, seeds, timing sync, gradients and fast paths."""

import jax
import numpy as np

from backends.space_to_depth import space_to_depth_conv
from capsnet import fast_ops


def versions():
    import jaxlib

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}


def devices():
    return [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()]


def on_gpu():
    return jax.default_backend() == "gpu"


def set_precision(mode):
    # "highest" is true float32 matmuls/convs: no TF32 or bf16 passes on GPUs.
    jax.config.update("jax_default_matmul_precision", "highest" if mode == "highest" else None)


def seed(n):
    import keras

    keras.utils.set_random_seed(n)


def sync():
    (jax.device_put(0.0) + 0).block_until_ready()


def peak_memory():
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use")


def gradients(fn, tensors):
    """(value, [numpy gradient per tensor]) of the scalar `fn(*tensors)`."""
    value, grads = jax.value_and_grad(fn, argnums=tuple(range(len(tensors))))(*tensors)
    return float(value), [np.asarray(g) for g in grads]


def install_fast_paths():
    """Space-to-depth PrimaryCaps conv, on CPU only (XLA CPU's strided conv
    input gradient is ~20x slower; on GPU cuDNN's strided conv is fine)."""
    if not on_gpu():
        fast_ops.register("primary_conv", space_to_depth_conv)
    return fast_ops.registered()
