"""For `tools.paired_bench --model efficient-capsnet --variant before:run=...`:
Efficient-CapsNet's depthwise primary-capsule conv as Keras's own
`ops.depthwise_conv`, as every backend ran it before `backends/depthwise_taps.py`."""

from capsnet import fast_ops

fast_ops.unregister("depthwise_conv")
