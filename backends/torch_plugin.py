"""PyTorch: TF32, devices, timing sync, gradients and fast paths."""

import numpy as np
import torch

from capsnet import fast_ops


def versions():
    return {"torch": torch.__version__}


def devices():
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
    return found


def on_gpu():
    return torch.cuda.is_available()


def compute_precision(precision):
    return precision, None


def allow_tf32(allowed):
    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed
    torch.set_float32_matmul_precision("high" if allowed else "highest")


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory():
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated()
    return None


def gradients(fn, tensors):
    """(value, [numpy gradient per tensor]) of the scalar `fn(*tensors)`."""
    import keras

    # convert_to_tensor puts each on Keras's device; detach() makes it a leaf.
    leaves = [keras.ops.convert_to_tensor(np.asarray(t)).detach().requires_grad_(True) for t in tensors]
    value = fn(*leaves)
    grads = torch.autograd.grad(value, leaves)
    return float(value.detach().cpu()), [g.detach().cpu().numpy() for g in grads]


def install_fast_paths():
    """None measured faster than the plain ops on torch yet (README "Benchmarks")."""
    return fast_ops.registered()


def data_parallel(cluster=None):
    """Not offered: Keras 3 has no torch.distributed integration for fit()."""
    from capsnet.backends import BackendError

    raise BackendError(
        "--distribute data-parallel is not supported on the torch backend; "
        "use --backend jax (keras.distribution) or --backend tensorflow (tf.distribute)"
    )
