"""For `tools.paired_bench --model efficient-capsnet --variant taps:run=...`: the
depthwise primary-capsule conv as `backends/depthwise_taps.py`'s einsum on any
backend (JAX registers it on CPUs by itself; torch and tensorflow do not)."""

from capsnet import fast_ops
from capsnet.backends.depthwise_taps import tap_sum_depthwise_conv

fast_ops.register("depthwise_conv", tap_sum_depthwise_conv)
