"""tensorflow's fast paths as they were before conv1's and the paired products',
for tools.paired_bench's `run=`: TensorFlow's own gradients for conv1 and for the
Fourier conv's products."""

from capsnet import fast_ops
from capsnet.backends.fft_conv import fft_or
from capsnet.backends.tensorflow_fast_ops import tap_gradient_conv

fast_ops.register("primary_conv", fft_or(tap_gradient_conv))
fast_ops.unregister("relu_conv")
