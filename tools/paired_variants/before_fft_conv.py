"""For `tools.paired_bench --variant before:run=...`: the PrimaryCaps conv each
CPU plug-in used before `fft_conv` (commit 63ab704)."""

import keras

from capsnet import fast_ops

backend = keras.backend.backend()
if backend == "jax":
    from capsnet.backends.im2col import im2col_conv as previous
elif backend == "torch":
    from capsnet.backends.torch_fast_ops import channels_last_conv as previous
else:
    from capsnet.backends.tensorflow_fast_ops import tap_gradient_conv as previous
fast_ops.register("primary_conv", previous)
