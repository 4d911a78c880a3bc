"""PyTorch: TF32, devices, timing sync, gradients, fast paths and data parallel (`torch_ddp`)."""

import numpy as np
import torch

from capsnet import fast_ops
from capsnet.backends.fft_conv import fft_or
from capsnet.backends.keras_tensorflow_probe import report_tensorflow_only_once_imported
from capsnet.backends.torch_fast_ops import channels_last_conv, contiguous_predictions

report_tensorflow_only_once_imported()


def versions():
    return {"torch": torch.__version__}


def devices():
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
    return found


def steps_per_execution(requested):
    # Keras's torch trainer refuses steps_per_execution > 1.
    return 1


def fuse_training_steps(model):
    # Keras's torch trainer runs one step per call.
    return False


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


def memory_in_use():
    if torch.cuda.is_available():
        return torch.cuda.memory_allocated()
    return None


def gradients(fn, tensors):
    """(value, [numpy gradient per tensor]) of the scalar `fn(*tensors)`."""
    import keras

    # convert_to_tensor puts each on Keras's device; detach() makes it a leaf.
    leaves = [keras.ops.convert_to_tensor(np.asarray(t)).detach().requires_grad_(True) for t in tensors]
    value = fn(*leaves)
    grads = torch.autograd.grad(value, leaves)
    return float(value.detach().cpu()), [g.detach().cpu().numpy() for g in grads]


def profile(run_steps, folder):
    """Per-op times of `run_steps()` from torch.profiler: the GPU's own time per op
    when there is a GPU, else each op's self CPU time. `folder` is not used."""
    from torch.profiler import ProfilerActivity

    from capsnet.backends.op_times import top_ops

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu() else [])
    with torch.profiler.profile(activities=activities) as profiler:
        run_steps()
    if on_gpu():  # the kernels alone: their time is also added to the ops that launched them
        kernels = [e for e in profiler.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        return top_ops(("cuda", e.name, e.device_time_total) for e in kernels)
    # self time: an op's own, without the ops it called
    return top_ops(
        ("cpu", e.name, e.self_cpu_time_total) for e in profiler.events() if e.self_cpu_time_total > 0
    )


def install_fast_paths():
    """On CPUs, the PrimaryCaps conv through the Fourier domain where that is
    cheaper (else `torch_fast_ops`'s) and `torch_fast_ops`'s DigitCaps
    predictions (docs/benchmarks.md); GPUs keep Keras's ops until they are
    measured there."""
    if not on_gpu():
        fast_ops.register("primary_conv", fft_or(channels_last_conv))
        fast_ops.register("capsule_predictions", contiguous_predictions)
    return fast_ops.registered()


def data_parallel(cluster=None):
    """Each process holds one replica; the processes are joined by `process_group`."""
    import contextlib

    return contextlib.nullcontext(), 1


def process_group(cluster=None):
    """Join the processes that torchrun started, one per replica (`torch_ddp`)."""
    from capsnet.backends import BackendError, torch_ddp

    if cluster:
        raise BackendError(
            "on the torch backend torchrun connects the hosts: leave out --coordinator-address, "
            "--num-processes and --process-id, and run on every host: torchrun --nnodes H --nproc-per-node N "
            "--rdzv-backend c10d --rdzv-endpoint HOST:PORT cli.py --backend torch train ..."
        )
    if not torch_ddp.launched():
        raise BackendError(
            "--distribute data-parallel on the torch backend runs one process per replica: start it "
            "with torchrun --nproc-per-node N cli.py --backend torch train --distribute data-parallel ..."
        )
    return torch_ddp.TorchProcessGroup()
