"""Variant for tools.paired_bench (with --no-fast-paths): TensorFlow with the
predictions fast path but ops run side by side, as TensorFlow's default."""

from capsnet import fast_ops
from capsnet.backends.tensorflow_plugin import matmul_predictions

fast_ops.register("capsule_predictions", matmul_predictions)
