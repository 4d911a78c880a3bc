"""JAX: TF32, devices, timing sync, gradients, fused training steps and fast paths."""

import itertools

import jax
import numpy as np

from capsnet import fast_ops
from capsnet.backends.depthwise_taps import tap_sum_depthwise_conv
from capsnet.backends.fft_conv import fft_or
from capsnet.backends.im2col import im2col_conv, im2col_relu_conv
from capsnet.backends.keras_tensorflow_probe import report_tensorflow_only_once_imported

report_tensorflow_only_once_imported()


def versions():
    import jaxlib

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}


def devices():
    return [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()]


def steps_per_execution(requested):
    # Keras's JAX trainer calls the jitted step that many times per call of its
    # loop; `fuse_training_steps` makes them one compiled call.
    return requested


def fuse_training_steps(model):
    """Make `model`'s fit() run each block of its `steps_per_execution` training
    steps as one compiled call: Keras's own `train_step` traced once per batch
    of the block into one jitted program, instead of Keras's Python loop of one
    jitted call per step. The state (weights, Adam's moments, the seed
    generators, the metrics) goes from step to step inside the call, so the
    weights are those of one step per call (tests/backends/test_fused_steps.py),
    and the host flattens the state and dispatches once per block, not once
    per step.

    A block with fewer batches (an epoch's end) or batches of other shapes (a
    last, smaller batch) runs through Keras's loop. Applies when the step is
    jitted and no `keras.distribution` is set; installed on the model, so a
    train function Keras builds again (after `compile`, or `train_function =
    None`) is fused again. Returns True.
    """
    keras_make = model.make_train_function
    if getattr(keras_make, "fuses_steps", False):
        return True  # compiled again: installed already

    def make_train_function(force=False):
        if model.train_function is not None and not force:
            return
        keras_make(force=force)
        import keras

        steps = model.steps_per_execution
        if (
            steps > 1
            and model.jit_compile
            and not model.run_eagerly
            and keras.distribution.distribution() is None
        ):
            model.train_function = _fused_train_function(model, steps, model.train_function)

    make_train_function.fuses_steps = True
    model.make_train_function = make_train_function
    return True


def _fused_train_function(model, steps, keras_train_function):
    """fit()'s `train_function(state, iterator) -> (logs, state)` that takes
    `steps` batches from `iterator` and trains on them in one compiled call."""

    def block(state, batches):
        # Unrolled: XLA on CPU ran a `lax.scan` (a while loop) of this step 2.5x
        # slower than one call per step, and the unrolled block 1.28x faster
        # (docs/benchmark-history.md, "Fused training steps").
        for data in batches:
            logs, state = model.train_step(state, data)
        return logs, state  # the last step's logs, as Keras's loop returns

    compiled = jax.jit(block, donate_argnums=0)

    def train_function(state, iterator):
        batches = list(itertools.islice(iterator, steps))
        shapes = {tuple(np.shape(leaf) for leaf in jax.tree.leaves(batch)) for batch in batches}
        if len(batches) < steps or len(shapes) > 1:
            return keras_train_function(state, iter(batches))
        train_function.fused_calls += 1
        return compiled(state, tuple(batches))

    train_function.fused_calls = 0  # blocks trained in one call (for tests)
    return train_function


def on_gpu():
    return jax.default_backend() == "gpu"


def compute_precision(precision):
    """mixed_bfloat16 computes in float32 on CPUs: XLA's CPU code is slower in bfloat16.

    Measured here (2-core AVX512-BF16 CPU, jax 0.10.2, batch 100): a training
    step at 0.46x the float32 speed. The PrimaryCaps product alone (forward and
    both gradients) takes 0.73 s in bfloat16 against 0.56 s in float32, and the
    bfloat16 gradient of its 81 strided views is over twice as slow again
    (docs/benchmarks.md).
    """
    if precision == "mixed_bfloat16" and not on_gpu():
        return "float32", (
            "mixed_bfloat16 on JAX computes in float32 on CPUs, where XLA's bfloat16 code is "
            "slower than float32 (docs/benchmarks.md); torch and tensorflow gain from it"
        )
    return precision, None


def allow_tf32(allowed):
    # "highest" is true float32 matmuls/convs: no TF32 or bf16 passes on GPUs.
    jax.config.update("jax_default_matmul_precision", None if allowed else "highest")


def sync():
    (jax.device_put(0.0) + 0).block_until_ready()


def peak_memory():
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use")


def memory_in_use():
    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("bytes_in_use")


def gradients(fn, tensors):
    """(value, [numpy gradient per tensor]) of the scalar `fn(*tensors)`.

    Compiled as one program: run op by op, XLA compiles every primitive of a
    distinct shape on its own (an im2col conv's 81 slices took 20 s to differentiate)."""
    value, grads = jax.jit(jax.value_and_grad(fn, argnums=tuple(range(len(tensors)))))(*tensors)
    return float(value), [np.asarray(g) for g in grads]


def profile(run_steps, folder):
    """Per-op times of `run_steps()` from JAX's profiler (its Perfetto trace in `folder`)."""
    import gzip
    import json

    from capsnet.backends.op_times import newest_file, on_device_first, top_ops

    with jax.profiler.trace(str(folder), create_perfetto_trace=True):
        run_steps()
    with gzip.open(newest_file(folder, "*.trace.json.gz")) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
    timed = [
        (names.get(e["pid"], str(e["pid"])), e["name"], e["dur"])
        for e in events
        # complete events, without the Python frames ("$file:line") and XLA's executor wrappers
        if e.get("ph") == "X" and not e["name"].startswith(("$", "ThunkExecutor"))
    ]
    return top_ops(on_device_first(timed))


def install_fast_paths():
    """On CPU only, where XLA differentiates convolutions slowly (docs/benchmarks.md);
    GPUs use cuDNN. PrimaryCaps conv through the Fourier domain where that is
    cheaper, else as im2col + one matmul (its strided conv gradient is ~20x
    slower); Efficient-CapsNet's depthwise conv as a sum over its kernel's taps
    (about 70x faster forward and backward at batch 64)."""
    if not on_gpu():
        fast_ops.register("primary_conv", fft_or(im2col_conv))
        fast_ops.register("depthwise_conv", tap_sum_depthwise_conv)
        fast_ops.register("relu_conv", im2col_relu_conv)
    return fast_ops.registered()


def data_parallel(cluster=None):
    """Shard each global batch over every visible device (keras.distribution).

    `cluster`: {"job_addresses", "num_processes", "process_id"} for several
    hosts; it starts JAX's distributed runtime through Keras.

    Returns (a context to build and compile the model in, number of replicas).
    """
    import contextlib

    import keras

    if cluster:
        keras.distribution.initialize(**cluster)
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return contextlib.nullcontext(), len(devices)


def process_group(cluster=None):
    """None: one process drives every device (`data_parallel`)."""
    return None
