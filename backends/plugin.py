"""The interface every backend plug-in module implements (checked by tests/test_backends.py)."""

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

    def gradients(self, fn: Callable, tensors: list) -> tuple[float, list]:
        """(value, numpy gradient per tensor) of the scalar `fn(*tensors)`."""

    def install_fast_paths(self) -> list[str]:
        """Register the measured faster ops in `capsnet.fast_ops`; returns their names."""

    def data_parallel(self, cluster: dict | None) -> tuple[Any, int]:
        """(a context to build and compile the model in, number of replicas)."""
