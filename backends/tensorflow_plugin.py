"""TensorFlow: TF32, devices, timing sync, gradients and fast paths."""

import numpy as np
import tensorflow as tf

from capsnet import fast_ops
from capsnet.backends.fft_conv import fft_or
from capsnet.backends.tensorflow_fast_ops import (
    compiled_adam_update_step,
    matmul_predictions,
    one_channel_relu_conv,
    paired_products,
    tap_gradient_conv,
)


def versions():
    return {"tensorflow": tf.__version__}


def devices():
    return [f"{d.device_type}:{d.name}" for d in tf.config.list_logical_devices()]


def steps_per_execution(requested):
    # Keras's TensorFlow trainer runs them in one tf.function loop.
    return requested


def fuse_training_steps(model):
    # Keras's TensorFlow trainer runs its steps in one tf.function loop already.
    return False


def on_gpu():
    return bool(tf.config.list_physical_devices("GPU"))


def compute_precision(precision):
    return precision, None


def allow_tf32(allowed):
    tf.config.experimental.enable_tensor_float_32_execution(allowed)


def sync():
    # Reading a value back waits for everything queued before it.
    tf.constant(0.0).numpy()


def peak_memory():
    if on_gpu():
        return tf.config.experimental.get_memory_info("GPU:0")["peak"]
    return None


def memory_in_use():
    if on_gpu():
        return tf.config.experimental.get_memory_info("GPU:0")["current"]
    return None


def gradients(fn, tensors):
    """(value, [numpy gradient per tensor]) of the scalar `fn(*tensors)`."""
    variables = [tf.Variable(np.asarray(t)) for t in tensors]
    with tf.GradientTape() as tape:
        value = fn(*variables)
    grads = tape.gradient(value, variables)
    return float(value), [g.numpy() for g in grads]


def profile(run_steps, folder):
    """Per-op times of `run_steps()` from TensorFlow's profiler (its XPlane file in `folder`)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from capsnet.backends.op_times import newest_file, on_device_first, top_ops

    tf.profiler.experimental.start(str(folder))
    try:
        run_steps()
    finally:
        tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(newest_file(folder, "*.xplane.pb").read_bytes())
    events = []
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        on_host = plane.name.startswith("/host")
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                # on the host, the ops ("scope/name:OpType"), not the runtime around them
                # ("ExecutorState::Process", "EagerLocalExecute: ...") or Python frames ("$file:line")
                runtime = "::" in name or ": " in name or name.startswith("$")
                if not on_host or (":" in name and not runtime):
                    events.append((plane.name, name, event.duration_ps / 1e6))
    return top_ops(on_device_first(events))


def install_fast_paths():
    """On CPUs, the PrimaryCaps conv through the Fourier domain where that is
    cheaper (else `tensorflow_fast_ops`'s), and `tensorflow_fast_ops`'s conv1,
    DigitCaps predictions and compiled Adam update (docs/benchmarks.md)."""
    if not on_gpu():
        fast_ops.register("primary_conv", fft_or(tap_gradient_conv, paired_products))
        fast_ops.register("capsule_predictions", matmul_predictions)
        fast_ops.register("relu_conv", one_channel_relu_conv)
        fast_ops.register("adam_update_step", compiled_adam_update_step)
    return fast_ops.registered()


def data_parallel(cluster=None):
    """A tf.distribute strategy: MirroredStrategy over this host's GPUs (or its
    logical CPUs when there is no GPU); MultiWorkerMirroredStrategy, configured
    by the TF_CONFIG environment variable, when `cluster` is given.

    Returns (the strategy's scope, to build and compile the model in, number of replicas).
    """
    if cluster:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
    return strategy.scope(), strategy.num_replicas_in_sync


def process_group(cluster=None):
    """None: one process per host drives its devices (`data_parallel`)."""
    return None
