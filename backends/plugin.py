"""The interface every backend plug-in module implements (checked by tests/backends/test_backends.py)."""

from typing import Any, Callable, Protocol


class Plugin(Protocol):
    """One backend's specifics. Each plug-in is a module with these functions."""

    def versions(self) -> dict[str, str]:
        """The framework's version strings, e.g. {"torch": "2.13.0"}."""

    def devices(self) -> list[str]:
        """The devices Keras can use, described for people."""

    def on_gpu(self) -> bool:
        """Whether Keras computes on a GPU."""

    def compute_precision(self, precision: str) -> tuple[str, str | None]:
        """The precision this backend will really compute in when `precision` is asked
        for, and a note saying why when the two differ (else None)."""

    def allow_tf32(self, allowed: bool) -> None:
        """Let GPUs run float32 matmuls and convolutions in TF32 (or forbid it)."""

    def sync(self) -> None:
        """Wait until every queued device computation has finished (for timing)."""

    def peak_memory(self) -> int | None:
        """Peak device memory in bytes, or None on CPUs."""

    def memory_in_use(self) -> int | None:
        """Device memory in bytes held by live arrays now, or None on CPUs."""

    def gradients(self, fn: Callable, tensors: list) -> tuple[float, list]:
        """(value, numpy gradient per tensor) of the scalar `fn(*tensors)`."""

    def profile(self, run_steps: Callable[[], None], folder: Any) -> list[dict]:
        """Run `run_steps()` under the framework's profiler (its files go in `folder`);
        the ops that took longest: `[{"where", "op", "calls", "total_ms"}]`, GPU
        kernels where there is a GPU (`capsnet.backends.op_times`)."""

    def steps_per_execution(self, requested: int) -> int:
        """How many of `requested` training steps Keras's fit can run per compiled call here."""

    def fuse_training_steps(self, model: Any) -> bool:
        """Make `model`'s fit() run its `steps_per_execution` steps in one compiled
        call where Keras's trainer does not already; whether this backend does so."""

    def install_fast_paths(self) -> list[str]:
        """Register the measured faster ops in `capsnet.fast_ops`; returns their names."""

    def data_parallel(self, cluster: dict | None) -> tuple[Any, int]:
        """(a context to build and compile the model in, number of replicas) where one
        process drives every replica (keras.distribution, tf.distribute)."""

    def process_group(self, cluster: dict | None) -> "ProcessGroup | None":
        """Where a launcher starts one process per replica (torchrun), join this process
        to the others and return their group; None where `data_parallel` serves."""


class ProcessGroup(Protocol):
    """The processes of one data-parallel run, one replica each (torch: torchrun).

    `capsnet.training.OneProcess` is the group of a run in a single process.
    Every method that talks to the other processes must be called by all of them
    in the same order.
    """

    replicas: int  # processes in the group, each holding one replica
    chief: bool  # whether this process prints and writes the run's files (rank 0)

    def prepare(self, train_model: Any) -> None:
        """Make the compiled `train_model` one replica: every process starts from the
        chief's weights, random augmentation differs per process, and gradients are
        averaged over the group before the optimizer applies them."""

    def fit_arguments(
        self,
        train: Any,
        validation: Any,
        batch_size: int,
        seed: int,
        initial_epoch: int,
        skip_batches: int = 0,
    ) -> dict:
        """`Model.fit` arguments giving this process its shard of every global batch of
        `batch_size` (x, validation_data, ...) of `train` and `validation`
        (`capsnet.data.batches.Examples`), ordered by `seed` from `initial_epoch` on, and under "callbacks"
        the callbacks that must run before the run's own (reshuffling the shards each
        epoch, averaging the epoch's logs over the group). `skip_batches`: the first
        epoch starts at its global batch `skip_batches` (a run resumed inside it)."""

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag OR-ed over the group, so every process stops at the same step."""

    def close(self) -> None:
        """Leave the group (also after an error or an interruption)."""
