"""Variant for tools.paired_bench: DigitCaps predictions by the plain einsum."""

from capsnet import fast_ops

fast_ops.unregister("capsule_predictions")
