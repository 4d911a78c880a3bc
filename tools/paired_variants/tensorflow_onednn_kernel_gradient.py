"""Variant for tools.paired_bench: TensorFlow's PrimaryCaps conv as Keras runs
it, oneDNN computing both gradients (no `kernel_gradient`)."""

from capsnet import fast_ops

fast_ops.unregister("primary_conv")
