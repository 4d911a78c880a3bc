"""For `tools.paired_bench --variant before:run=...`: every ReLU convolution
(CapsNet's conv1, Efficient-CapsNet's backbone) as Keras's own convolution, with
no `relu_conv` fast path registered: how the JAX plug-in ran them before
`im2col_relu_conv`, and the baseline for TensorFlow's `one_channel_relu_conv`."""

from capsnet import fast_ops

fast_ops.unregister("relu_conv")
